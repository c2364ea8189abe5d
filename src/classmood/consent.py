"""The deployer's confirmation: before classmood analyses a class for the first time, the person
deploying it reads what it does and what the law says, and confirms the use.

The confirmation (who, when, which notice) lives in classmood's data folder and is recorded with
every session. A changed notice needs a new confirmation. ``classmood consent --confirm --as NAME``
confirms from a script; ``CLASSMOOD_CONFIRMED_BY=NAME`` does the same for a deployment that has
confirmed elsewhere (recorded as confirmed through the environment).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from classmood.errors import ClassmoodError

CONFIRMED_BY_ENV = "CLASSMOOD_CONFIRMED_BY"

NOTICE = """\
classmood estimates the emotions shown by the faces in a video of a class (seven FER-2013
expressions, as probabilities that can be wrong), keeps a pseudonymous id per student and stores
per-second aggregates per student, never pictures unless you ask for frames to be kept. It runs on
this computer only.

The law: Article 5(1)(f) of the EU AI Act (Regulation (EU) 2024/1689) prohibits AI systems that
infer the emotions of people in workplaces and education institutions in the EU, except for
medical or safety reasons (in force since 2 February 2025). Other places have their own rules
(e.g. the GDPR on personal and biometric data). Use classmood only where that is lawful: for
research with the informed consent of every person filmed, on your own recordings, or outside
such settings. Tell the students before a class is analysed and let them opt out.

By confirming you state that you are responsible for this deployment and that it is lawful."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Who confirmed the notice, when (UTC, ISO 8601), and which notice (its SHA-256)."""

    who: str
    when: str
    notice_sha256: str
    via: str = "command"  # command, app or environment

    def stored(self) -> dict:
        """The form recorded with every session."""
        return asdict(self)


def notice_digest(text: str = NOTICE) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def confirmation_path() -> Path:
    """Where the confirmation lives: ``consent.json`` in classmood's data folder."""
    from classmood.privacy import data_folder

    return data_folder() / "consent.json"


def current_confirmation() -> Confirmation | None:
    """The confirmation of today's notice, or None (never confirmed, or the notice changed)."""
    who = os.environ.get(CONFIRMED_BY_ENV, "").strip()
    if who:
        return Confirmation(who, datetime.now(UTC).isoformat(timespec="seconds"), notice_digest(), "environment")
    path = confirmation_path()
    try:
        saved = Confirmation(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return saved if saved.notice_sha256 == notice_digest() else None


def confirm(who: str, via: str = "command") -> Confirmation:
    """Record that ``who`` confirmed today's notice."""
    from classmood.output.atomic import atomic_path

    who = " ".join(who.split())
    if not who:
        raise ClassmoodError("say who confirms the notice (a name or role, e.g. --as \"J. Smith, teacher\")")
    confirmation = Confirmation(who[:200], datetime.now(UTC).isoformat(timespec="seconds"), notice_digest(), via)
    with atomic_path(confirmation_path()) as tmp:
        tmp.write_text(json.dumps(confirmation.stored(), indent=2), encoding="utf-8")
    return confirmation


def require_confirmation() -> Confirmation:
    """The confirmation of today's notice, or a one-line error saying how to give it."""
    confirmation = current_confirmation()
    if confirmation is None:
        raise ClassmoodError("first use: read the notice and confirm the use with `classmood consent` "
                             "(or `classmood consent --confirm --as NAME`)")
    return confirmation
