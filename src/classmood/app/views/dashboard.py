"""Draw the class at a glance from a ``ClassSnapshot``: metrics, student cards, mood chart, alerts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import streamlit as st

from classmood.aggregate import Alert, StudentCard
from classmood.class_session import ClassSnapshot, MoodPoint
from classmood.emotions import EMOTIONS

CARDS_PER_ROW = 5
EMOTION_ICONS = {"angry": "😠", "disgust": "😖", "fear": "😨", "happy": "😀", "neutral": "😐",
                 "sad": "😢", "surprise": "😮"}


def metrics(snapshot: ClassSnapshot) -> None:
    present = sum(card.present for card in snapshot.students)
    cols = st.columns(5)
    cols[0].metric("Students present", f"{present} / {len(snapshot.students)}")
    mood = snapshot.mood
    cols[1].metric("Class mood", f"{mood.emotion or '—'}", f"{mood.confidence:.0%} confidence" if mood.emotion else None,
                   delta_color="off", delta_arrow="off")
    cols[2].metric("Engagement", f"{mood.engagement:.2f}", mood.engagement_band, delta_color="off", delta_arrow="off")
    cols[3].metric("Analysed frames/s", f"{snapshot.fps:.1f}")
    cols[4].metric("Analysis latency", f"{snapshot.latency_ms:.0f} ms")


#: how a card shows a student who is not seen now (``StudentCard.state``)
ABSENT_STATES = {"camera_off": "📷 camera off", "away": "🚪 away", "left": "👋 left"}


def student_cards(cards: list[StudentCard], rename: Callable[[int, str], None] | None = None) -> None:
    """The students' cards; with ``rename`` (a live class), each card can correct its student's name."""
    if not cards:
        st.caption("No student seen yet.")
        return
    for start in range(0, len(cards), CARDS_PER_ROW):
        columns = st.columns(CARDS_PER_ROW)
        for column, card in zip(columns, cards[start:start + CARDS_PER_ROW]):
            with column.container(border=True):
                _card(card, rename)


def _card(card: StudentCard, rename: Callable[[int, str], None] | None = None) -> None:
    st.markdown(f"**{literal(card.name)}**")
    st.caption(f"id {card.student_id}")
    if rename is not None and not card.opted_out:
        _rename_form(card, rename)
    if card.opted_out:
        st.markdown("🚫 opted out")
    elif card.present and card.emotion:
        st.markdown(f"{EMOTION_ICONS.get(card.emotion, '')} {card.emotion} {card.confidence:.0%}")
        st.progress(min(max(card.engagement, 0.0), 1.0), text=f"engagement {card.engagement:.2f} ({card.engagement_band})")
    else:
        st.markdown(ABSENT_STATES.get(card.state, ABSENT_STATES["away"]))
        st.caption("not seen now")


def _rename_form(card: StudentCard, rename: Callable[[int, str], None]) -> None:
    """Correct the name on the card: it holds for the rest of the class, is stored, and is kept on --resume."""
    with st.popover("Rename", icon=":material/edit:"), st.form(f"rename-{card.student_id}", clear_on_submit=True):
        name = st.text_input("Name", placeholder=card.name, max_chars=200, key=f"rename-name-{card.student_id}")
        if st.form_submit_button("Save name") and name.strip():
            rename(card.student_id, " ".join(name.split()))


def literal(text: str) -> str:
    """``text`` shown as typed inside Markdown: a name read from a tile or typed by anyone can
    carry neither formatting, links nor HTML."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:$=\"'])")


def mood_chart(timeline: list[MoodPoint]) -> None:
    if len(timeline) < 2:
        st.caption("The class mood chart starts after a few seconds.")
        return
    frame = pd.DataFrame(
        [{"second": p.t, "engagement": p.engagement, **{e: p.probabilities.get(e, 0.0) for e in EMOTIONS}}
         for p in timeline]
    ).set_index("second")
    left, right = st.columns(2)
    left.caption("Class engagement (0–1, concentration index)")
    left.line_chart(frame[["engagement"]], height=220)
    right.caption("Class emotions (mean probability of present students)")
    right.area_chart(frame[list(EMOTIONS)], height=220)


def alert_list(alerts: list[Alert], names: dict[int, str]) -> None:
    if not alerts:
        st.caption("No alert so far.")
        return
    for alert in reversed(alerts[-20:]):
        who = names.get(alert.student_id) if alert.student_id is not None else None
        when = f"since {_clock(alert.started_at)}" if alert.active else \
            f"{_clock(alert.started_at)}–{_clock(alert.ended_at)}"
        text = f"{literal(alert.message(who))} · {when}"
        if alert.active:
            st.warning(text, icon=":material/notifications_active:")
        else:
            st.caption(f"✓ {text}")


def _clock(seconds: float | None) -> str:
    seconds = int(seconds or 0)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def class_view(snapshot: ClassSnapshot, charts: bool = True, rename: Callable[[int, str], None] | None = None) -> None:
    """Everything a teacher sees of a class, from one snapshot (``charts=False``: without the
    mood chart, which the Live page redraws less often because charts are costly to render;
    ``rename``: the cards can correct names)."""
    if snapshot.error:
        st.error(snapshot.error)
    metrics(snapshot)
    names = {card.student_id: card.name for card in snapshot.students}
    left, right = st.columns([3, 1])
    with left:
        st.subheader("Students")
        student_cards(snapshot.students, rename)
    with right:
        st.subheader("Alerts")
        alert_list(snapshot.alert_log, names)
    if charts:
        st.subheader("Class mood")
        mood_chart(snapshot.timeline)
