"""Alerts a teacher can act on, each raised once with a start and an end.

A condition (student away, student looking negative, class mood dropping) must hold for
``raise_after_s`` before its alert opens; the alert's start is when the condition began.
It closes when the condition has been false for ``clear_after_s`` (hysteresis, so a brief
flicker neither ends an alert nor opens a second one).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Durations in seconds and thresholds of the alerts (all configurable from the CLI)."""

    absent_after_s: float = 60.0
    camera_off_is_absent: bool = False  # a student whose camera is off counts as absent
    negative_after_s: float = 120.0
    negative_threshold: float = 0.5  # smoothed probability of angry+disgust+fear+sad
    mood_window_s: float = 60.0  # recent class engagement ...
    mood_baseline_s: float = 300.0  # ... compared with the engagement before it
    mood_drop: float = 0.15  # alert when recent is this much below the baseline
    mood_after_s: float = 30.0
    clear_after_s: float = 5.0


@dataclass(slots=True)
class Alert:
    """One alert: ``kind`` is absent, negative or mood_drop; ``student_id`` None for the class."""

    kind: str
    student_id: int | None
    started_at: float
    ended_at: float | None = None
    detail: str = ""
    alert_id: int | None = None  # set by the store

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def message(self, name: str | None = None) -> str:
        who = name or ("class" if self.student_id is None else f"student {self.student_id}")
        text = {"absent": "away", "negative": "looks negative", "mood_drop": "mood dropping"}.get(self.kind, self.kind)
        return f"{who}: {text}" + (f" ({self.detail})" if self.detail else "")


@dataclass(slots=True)
class _Condition:
    since: float | None = None  # when the condition became true
    cleared_since: float | None = None  # when it became false while an alert is open
    alert: Alert | None = None


@dataclass(slots=True)
class AlertBook:
    """Open and close alerts from boolean conditions keyed by (kind, student_id)."""

    clear_after_s: float = 5.0
    conditions: dict[tuple[str, int | None], _Condition] = field(default_factory=dict)

    def check(self, kind: str, student_id: int | None, holds: bool, now: float, raise_after_s: float,
              detail: str = "", since: float | None = None) -> tuple[Alert | None, Alert | None]:
        """Feed one condition; returns ``(opened, closed)`` alerts (each None most of the time)."""
        state = self.conditions.setdefault((kind, student_id), _Condition())
        opened = closed = None
        if holds:
            state.cleared_since = None
            if state.since is None:
                state.since = now if since is None else since
            if state.alert is None and now - state.since >= raise_after_s:
                state.alert = opened = Alert(kind, student_id, state.since, detail=detail)
            elif state.alert is not None and detail:
                state.alert.detail = detail
        else:
            state.since = None
            if state.alert is not None:
                if state.cleared_since is None:
                    state.cleared_since = now
                if now - state.cleared_since >= self.clear_after_s:
                    state.alert.ended_at = state.cleared_since
                    closed, state.alert = state.alert, None
                    state.cleared_since = None
        return opened, closed

    @property
    def active(self) -> list[Alert]:
        return [c.alert for c in self.conditions.values() if c.alert is not None]

    def end_student(self, student_id: int, now: float) -> list[Alert]:
        """End a student's open alerts at ``now`` and drop their conditions (returns the alerts ended)."""
        ended = []
        for key in [key for key in self.conditions if key[1] == student_id]:
            alert = self.conditions.pop(key).alert
            if alert is not None:
                alert.ended_at = now
                ended.append(alert)
        return ended

    def forget(self, student_id: int) -> None:
        """Drop a student's conditions and alerts without closing them (the student opted out)."""
        for key in [key for key in self.conditions if key[1] == student_id]:
            del self.conditions[key]

    def close_all(self, now: float) -> list[Alert]:
        """End every open alert (the session ends)."""
        closed = []
        for state in self.conditions.values():
            if state.alert is not None:
                state.alert.ended_at = now
                closed.append(state.alert)
                state.alert = None
        return closed
