"""The Streamlit script behind ``classmood app``: navigation between the five pages.

Reached only through ``server.py``'s login gate, so every page here is behind the password.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from classmood.app.run_count import count_completed_run, use_for_streamlit_webrtc
from classmood.app.views import history, live, recorded, school, settings

use_for_streamlit_webrtc()

# a local icon: a Material icon name here would make the browser fetch the favicon from a CDN
st.set_page_config(page_title="classmood", page_icon=str(Path(__file__).parent / "static" / "icon.png"), layout="wide")

pages = [
    st.Page(live.render, title="Live", icon=":material/videocam:", url_path="live", default=True),
    st.Page(recorded.render, title="Recorded", icon=":material/movie:", url_path="recorded"),
    st.Page(history.render, title="History", icon=":material/history:", url_path="history"),
    st.Page(school.render, title="School", icon=":material/school:", url_path="school"),
    st.Page(settings.render, title="Settings", icon=":material/settings:", url_path="settings"),
]
navigation = st.navigation(pages)
with st.sidebar:
    st.markdown("**classmood** · the teacher's class view")
    st.caption("Runs on this computer only. Aggregates per pseudonymous student; no video stored.")
    # a plain same-tab link (Streamlit's link buttons open a new tab): leaving drops the session
    st.html('<a href="/logout" target="_self" id="classmood-sign-out">Sign out</a>')
navigation.run()
count_completed_run()
