"""Show one recorded session from the store: summary, class mood chart, students, alerts, downloads."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from classmood.app import resources
from classmood.app.headers import REPORT_PATH
from classmood.emotions import EMOTIONS
from classmood.store import queries


def render_session(name: str, *, key: str) -> None:
    store = resources.store()
    summary = queries.get_summary(store, name)
    cols = st.columns(4)
    cols[0].metric("Duration", f"{summary.duration_s / 60:.1f} min")
    cols[1].metric("Students", summary.students)
    cols[2].metric("Alerts", summary.alerts)
    cols[3].metric("Status", summary.status)

    seconds = queries.seconds_frame(store, name)
    mood = queries.class_frame(seconds)
    if mood.empty:
        st.caption("No second of this session was recorded with a face in it.")
    else:
        chart = mood.set_index("second")
        left, right = st.columns(2)
        left.caption("Class engagement")
        left.line_chart(chart[["engagement"]], height=220)
        right.caption("Class emotions")
        right.area_chart(chart[list(EMOTIONS)], height=220)

    st.markdown("**Students**")
    st.dataframe(queries.students_frame(store, name), hide_index=True, width="stretch")
    st.markdown("**Alerts**")
    alerts = queries.alerts_frame(store, name)
    if alerts.empty:
        st.caption("No alert.")
    else:
        st.dataframe(alerts, hide_index=True, width="stretch")
    _downloads(name, key)


def _downloads(name: str, key: str) -> None:
    from classmood.store.states import student_states_frame

    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    left, right = st.columns(2)
    seconds = student_states_frame(resources.store(), name)  # as `classmood sessions export` writes it
    left.download_button("Download per-second CSV", queries.for_export(seconds).to_csv(index=False).encode(),
                         file_name=f"{slug}.csv", mime="text/csv", key=f"{key}-csv")
    html = report_html(name)
    right.download_button("Download HTML report", html.encode(), file_name=f"{slug}.html", mime="text/html",
                          key=f"{key}-html")
    with st.expander("Show the report"):
        # served by the app under a sandbox policy (no script, opaque origin), not inlined in the page
        st.iframe(f"{REPORT_PATH}?{urlencode({'name': name})}", height=900)


def report_html(name: str) -> str:
    """The self-contained HTML report of a session (the same one ``classmood report`` writes)."""
    from classmood.report import render_report_html

    return render_report_html(resources.store(), name)
