"""Render a meeting window video of a class with its truth beside it (classmood.assets.meeting).

    python scripts/render_meeting.py --students 25 --app zoom --theme dark --seconds 60 --fps 10 \\
        --events default --out /tmp/x.mp4          # writes /tmp/x.mp4 and /tmp/x.truth.json

``--events``: ``default`` (a speaker, a re-order, a latecomer, a camera off and on, a leave and
rejoin, speaker view and back, screen share and back, a student leaving for good), ``none``, or a
JSON file of changes (``[{"at": 5, "kind": "camera_off", "student": "S03"}, {"at": 9, "kind": "page",
"page": 2}, ...]``; kinds: ``classmood.assets.timeline.CHANGE_KINDS``). Bad arguments
give one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from classmood.assets.apps import APPS, THEMES, WINDOW_SIZES
from classmood.assets.meeting import PANELS, Meeting, class_of
from classmood.assets.timeline import changes_from_json, default_changes
from classmood.assets.truth import truth_path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    sizes = [f"{w}x{h}" for w, h in WINDOW_SIZES]
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=25, help="2 to 49 (default 25)")
    parser.add_argument("--app", choices=APPS, default="zoom")
    parser.add_argument("--theme", choices=THEMES, default="dark")
    parser.add_argument("--size", choices=sizes, default=sizes[0], help="window size (default 1920x1080)")
    parser.add_argument("--panel", choices=PANELS, default=None, help="a side panel (default none)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--events", default="default", help="default, none, or a JSON file of changes")
    parser.add_argument("--page-size", type=int, default=49, help="tiles on a gallery page (default 49)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="the .mp4 to write (its truth goes beside it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 2 <= args.students <= 49:
        parser.error(f"--students must be 2 to 49, not {args.students}")
    if not 1 <= args.page_size <= 49:
        parser.error(f"--page-size must be 1 to 49, not {args.page_size}")
    if not 0 < args.seconds <= 3 * 3600 or not 0 < args.fps <= 60:
        parser.error("--seconds must be in (0, 10800] and --fps in (0, 60]")
    if args.out.suffix.lower() != ".mp4":
        parser.error(f"--out must name an .mp4 file, not {args.out}")
    if not args.out.parent.is_dir():
        parser.error(f"folder {args.out.parent} does not exist")
    people = class_of(args.students, args.seed)
    ids = [p.student_id for p in people]
    try:
        if args.events == "default":
            changes = default_changes(ids, args.seconds, args.seed)
        elif args.events == "none":
            changes = []
        else:
            changes = changes_from_json(Path(args.events))
        width, height = (int(v) for v in args.size.split("x"))
        meeting = Meeting(people, args.app, args.theme, (width, height), changes, args.panel, args.page_size)
    except ValueError as error:
        parser.error(str(error))
    truth = meeting.write(args.out, args.seconds, args.fps)
    print(f"wrote {args.out} ({truth['frame_count']} frames) and {truth_path(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
