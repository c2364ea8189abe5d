"""How five meeting apps dress their window: colours, bars, gaps, corners, speaker border, label style.

Sizes are pixels of a 1080-pixel-high window (``AppStyle.scaled`` resizes them); colours are BGR.
The values imitate Zoom, Google Meet, Microsoft Teams, Webex and Jitsi Meet in a dark and a light
theme, closely enough for a layout finder to meet what it meets on a captured screen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

BGR = tuple[int, int, int]

APPS = ("zoom", "meet", "teams", "webex", "jitsi")
THEMES = ("dark", "light")
WINDOW_SIZES = ((1920, 1080), (1280, 720))


@dataclass(frozen=True, slots=True)
class AppStyle:
    """One app in one theme. ``label`` is a ``labels.STYLES`` name."""

    app: str
    theme: str
    title: str  # the window's title text
    background: BGR  # behind the tiles (the gaps)
    bar: BGR  # title bar and toolbar
    ink: BGR  # text and icons on the bars
    panel: BGR  # chat / participants panel
    tile_off: BGR  # a tile whose camera is off
    avatar: BGR  # the initials' disc on it
    accent: BGR  # the active speaker's border
    leave: BGR  # the leave / hang-up button
    label: str
    gap: int
    radius: int
    border: int
    title_h: int
    toolbar_h: int
    margin: int  # between the bars and the gallery

    def scaled(self, height: int) -> AppStyle:
        """The same style for a window ``height`` pixels high (sizes scaled from 1080, at least 1 px)."""
        k = height / 1080

        def px(value: int) -> int:
            return max(1, round(value * k)) if value else 0

        return replace(self, gap=px(self.gap), radius=px(self.radius), border=max(2, px(self.border)),
                       title_h=px(self.title_h), toolbar_h=px(self.toolbar_h), margin=px(self.margin))


_DARK = {
    "zoom": AppStyle("zoom", "dark", "Zoom Meeting", (26, 26, 26), (38, 38, 38), (235, 235, 235), (46, 46, 46),
                     (52, 52, 52), (140, 110, 60), (89, 217, 35), (50, 50, 230), "box", 6, 8, 4, 44, 84, 10),
    "meet": AppStyle("meet", "dark", "Meet - kqv-hmtx-pqe", (36, 33, 32), (36, 33, 32), (232, 234, 237),
                     (60, 64, 67), (67, 60, 60), (160, 120, 90), (248, 180, 138), (39, 46, 234), "shadow", 10, 12, 4,
                     40, 88, 16),
    "teams": AppStyle("teams", "dark", "Microsoft Teams", (31, 31, 31), (45, 41, 41), (255, 255, 255), (41, 41, 41),
                      (58, 54, 54), (170, 110, 98), (245, 133, 127), (58, 58, 196), "pill", 8, 6, 4, 48, 64, 12),
    "webex": AppStyle("webex", "dark", "Webex", (18, 18, 18), (30, 30, 30), (240, 240, 240), (37, 37, 37),
                      (45, 45, 45), (120, 140, 40), (113, 204, 46), (55, 55, 220), "pill", 8, 10, 4, 44, 80, 12),
    "jitsi": AppStyle("jitsi", "dark", "Jitsi Meet", (40, 40, 40), (23, 23, 23), (255, 255, 255), (51, 51, 51),
                      (64, 64, 64), (150, 100, 40), (229, 111, 36), (60, 60, 210), "box", 4, 4, 4, 36, 72, 8),
}

_LIGHT = {
    "zoom": dict(background=(240, 240, 240), bar=(252, 252, 252), ink=(40, 40, 40), panel=(255, 255, 255),
                 tile_off=(214, 214, 214), avatar=(200, 140, 60), label="box"),
    "meet": dict(background=(244, 243, 241), bar=(244, 243, 241), ink=(60, 64, 67), panel=(255, 255, 255),
                 tile_off=(226, 222, 218), avatar=(210, 130, 70), label="shadow"),
    "teams": dict(background=(245, 240, 240), bar=(235, 235, 235), ink=(36, 36, 36), panel=(255, 255, 255),
                  tile_off=(222, 216, 216), avatar=(190, 120, 100), label="light"),
    "webex": dict(background=(247, 247, 247), bar=(232, 232, 232), ink=(30, 30, 30), panel=(255, 255, 255),
                  tile_off=(220, 220, 220), avatar=(130, 150, 40), label="light"),
    "jitsi": dict(background=(232, 232, 232), bar=(248, 248, 248), ink=(23, 23, 23), panel=(255, 255, 255),
                  tile_off=(205, 205, 205), avatar=(170, 110, 40), label="box"),
}


def app_style(app: str, theme: str = "dark") -> AppStyle:
    """The style of ``app`` (one of ``APPS``) in ``theme`` (``dark`` or ``light``), at 1080 px."""
    if app not in APPS:
        raise ValueError(f"unknown meeting app {app!r}; choose from {', '.join(APPS)}")
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; choose from {', '.join(THEMES)}")
    style = _DARK[app]
    return style if theme == "dark" else replace(style, theme="light", **_LIGHT[app])
