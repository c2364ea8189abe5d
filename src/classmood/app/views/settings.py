"""Settings page: model, alert thresholds, storing frames, retention, consent text, ICE servers, and
the do-not-analyse list."""

from __future__ import annotations

import json

import streamlit as st

from classmood.app.config import DEFAULT_CONSENT_TEXT, AppSettings, environment_overrides
from classmood.app.views import dashboard


def _models() -> list[str]:
    from classmood.classify.registry import list_models

    names = [m.name for m in list_models()]
    return names or ["realtime"]


def render() -> None:
    st.title("Settings")
    settings = AppSettings.load()
    fixed = environment_overrides()
    if fixed:
        st.caption("Set by environment variables, which win over what is saved here: "
                   + ", ".join(f"CLASSMOOD_APP_{name.upper()}" for name in fixed))
    with st.form("settings"):
        models = _models()
        model = st.selectbox("Emotion model", models,
                             index=models.index(settings.analysis.model) if settings.analysis.model in models else 0,
                             help="realtime: fastest, for live classes. accurate: slower, for recordings.")
        st.markdown("**Alerts**")
        a, b = st.columns(2)
        analysis = settings.analysis
        absent = a.number_input("Student away for (seconds)", 0.5, 3600.0, float(analysis.absent_after_s), step=5.0)
        negative = b.number_input("Student looking negative for (seconds)", 0.5, 3600.0,
                                  float(analysis.negative_after_s), step=5.0)
        camera_off = a.toggle("A student whose camera is off counts as away", value=analysis.camera_off_is_absent,
                              help="Off: a gallery tile without a face is shown as 'camera off' and raises no alert.")
        threshold = a.slider("Negative when angry+disgust+fear+sad reach", 0.1, 1.0,
                             float(analysis.negative_threshold), 0.05)
        drop = b.slider("Class mood alert when engagement drops by", 0.05, 0.5, float(analysis.mood_drop), 0.05)
        st.markdown("**Privacy**")
        store_frames = st.toggle("Store video frames (off: only per-student aggregates are kept)",
                                 value=settings.store_frames)
        retention = st.number_input("Keep recorded sessions for (days; 0 keeps them until deleted)", 0, 3650,
                                    int(settings.retention_days), step=1,
                                    help="Older sessions are deleted, with all their rows, when the app starts.")
        consent = st.text_area("Notice shown before each class", settings.consent_text, height=110)
        teacher = st.text_input("Teacher stored with each class (the School page; empty: your login name)",
                                settings.teacher, max_chars=200)
        st.markdown("**Network**")
        ice = st.text_area(
            "ICE servers (JSON list; empty for localhost/LAN, add STUN/TURN for the internet)",
            json.dumps(settings.ice_servers), height=80,
        )
        saved = st.form_submit_button("Save settings", type="primary")
    if saved:
        try:
            ice_servers = json.loads(ice or "[]")
            if not isinstance(ice_servers, list) or not all(isinstance(s, dict) and "urls" in s for s in ice_servers):
                raise ValueError
        except ValueError:
            st.error('ICE servers must be a JSON list like [{"urls": ["stun:host:3478"]}].')
            return
        settings.with_analysis(model=model, absent_after_s=float(absent), negative_after_s=float(negative),
                               camera_off_is_absent=bool(camera_off),
                               negative_threshold=float(threshold), mood_drop=float(drop))
        settings.store_frames = bool(store_frames)
        settings.retention_days = int(retention)
        settings.consent_text = consent.strip() or DEFAULT_CONSENT_TEXT
        settings.teacher = " ".join(teacher.split())
        settings.ice_servers = ice_servers
        settings.save()
        st.success("Settings saved. They apply to the next class you start.")
    opt_outs()


def opt_outs() -> None:
    """The do-not-analyse list: names of students who are neither classified nor stored."""
    from classmood.app import resources
    from classmood.store.opt_outs import add_opt_out, opted_out_names, remove_opt_out, sessions_holding

    st.subheader("Do not analyse")
    st.caption("A student shown under one of these names (read from the meeting tile or given by you) is "
               "neither classified nor stored; the live view shows them as \"opted out\" and nothing else.")
    store = resources.store()
    with st.form("opt_outs", clear_on_submit=True):
        name = st.text_input("Name", max_chars=200)
        add, remove = st.columns(2)
        added = add.form_submit_button("Add to the list")
        removed = remove.form_submit_button("Remove from the list")
    if added and name.strip():
        add_opt_out(store, name)
        held = sessions_holding(store, name)
        st.success("Added. It applies to the next class you start."
                   + (f" {len(held)} recorded session(s) still hold what was recorded before; erase it with "
                      "`classmood sessions forget --name`." if held else ""))
    elif removed and name.strip() and not remove_opt_out(store, name):
        st.warning("That name is not on the list.")
    names = opted_out_names(store)
    st.markdown("\n".join(f"- {dashboard.literal(name)}" for name in names) if names else "Nobody has opted out.")
