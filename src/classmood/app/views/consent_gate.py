"""Before the first class: the deployer reads the notice and confirms the use (once, stored)."""

from __future__ import annotations

import streamlit as st

from classmood.consent import NOTICE, Confirmation, confirm, current_confirmation
from classmood.errors import ClassmoodError


def confirmed() -> Confirmation | None:
    """The deployer's confirmation; without one, the notice and a form to give it (the page stops)."""
    current = current_confirmation()
    if current is not None:
        return current
    st.warning("Before the first class: read what classmood does and what the law says, then confirm.",
               icon=":material/gavel:")
    for paragraph in NOTICE.split("\n\n"):
        st.markdown(paragraph.replace("\n", " "))
    with st.form("consent"):
        who = st.text_input("Who confirms (your name or role)")
        if st.form_submit_button("I confirm this use", type="primary"):
            try:
                confirm(who, via="app")
            except ClassmoodError as exc:
                st.error(exc.message)
            else:
                st.rerun()
    return None
