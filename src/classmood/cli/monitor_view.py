"""The live terminal view of ``classmood monitor``: the class at a glance and its alerts."""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from classmood.class_session import ClassSnapshot
from classmood.terminal import printable, rich_safe

_COLOURS = {"angry": "red", "disgust": "green4", "fear": "magenta", "happy": "yellow", "neutral": "white",
            "sad": "blue", "surprise": "cyan"}


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _bar(value: float, width: int = 10) -> str:
    filled = int(round(max(0.0, min(value, 1.0)) * width))
    return "█" * filled + "·" * (width - filled)


CELL_WIDTH = 40


def _student_cell(card) -> Text:
    """One student in a fixed-width cell: name, emotion with confidence, engagement bar."""
    name = f"{printable(card.name)[:11]:<11} "
    if card.opted_out:
        return Text.assemble((name, "dim"), ("opted out", "dim"))
    if not card.present:
        return Text.assemble((name, "dim"), (card.state.replace("_", " "), "dim italic"))
    return Text.assemble((name, "bold"), (f"{card.emotion:<8}", _COLOURS.get(card.emotion, "")),
                         f" {card.confidence:>4.0%} ", (_bar(card.engagement, 6), "green"), f" {card.engagement:.2f}")


def _student_grid(snapshot: ClassSnapshot, width: int) -> Table:
    """The class at a glance: students in as many columns as the terminal allows (50 fit)."""
    columns = max(1, width // CELL_WIDTH)
    grid = Table.grid(padding=(0, 2))
    for _ in range(columns):
        grid.add_column(width=CELL_WIDTH - 2, no_wrap=True)
    cells = [_student_cell(card) for card in snapshot.students]
    for start in range(0, len(cells), columns):
        grid.add_row(*cells[start : start + columns])
    return grid


def render(snapshot: ClassSnapshot, session: str, fps: float, progress: str = "", width: int = 120) -> Group:
    mood = snapshot.mood
    head = Text.assemble(
        (f"{printable(session)}  ", "bold"), f"{_clock(snapshot.timestamp)}  ", f"{mood.present}/{mood.known} present  ",
        ("class mood: ", "bold"), (f"{mood.emotion or '-'} {mood.confidence:.0%}  ", _COLOURS.get(mood.emotion or "", "")),
        f"engagement {mood.engagement:.2f} ({mood.engagement_band})  ", f"{fps:.1f} frames/s {progress}")
    table = _student_grid(snapshot, width)
    alerts = Table(show_header=False, show_edge=False, box=None)
    for alert in snapshot.alerts:
        alerts.add_row(Text(f"since {_clock(alert.started_at)}", style="bold red"),
                       Text(printable(alert.message(snapshot.name_of(alert.student_id)))))
    return Group(head, table, Panel(alerts if snapshot.alerts else Text("no alerts", style="dim"), title="alerts"))


class MonitorView:
    """Refreshes a rich ``Live`` view at most 4 times a second; without a terminal prints alert lines."""

    def __init__(self, console: Console, session: str, total_frames: int | None, live: bool = True) -> None:
        self.console, self.session, self.total = console, session, total_frames
        self.live = Live(console=console, auto_refresh=False, transient=False) if live else None
        self._last = 0.0
        self._frames = 0

    def __enter__(self) -> MonitorView:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def update(self, snapshot: ClassSnapshot, fps: float) -> None:
        self._frames += 1
        for alert in snapshot.opened:
            line = rich_safe(f"[{_clock(alert.started_at)}] alert: {alert.message(snapshot.name_of(alert.student_id))}")
            (self.live.console if self.live else self.console).print(line, highlight=False)
        for alert in snapshot.closed:
            line = rich_safe(f"[{_clock(alert.ended_at or snapshot.timestamp)}] over: "
                             f"{alert.message(snapshot.name_of(alert.student_id))}")
            (self.live.console if self.live else self.console).print(line, highlight=False)
        now = time.monotonic()
        progress = f"frame {self._frames}/{self.total}" if self.total else f"frame {self._frames}"
        if self.live is not None and now - self._last >= 0.25:
            self._last = now
            self.live.update(render(snapshot, self.session, fps, progress, self.console.width), refresh=True)
        elif self.live is None and now - self._last >= 10.0:  # no terminal: a status line now and then
            self._last = now
            mood = snapshot.mood
            self.console.print(f"[{_clock(snapshot.timestamp)}] {progress}, {fps:.1f} frames/s, "
                               f"{mood.present}/{mood.known} present, mood {mood.emotion or '-'}, "
                               f"engagement {mood.engagement:.2f}", highlight=False)
