"""Where the app keeps its files, and the settings a teacher can change.

Everything lives under one folder (``CLASSMOOD_APP_HOME``, default the user data
folder): the hashed password, the cookie-signing key and ``settings.json``, written
atomically (temp file, then rename). Sessions go to the same database as ``classmood monitor``
(``CLASSMOOD_DATABASE_URL``, default a SQLite file in the user data folder).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from classmood.class_session import ClassSettings

DEFAULT_CONSENT_TEXT = (
    "This class is analysed for mood by classmood on this computer only. "
    "No video or pictures are stored; only per-student aggregates under pseudonymous ids. "
    "Tell your students before you start, and stop if anyone objects."
)


def app_home() -> Path:
    """The folder holding the app's password, key, settings and database."""
    env = os.environ.get("CLASSMOOD_APP_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        import platformdirs

        home = Path(platformdirs.user_data_dir("classmood")) / "app"
    home.mkdir(parents=True, exist_ok=True)
    return home


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` readable by this user only, atomically (no half file is left)."""
    from classmood.output.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
        os.chmod(tmp, mode)


_RENAMED_KEYS = {"absent_seconds": "absent_after_s", "negative_seconds": "negative_after_s"}


@dataclass(slots=True)
class AppSettings:
    """What the teacher sets on the Settings page: how classes are analysed (``analysis``, the same
    ``ClassSettings`` as ``classmood monitor``) and what only the app needs.

    ``settings.json`` and the ``CLASSMOOD_APP_<FIELD>`` variables name both kinds of field
    flat (``model``, ``absent_after_s``, ``store_frames``...)."""

    analysis: ClassSettings = field(default_factory=ClassSettings)
    store_frames: bool = False
    consent_text: str = DEFAULT_CONSENT_TEXT
    max_upload_mb: int = 200
    retention_days: int = 30  # sessions older than this are deleted when the app starts; 0 keeps them
    stall_seconds: float = 10.0  # no video for this long ends a live class (connection dropped)
    ice_servers: list[dict] = field(default_factory=list)  # empty: host candidates only (offline)
    teacher: str = ""  # stored with each class (the School page); empty: $CLASSMOOD_TEACHER or the login name

    @classmethod
    def path(cls) -> Path:
        return app_home() / "settings.json"

    @classmethod
    def load(cls) -> AppSettings:
        """Saved settings, then ``CLASSMOOD_APP_<FIELD>`` environment overrides."""
        values: dict = {}
        if cls.path().exists():
            try:
                values = json.loads(cls.path().read_text())
            except (OSError, json.JSONDecodeError):
                values = {}
        values = {_RENAMED_KEYS.get(k, k): v for k, v in values.items()}  # files saved before the renaming
        for name in (*_ANALYSIS_FIELDS, *_APP_FIELDS):
            raw = os.environ.get(f"CLASSMOOD_APP_{name.upper()}")
            if raw is not None:
                default = getattr(cls(), name) if name in _APP_FIELDS else getattr(ClassSettings(), name)
                values[name] = _parse_like(values.get(name, default), raw)
        analysis = ClassSettings(**{k: v for k, v in values.items() if k in _ANALYSIS_FIELDS})
        return cls(analysis, **{k: v for k, v in values.items() if k in _APP_FIELDS})

    def with_analysis(self, **changes) -> None:
        """Change some analysis settings (``model=``, ``absent_after_s=``...)."""
        self.analysis = replace(self.analysis, **changes)

    def save(self) -> None:
        flat = {**self.analysis.stored(), **{k: v for k, v in asdict(self).items() if k != "analysis"}}
        write_atomic(self.path(), json.dumps(flat, indent=2).encode())


def kept_video_path(session_name: str) -> Path:
    """Where an annotated video is kept when *store video frames* is on: ``<app home>/frames/``."""
    from datetime import datetime

    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in session_name)
    folder = app_home() / "frames"
    folder.mkdir(exist_ok=True)
    return folder / f"{slug}-{datetime.now():%Y%m%d-%H%M%S}.mp4"


#: every setting's flat name, as in settings.json and the environment variables
_ANALYSIS_FIELDS = tuple(f.name for f in fields(ClassSettings))
_APP_FIELDS = tuple(f.name for f in fields(AppSettings) if f.name != "analysis")


def environment_overrides() -> list[str]:
    """Settings fixed by ``CLASSMOOD_APP_<FIELD>`` variables (they win over the saved file)."""
    return [name for name in (*_ANALYSIS_FIELDS, *_APP_FIELDS) if f"CLASSMOOD_APP_{name.upper()}" in os.environ]


def _parse_like(current: object, raw: str) -> object:
    """Parse an environment string to the type of the current value."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, list):
        return json.loads(raw)
    return raw


def rtc_configuration(settings: AppSettings) -> dict:
    """The WebRTC configuration given to the browser and to aiortc.

    No STUN/TURN by default: on localhost or a LAN, host candidates connect directly and
    nothing outside is contacted. For the internet, set ``ice_servers`` (Settings page or
    ``CLASSMOOD_APP_ICE_SERVERS='[{"urls": ["turn:host:3478"], ...}]'``).
    """
    return {"iceServers": list(settings.ice_servers)}
