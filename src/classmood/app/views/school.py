"""School page: read-only overview of the classes being recorded now and of the last week's, by every
teacher and machine that writes this database (a PostgreSQL shared by many ``monitor`` and app
instances, or this app's own SQLite)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from classmood.app import resources
from classmood.store import queries

RECENT_DAYS = 7
REFRESH_S = 5.0


def render() -> None:
    st.title("School")
    st.caption(f"Classes recorded now and in the last {RECENT_DAYS} days, by every teacher and machine that "
               "writes this database. Read-only; pseudonymous aggregates only.")
    _overview()


@st.fragment(run_every=REFRESH_S)
def _overview() -> None:
    classes = queries.school_overview(resources.store(), days=RECENT_DAYS)
    running = [c for c in classes if c.running]
    a, b, c = st.columns(3)
    a.metric("Classes running now", len(running))
    b.metric("Students seen in them (last minute)", sum(c.students_last_minute for c in running))
    c.metric(f"Classes in the last {RECENT_DAYS} days", len(classes))
    if not classes:
        st.info("No class recorded in this database yet.")
        return
    st.table(pd.DataFrame([{  # a plain table: every row readable (and searchable) on the page
        "class": c.summary.name, "teacher": c.summary.teacher or "—", "machine": c.summary.machine or "—",
        "status": c.summary.status, "started (UTC)": c.summary.started_at, "minutes": round(c.summary.duration_s / 60, 1),
        "students": c.summary.students, "seen last minute": c.students_last_minute,
        "engagement last minute": None if c.engagement_last_minute is None else round(c.engagement_last_minute, 2),
        "alerts": c.summary.alerts,
    } for c in classes]).set_index("class"))
