"""History page: every recorded session, its charts and report; delete a session."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from classmood.app import resources
from classmood.app.views.session_view import render_session
from classmood.store import erasure, queries


def render() -> None:
    st.title("History")
    sessions = queries.list_sessions(resources.store())
    if not sessions:
        st.info("No session recorded yet. Start one on the Live page or analyse a recording.")
        return
    table = pd.DataFrame([{
        "session": s.name, "started": s.started_at, "minutes": round(s.duration_s / 60, 1),
        "students": s.students, "alerts": s.alerts, "status": s.status, "source": s.source,
    } for s in reversed(sessions)])
    st.dataframe(table, hide_index=True, width="stretch")
    names = list(table["session"])
    name = st.selectbox("Session", names, key="history_session")
    if name is None:
        return
    render_session(name, key="history")
    with st.expander("Delete this session"):
        st.write(f"This removes “{name}” and all its aggregates and alerts for good.")
        if st.button("Delete session", type="primary", key="history_delete"):
            erasure.delete_session(resources.store(), name)
            st.session_state.pop("history_session", None)
            st.toast(f"Deleted {name}")
            st.rerun()
