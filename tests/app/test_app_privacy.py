"""Privacy you can check in the web app (issue 23): a live class in a real browser, under a fresh home
folder, writes nothing outside classmood's data folder and opens no socket to anything but this
machine; a student the teacher opts out from the card is shown as "opted out" and stored nowhere."""

from __future__ import annotations

import os
import sqlite3

import pytest

pytest.importorskip("streamlit_webrtc", reason="the web app needs the app extra: pip install -e '.[app]'")

from fixtures.app_harness import (
    PASSWORD, app_server, chromium_path, face_canvas, fer_faces, launch_chromium, open_expander, press_start,
    press_stop, signed_in_page, write_y4m,
)
from fixtures.privacy import (
    STRACE, data_folder_of, files_outside_data_folder, fresh_home_env, remote_connects, strace_connects,
)

UI_TIMEOUT_MS = 90_000


@pytest.mark.skipif(STRACE is None or chromium_path() is None, reason="needs strace and Debian's chromium")
def test_a_live_class_writes_only_the_data_folder_connects_nowhere_and_opts_a_student_out(playwright, tmp_path):
    home, work, trace = tmp_path / "home", tmp_path / "work", tmp_path / "app.strace"
    home.mkdir()
    work.mkdir()
    camera = write_y4m(tmp_path / "camera.y4m", [face_canvas(fer_faces(2))] * 20, fps=10)
    env = {**dict.fromkeys(os.environ), **fresh_home_env(home), "CLASSMOOD_APP_HOME": None,
           "CLASSMOOD_DATABASE_URL": None, "CLASSMOOD_APP_PASSWORD": PASSWORD}  # every default folder
    with app_server(tmp_path / "server", env=env, wrapper=strace_connects(trace), cwd=work, timeout_s=120) as server:
        browser = launch_chromium(playwright, camera)
        try:
            context, page = signed_in_page(browser, server, timeout_ms=UI_TIMEOUT_MS)
            press_start(page, server=server)
            page.get_by_text("S02", exact=True).wait_for(timeout=UI_TIMEOUT_MS)  # both students analysed
            open_expander(page, "Rename a student, or opt one out")
            page.get_by_role("button", name="Opt out: stop analysing, erase what was stored").click()
            page.get_by_text("🚫 opted out").wait_for(timeout=UI_TIMEOUT_MS)
            page.wait_for_timeout(3000)  # the class goes on without them
            press_stop(page)
            page.get_by_text("saved:", exact=False).wait_for(timeout=UI_TIMEOUT_MS)
            context.close()
        finally:
            browser.close()

    database = data_folder_of(home) / "classmood.db"
    with sqlite3.connect(database) as db:
        students = db.execute("select number from students").fetchall()
        seconds = db.execute("select distinct s.number, count(*) from student_seconds x "
                             "join students s on s.id = x.student_id group by s.number").fetchall()
    assert students == [(2,)] and seconds[0][0] == 2 and seconds[0][1] >= 3  # S01 is stored nowhere
    assert files_outside_data_folder(home) == [] and list(work.iterdir()) == []
    assert trace.exists() and remote_connects(trace) == []
