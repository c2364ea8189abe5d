"""Where the app keeps its files, and the settings a teacher can change.

Everything lives under one folder (``CLASSMOOD_APP_HOME``, default the user data
folder): the hashed password, the cookie-signing key and ``settings.json``, written
atomically (temp file, then rename). Sessions go to the same database as ``classmood monitor``
(``CLASSMOOD_DATABASE_URL``, default a SQLite file in the user data folder).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
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


@dataclass
class AppSettings:
    """What the teacher sets on the Settings page (alert thresholds in seconds / fractions)."""

    model: str = "realtime"
    store_frames: bool = False
    consent_text: str = DEFAULT_CONSENT_TEXT
    absent_after_s: float = 60.0  # a student unseen this long raises an alert
    negative_after_s: float = 120.0  # a student looking negative this long raises an alert
    negative_threshold: float = 0.5  # smoothed probability of angry+disgust+fear+sad that counts
    mood_drop: float = 0.15  # class engagement this far below its baseline raises an alert
    max_upload_mb: int = 200
    stall_seconds: float = 10.0  # no video for this long ends a live class (connection dropped)
    ice_servers: list[dict] = field(default_factory=list)  # empty: host candidates only (offline)

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
        known = {f.name: f for f in fields(cls)}
        settings = cls(**{k: v for k, v in values.items() if k in known})
        for name in known:
            raw = os.environ.get(f"CLASSMOOD_APP_{name.upper()}")
            if raw is not None:
                setattr(settings, name, _parse_like(getattr(settings, name), raw))
        return settings

    def class_settings(self) -> ClassSettings:
        """The analysis settings of a class session started from the app."""
        return ClassSettings(model=self.model, absent_after_s=self.absent_after_s,
                             negative_after_s=self.negative_after_s, negative_threshold=self.negative_threshold,
                             mood_drop=self.mood_drop)

    def save(self) -> None:
        write_atomic(self.path(), json.dumps(asdict(self), indent=2).encode())


def kept_video_path(session_name: str) -> Path:
    """Where an annotated video is kept when *store video frames* is on: ``<app home>/frames/``."""
    from datetime import datetime

    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in session_name)
    folder = app_home() / "frames"
    folder.mkdir(exist_ok=True)
    return folder / f"{slug}-{datetime.now():%Y%m%d-%H%M%S}.mp4"


def environment_overrides() -> list[str]:
    """Settings fixed by ``CLASSMOOD_APP_<FIELD>`` variables (they win over the saved file)."""
    return [f.name for f in fields(AppSettings) if f"CLASSMOOD_APP_{f.name.upper()}" in os.environ]


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
