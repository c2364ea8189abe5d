"""Count the page's completed script runs for streamlit-webrtc, without its race.

streamlit-webrtc (0.79) stops a video connection whose component "was not rendered" in the last
script run (whitphx/streamlit-webrtc#2478: a teacher who left the page and came back), judged by
Streamlit's ``script_run_count``. That count goes up only when a run's *finished* message is sent to
the browser, on the server's event loop, which may be later than the next run starts. A run that
starts before its predecessor's message went out sees the old count, and the run after it then
looks as if one run had skipped the component: the connection was stopped 40 ms after it came up
(the server log of a failed app test: "Context for key=live-url was not rendered for 1 script runs;
resetting stale state", right after a live class started and held the event loop). This happened
in about one live Start in five under load: the video stopped after a few seconds and Start had to
be pressed again.

``count_completed_run`` counts a run at its end in the script itself, where no race is possible, and
``use_for_streamlit_webrtc`` makes streamlit-webrtc read that count instead; a run that ends early
(a rerun, ``st.stop``) is not counted, as Streamlit does not count it either.
"""

from __future__ import annotations

import streamlit as st

RUNS_KEY = "classmood_completed_runs"


def completed_runs() -> int:
    return int(st.session_state.get(RUNS_KEY, 0))


def count_completed_run() -> None:
    """Call at the very end of the script."""
    st.session_state[RUNS_KEY] = completed_runs() + 1


def use_for_streamlit_webrtc() -> None:
    """Make streamlit-webrtc count runs with ``completed_runs``."""
    import streamlit_webrtc.component

    streamlit_webrtc.component.get_script_run_count = lambda session_info: completed_runs()
