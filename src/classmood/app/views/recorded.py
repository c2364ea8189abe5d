"""Recorded page: upload a class video or a photo; see it annotated, its timeline and report."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from classmood.app import resources
from classmood.app.config import AppSettings, kept_video_path
from classmood.app.media import BrowserVideoWriter
from classmood.app.views import consent_gate
from classmood.app.views.session_view import render_session
from classmood.consent import require_confirmation
from classmood.errors import ClassmoodError
from classmood.sources import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from classmood.types import Frame

ACCEPTED = sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS)


def render() -> None:
    settings = AppSettings.load()
    st.title("Recorded class")
    if consent_gate.confirmed() is None:
        return
    if settings.store_frames:
        st.warning("The annotated video of each upload is kept on this computer (Settings: store video frames).",
                   icon=":material/videocam:")
    # the limit the server enforces (classmood app --max-upload-mb), not the saved setting
    st.caption(f"Upload a class video ({', '.join(sorted(e.lstrip('.') for e in VIDEO_EXTENSIONS))}) "
               f"or a photo, up to {st.get_option('server.maxUploadSize')} MB. It is analysed on this computer "
               "and only aggregates are kept.")
    upload = st.file_uploader("Class video or photo", type=ACCEPTED, key="recorded_upload")
    if upload is None:
        return
    work = Path(tempfile.mkdtemp(prefix="classmood-upload-"))
    # a fixed short name on disk: the visitor's name (any length, any characters) is only shown
    path = work / f"upload{Path(upload.name).suffix.lower()[:10]}"
    try:
        path.write_bytes(upload.getbuffer())
        if path.suffix in IMAGE_EXTENSIONS:
            _photo(path, settings)
        else:
            _video(path, settings, upload.name)
    except ClassmoodError as exc:
        st.error(f"Cannot analyse {upload.name}: {exc.message.replace(str(path), upload.name)}")
    except Exception as exc:  # one line in the page, the details in the server's log
        logging.getLogger("classmood.app").exception("analysis of an upload failed")
        st.error(f"Cannot analyse {upload.name}: {type(exc).__name__}: {str(exc).replace(str(path), upload.name)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the upload and any temp output: nothing kept on disk


def _photo(path: Path, settings: AppSettings) -> None:
    from classmood.annotate import draw_faces
    from classmood.sources import read_image

    image = read_image(path)
    faces = resources.pipeline(settings.analysis).process(Frame(image, 0, 0.0)).detections.to_faces()
    st.image(draw_faces(image, faces), channels="BGR", caption=f"{len(faces)} faces found")
    if not faces:
        st.warning("No face found in this photo.")
        return
    table = pd.DataFrame([{"face": i + 1, "emotion": f.emotion, "confidence": round(f.confidence, 3),
                           **{k: round(v, 3) for k, v in f.probabilities.items()}} for i, f in enumerate(faces)])
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("Download CSV", table.to_csv(index=False).encode(), file_name=f"{path.stem}.csv",
                       mime="text/csv")


def _video(path: Path, settings: AppSettings, shown_name: str) -> None:
    key = f"recorded:{shown_name}:{path.stat().st_size}"
    done = st.session_state.setdefault("recorded_done", {})
    if key not in done:
        done[key] = _analyse_video(path, settings, shown_name)
    session_name, video = done[key]
    if video is not None:
        st.video(video, format="video/mp4")
    st.subheader(f"Session “{session_name}”")
    render_session(session_name, key="recorded")


def _analyse_video(path: Path, settings: AppSettings, shown_name: str) -> tuple[str, bytes | None]:
    """Analyse the video as a recorded class session; returns its name and the annotated video (in memory)."""
    from classmood.annotate import draw_faces
    from classmood.class_session import ClassSession
    from classmood.sources import VideoFileSource

    source = VideoFileSource(path, shown_as=shown_name)
    session_name = f"{Path(shown_name).stem} {datetime.now():%Y-%m-%d %H:%M:%S}"
    class_session = ClassSession.open(resources.store(), session_name, resources.pipeline(settings.analysis),
                                      settings.analysis, source=f"upload:{shown_name}",
                                      consent=require_confirmation(), frames_kept=settings.store_frames,
                                      teacher=settings.teacher or None)
    writer = None
    total = source.frame_count
    progress = st.progress(0.0, text="Analysing…")
    started = time.monotonic()
    frames = 0
    try:  # from here on, whatever happens ends the session (never left 'running')
        writer = BrowserVideoWriter(path.with_name(f"{path.stem}.annotated.mp4"), source.fps)
        for snapshot in class_session.run(source):  # ends the session as finished or truncated
            writer.write(draw_faces(snapshot.frame.image, snapshot.detections, opted_out=snapshot.opted_out))
            frames += 1
            if frames % 5 == 0 or frames == total:
                fps = frames / max(time.monotonic() - started, 1e-6)
                share = min(frames / total, 1.0) if total else 0.0
                progress.progress(share, text=f"Analysing… frame {frames}" + (f"/{total}" if total else "")
                                  + f" · {fps:.1f} frames/s")
        written = writer.close()
        cut = source.truncation
        if cut is not None:  # a cut or corrupt file is never shown as a finished class
            st.warning(f"{shown_name} is truncated or corrupt: only its first {cut.frames_read} of "
                       f"{cut.frames_expected} frames could be read. The session is marked truncated.")
        video = written.read_bytes() if written is not None else None
        if settings.store_frames and written is not None:
            kept = kept_video_path(session_name)
            kept.write_bytes(video)
            st.caption(f"Annotated video kept at {kept} (Settings: store video frames).")
    except BaseException:
        if writer is not None:
            writer.abort()
        class_session.finish("interrupted")  # a no-op when the session has ended already
        raise
    finally:
        source.close()
    progress.progress(1.0, text=f"Done: {frames} frames in {time.monotonic() - started:.1f} s")
    return session_name, video
