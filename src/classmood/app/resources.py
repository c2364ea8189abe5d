"""Objects shared by every page and browser tab of one app server (cached once per process)."""

from __future__ import annotations

import json

import streamlit as st

from classmood.app.worker import PipelineProcess
from classmood.class_session import ClassSettings
from classmood.store import Store


def pipeline(settings: ClassSettings) -> PipelineProcess:
    """The detector + emotion classifier that ``settings`` describe, in its own process so that
    detection does not stall the server's video threads; one per distinct pipeline part."""
    return _pipeline(json.dumps(settings.pipeline_settings(), sort_keys=True))


@st.cache_resource(show_spinner="Loading the face and emotion models…")
def _pipeline(pipeline_settings: str) -> PipelineProcess:
    return PipelineProcess(ClassSettings(**json.loads(pipeline_settings)))


@st.cache_resource
def store() -> Store:
    """The session database shared with ``classmood monitor`` (``$CLASSMOOD_DATABASE_URL``); sessions
    older than the retention in Settings are deleted when the app first opens it."""
    from classmood.app.config import AppSettings
    from classmood.store.erasure import purge_older_than

    opened = Store()
    purge_older_than(opened, AppSettings.load().retention_days)
    return opened
