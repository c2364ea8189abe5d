"""Objects shared by every page and browser tab of one app server (cached once per process)."""

from __future__ import annotations

import streamlit as st

from classmood.app.worker import PipelineProcess
from classmood.class_session import ClassSettings
from classmood.store import Store


@st.cache_resource(show_spinner="Loading the face and emotion models…")
def pipeline(model: str) -> PipelineProcess:
    """The detector + emotion classifier for ``model`` (realtime or accurate), in its own process
    so that detection does not stall the server's video threads. Built from the same settings as
    ``classmood monitor`` (detector size, score, face cap), as the app stores them with a session."""
    return PipelineProcess(ClassSettings(model=model))


@st.cache_resource
def store() -> Store:
    """The session database shared with ``classmood monitor`` (``$CLASSMOOD_DATABASE_URL``)."""
    return Store()
