"""Take the screenshots in docs/screenshots/: one per page of the web app, from a real session.

    python scripts/app_screenshots.py [--out docs/screenshots]

Starts a real ``classmood app`` on localhost with its own temporary database, feeds Chromium's
fake camera with the bundled sample class video (licensed portraits, see
src/classmood/assets/LICENSES.md), runs a short live class, uploads the same video on the
Recorded page, and photographs each page.
"""

from __future__ import annotations

import argparse
import sys
import os
import tempfile
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fixtures.app_harness import (  # noqa: E402
    app_server,
    launch_chromium,
    live_page_settled,
    login,
    press_start,
    press_stop,
    write_y4m,
)

from classmood.assets import SAMPLE_VIDEO  # noqa: E402

VIEWPORT = {"width": 1440, "height": 1500}
# the app's first class asks the deployer to confirm the use: these screenshots' class is the bundled sample
os.environ.setdefault("CLASSMOOD_CONFIRMED_BY", "classmood screenshots of the bundled sample class")


def sample_frames(limit: int = 150) -> list:
    capture = cv2.VideoCapture(str(SAMPLE_VIDEO))
    frames = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--live-seconds", type=float, default=25.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="classmood-shots-") as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        camera = write_y4m(folder / "sample.y4m", sample_frames(), fps=15)
        env = {"CLASSMOOD_APP_ABSENT_AFTER_S": "3", "CLASSMOOD_APP_NEGATIVE_AFTER_S": "5"}
        with app_server(folder / "server", env=env) as server:
            browser = launch_chromium(playwright, camera)
            page = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
            page.set_default_timeout(90_000)
            page.goto(server.url + "/")
            page.screenshot(path=str(args.out / "login.png"))
            login(page, server)
            page.get_by_role("heading", name="Live class").wait_for()
            live_page_settled(page)
            page.get_by_label("Session name").fill("Biology, period 3")
            page.keyboard.press("Enter")
            press_start(page)
            page.get_by_text("S01", exact=True).wait_for()
            page.wait_for_timeout(args.live_seconds * 1000)
            page.screenshot(path=str(args.out / "live.png"))
            press_stop(page)
            page.get_by_text("saved:", exact=False).wait_for()

            page.get_by_role("link", name="Recorded").click()
            page.get_by_role("heading", name="Recorded class").wait_for()
            page.locator("input[type=file]").set_input_files(str(SAMPLE_VIDEO))
            page.get_by_role("button", name="Download HTML report").wait_for(timeout=300_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "recorded.png"))

            page.get_by_role("link", name="History").click()
            page.get_by_role("heading", name="History").wait_for()
            page.get_by_role("combobox").first.click()
            page.get_by_role("option", name="Biology, period 3").click()
            page.get_by_role("button", name="Download HTML report").wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "history.png"))

            page.get_by_role("link", name="Settings").click()
            page.get_by_role("heading", name="Settings").wait_for()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(args.out / "settings.png"))
            browser.close()
    for name in ("login", "live", "recorded", "history", "settings"):
        print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
