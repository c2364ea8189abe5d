"""Throughput of ``classmood batch``: hours of class video per core-hour at ``--every 5`` on 25-face
meeting galleries, Ray's overhead against the plain single process on the same machine, and the
database rows and bytes per class-hour measured in a real PostgreSQL, with its write rate.

The recordings are 1920x1080, 15 frames/s Zoom windows of 25 real portraits (``classmood.assets.meeting``).
The plain run is one process that loads the pipeline once and runs ``watch_class`` over the
recordings one after another (ONNX Runtime on all cores, as ``classmood monitor`` does); the Ray run
is ``classmood batch``'s own code (``connect_ray`` + ``run_batch``): a local Ray, an actor per core.
Both record every recording as a session in ``--db``. Runs alternate (plain, Ray, plain, Ray...) so
that a shared machine's load falls on both alike.

    python benchmarks/batch_throughput.py --videos 4 --seconds 60 --repeats 2 --db postgresql+psycopg://...

Results: ``docs/benchmarks/batch_throughput.json`` and ``.md`` (the section docs/scaling.md quotes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

# synthetic classes of public portraits, no real students: confirmed (classmood consent) by the benchmark
os.environ.setdefault("CLASSMOOD_CONFIRMED_BY", "classmood benchmark on a synthetic class")

from sqlalchemy import func, insert, select, text, update

from classmood.batch.inputs import Recording, count_frames
from classmood.class_session import ClassSettings
from classmood.consent import require_confirmation
from classmood.store import Store
from classmood.store.erasure import delete_session
from classmood.store.models import AlertRow, SessionRow, StudentRow, StudentSecondRow

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
TABLES = ("sessions", "students", "student_seconds", "alerts")


def make_videos(folder: Path, count: int, seconds: float, fps: float, faces: int = 25) -> list[Path]:
    """``count`` recordings of 1920x1080 Zoom windows of ``faces`` students each (a different class per seed)."""
    from classmood.assets.gallery import write_gallery_video
    from classmood.assets.meeting import Meeting, class_of

    paths = []
    for i in range(count):
        path = folder / f"class{i + 1:02d}.mp4"
        write_gallery_video(path, Meeting(class_of(faces, seed=100 + i), size=(1920, 1080)).frames(seconds, fps), fps)
        paths.append(path)
    return paths


def plain_run(videos: list[Path], settings: ClassSettings, db: str, prefix: str) -> dict:
    """One process, one pipeline, the recordings one after another (``classmood monitor``'s path)."""
    from classmood.class_session.watch import watch_class

    started, cpu = time.perf_counter(), cpu_seconds()
    pipeline = settings.pipeline()
    loaded = time.perf_counter()
    frames = 0
    for path in videos:
        with watch_class(path, prefix + path.stem, settings=settings, db=db, consent=require_confirmation(),
                         pipeline=pipeline) as watched:
            frames += sum(1 for _ in watched.snapshots())
    ended = time.perf_counter()
    return {"kind": "plain", "wall_s": ended - started, "start_s": loaded - started, "analysis_s": ended - loaded,
            "cpu_s": cpu_seconds() - cpu, "frames": frames}


def ray_run(videos: list[Path], settings: ClassSettings, db: str, prefix: str) -> dict:
    """``classmood batch`` without --ray: a local Ray on all cores, an actor per core."""
    from classmood.batch.job import connect_ray, run_batch

    started, cpu = time.perf_counter(), cpu_seconds()
    recordings = [count_frames(Recording(path.resolve(), prefix + path.stem), settings.every) for path in videos]
    with connect_ray(None) as connection:
        connected = time.perf_counter()
        results = run_batch(connection, recordings, settings=settings, db=db, consent=require_confirmation())
        analysed = time.perf_counter()
        ray_cpu = cpu_seconds(descendants=True) - cpu  # Ray's own processes (GCS, raylet...) and the actors
    ended = time.perf_counter()
    assert all(r.status == "finished" for r in results), [r.reason for r in results if r.status != "finished"]
    return {"kind": "ray", "wall_s": ended - started, "start_s": connected - started,
            "analysis_s": analysed - connected, "stop_s": ended - analysed, "cpu_s": ray_cpu,
            "workers": connection.workers,
            "frames": sum(r.frames for r in results),
            "worker_fps": [round(r.fps, 1) for r in results]}


def cpu_seconds(descendants: bool = False) -> float:
    """CPU seconds (user + system) used so far by this process, and with ``descendants`` by every
    process it started that still runs (a local Ray's processes live until it stops)."""
    import psutil

    me = psutil.Process()
    processes = [me, *me.children(recursive=True)] if descendants else [me]
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def stored_counts(store: Store, names: list[str]) -> dict:
    with store.transaction() as db:
        ids = list(db.scalars(select(SessionRow.id).where(SessionRow.name.in_(names))))
        return {"sessions": len(ids),
                "students": db.scalar(select(func.count()).where(StudentRow.session_id.in_(ids))),
                "student_seconds": db.scalar(select(func.count()).where(StudentSecondRow.session_id.in_(ids))),
                "alerts": db.scalar(select(func.count()).where(AlertRow.session_id.in_(ids)))}


def table_bytes(store: Store) -> dict[str, int]:
    """PostgreSQL's size of each table with its indexes and TOAST (8 kB pages)."""
    with store.engine.connect() as connection:
        return {t: int(connection.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar()) for t in TABLES}


def row_bytes(store: Store, names: list[str]) -> dict[str, float]:
    """Average stored width of a row of each table (``pg_column_size`` of the row, no page overhead)."""
    with store.engine.connect() as connection:
        ids = [r[0] for r in connection.execute(select(SessionRow.id).where(SessionRow.name.in_(names)))]
        id_list = ",".join(map(str, ids)) or "NULL"
        where = {"sessions": f"id IN ({id_list})", "students": f"session_id IN ({id_list})",
                 "student_seconds": f"session_id IN ({id_list})", "alerts": f"session_id IN ({id_list})"}
        return {t: float(connection.execute(text(f"SELECT coalesce(avg(pg_column_size(x.*)), 0) FROM {t} x "
                                                 f"WHERE {where[t]}")).scalar()) for t in TABLES}


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``url``'s server for the run (dropped after): its tables grow
    only by what the benchmark writes, with no free space left by earlier deletions to fill first."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"classmood_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def write_rate(store: Store, seconds: float = 10.0, students: int = 25) -> dict:
    """Flushes per second the way a recorder flushes a class analysed faster than real time: one
    transaction per second of video (the session row stamped, one row per student inserted)."""
    name = f"write-rate-{uuid.uuid4().hex[:8]}"
    with store.transaction() as db:
        row = SessionRow(name=name, source="benchmark", started_at=datetime.now(UTC), status="running",
                         duration_s=0.0, position_s=0.0, heartbeat_at=datetime.now(UTC), owner="benchmark",
                         settings={})
        db.add(row)
        db.flush()
        session_id = row.id
        student_rows = []
        for s in range(students):
            student = StudentRow(session_id=session_id, student_id=s + 1, first_seen=0.0, last_seen=0.0)
            db.add(student)
            db.flush()
            student_rows.append(student.id)
    flushes, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        with store.transaction() as db:
            db.execute(update(SessionRow).where(SessionRow.id == session_id)
                       .values(heartbeat_at=datetime.now(UTC), duration_s=flushes + 1.0, position_s=float(flushes)))
            db.execute(insert(StudentSecondRow), [
                {"student_row_id": r, "session_id": session_id, "second": flushes, "presence": 1.0, "engagement": 0.5,
                 "emotion": "neutral", "confidence": 0.6, "p_angry": 0.1, "p_disgust": 0.0, "p_fear": 0.1,
                 "p_happy": 0.1, "p_neutral": 0.6, "p_sad": 0.05, "p_surprise": 0.05} for r in student_rows])
        flushes += 1
    elapsed = time.perf_counter() - started
    delete_session(store, name)
    return {"flushes_per_s": flushes / elapsed, "rows_per_s": flushes * students / elapsed, "students": students,
            "seconds": elapsed}


def summarise(runs: list[dict], video_s: float, cores: int) -> dict:
    def best(kind: str, key: str) -> float:
        return min(r[key] for r in runs if r["kind"] == kind)

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs if r["kind"] == kind)

    out = {}
    for kind in ("plain", "ray"):
        wall, analysis = best(kind, "wall_s"), best(kind, "analysis_s")
        out[kind] = {"wall_s_best": round(wall, 2), "wall_s_median": round(median(kind, "wall_s"), 2),
                     "analysis_s_best": round(analysis, 2), "start_s_best": round(best(kind, "start_s"), 2),
                     "cpu_s_best": round(best(kind, "cpu_s"), 1),
                     "video_hours_per_cpu_hour": round(video_s / best(kind, "cpu_s"), 2),
                     "video_hours_per_core_hour": round(video_s / (wall * cores), 2),
                     "video_hours_per_core_hour_analysis_only": round(video_s / (analysis * cores), 2)}
    out["ray_overhead_wall"] = round(out["ray"]["wall_s_best"] / out["plain"]["wall_s_best"] - 1, 3)
    out["ray_overhead_cpu"] = round(out["ray"]["cpu_s_best"] / out["plain"]["cpu_s_best"] - 1, 3)
    out["ray_overhead_analysis"] = round(out["ray"]["analysis_s_best"] / out["plain"]["analysis_s_best"] - 1, 3)
    return out


def page(report: dict) -> str:
    s, p, r = report["summary"], report["summary"]["plain"], report["summary"]["ray"]
    lines = [
        f"Measured {report['when']} on {report['machine']} ({report['cores']} cores"
        f"{', shared with other work: load average ' + report['load_before'] if report['shared'] else ''}), "
        f"`python benchmarks/batch_throughput.py {report['argv']}`: {report['videos']} recordings of "
        f"{report['seconds_per_video']:g} s (1920x1080, {report['fps']:g} frames/s, {report['faces']} faces), "
        f"`--every {report['every']}`, {report['repeats']} alternating runs of each kind, best run shown.",
        "",
        "| run | wall s | of which start-up s | analysis s | CPU s used | hours of video per CPU-hour used "
        "| per core-hour of wall time |",
        "|---|---|---|---|---|---|---|",
        *(f"| {label} | {x['wall_s_best']} | {x['start_s_best']} | {x['analysis_s_best']} | {x['cpu_s_best']} | "
          f"{x['video_hours_per_cpu_hour']} | {x['video_hours_per_core_hour']} |"
          for label, x in (("plain single process", p),
                           (f"`classmood batch`, local Ray, {report['workers']} actors", r))),
        "",
        f"Ray's overhead against the plain process: {s['ray_overhead_wall']:+.1%} of wall time for the whole job "
        f"(Ray's start and stop included), {s['ray_overhead_analysis']:+.1%} for the analysis alone, "
        f"{s['ray_overhead_cpu']:+.1%} of CPU time (Ray's own processes included).",
    ]
    if "database" in report:
        d = report["database"]
        lines += [
            "",
            f"Database ({d['url_kind']}), a class of {report['faces']} students: "
            f"{d['student_seconds_per_class_hour']:,.0f} student-second rows per class-hour, "
            f"{d['bytes_per_class_hour'] / 1e6:.1f} MB of student_seconds with its indexes per class-hour "
            f"(rows average {d['row_bytes']['student_seconds']:.0f} bytes before page and index overhead), "
            f"measured as the growth of pg_total_relation_size; plus {d['bytes_per_class'] / 1e3:.1f} kB of rows per "
            f"class for its session, {d['students_per_class']:.0f} student rows and alerts "
            f"({d['alerts_per_class_hour']:.0f} alerts per class-hour here).",
        ]
    if "write_rate" in report:
        w = report["write_rate"]
        lines += ["", f"PostgreSQL write rate, one connection, a recorder's flush pattern (a transaction per second "
                      f"of video: the session stamped, {w['students']} rows inserted): {w['flushes_per_s']:.0f} "
                      f"flushes/s = {w['rows_per_s']:,.0f} rows/s."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each recording")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file); "
                                                   "PostgreSQL adds bytes per class-hour and the write rate")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--shared", action="store_true", help="say that other work shared the machine's cores")
    args = parser.parse_args()
    settings = ClassSettings(every=args.every, read_names=False)
    cores = os.cpu_count() or 1
    load_before = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        db = args.db or f"sqlite:///{work / 'batch.db'}"
        if db.startswith("postgresql"):
            db = stack.enter_context(fresh_database(db))
        videos = make_videos(work, args.videos, args.seconds, args.fps)
        store = Store(db)
        postgres = store.url.startswith("postgresql")
        runs, created = [], []
        report = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": platform.processor()
                  or platform.machine(), "cores": cores, "shared": args.shared, "load_before": load_before,
                  "argv": " ".join(f"--{k} {v}" for k, v in (("videos", args.videos), ("seconds", f"{args.seconds:g}"),
                                                             ("every", args.every), ("repeats", args.repeats))),
                  "videos": args.videos, "seconds_per_video": args.seconds, "fps": args.fps, "every": args.every,
                  "faces": 25, "repeats": args.repeats}
        try:
            for repeat in range(args.repeats):
                for kind, run in (("plain", plain_run), ("ray", ray_run)):
                    prefix = f"bench-{uuid.uuid4().hex[:6]}-{kind}{repeat}-"
                    names = [prefix + v.stem for v in videos]
                    before = table_bytes(store) if postgres and kind == "ray" and repeat == 0 else None
                    result = run(videos, settings, db, prefix)
                    created += names
                    runs.append(result)
                    print(json.dumps(result), flush=True)
                    if before is not None:
                        after = table_bytes(store)
                        hours = args.videos * args.seconds / 3600
                        counts = stored_counts(store, names)
                        growth = {t: after[t] - before[t] for t in TABLES}
                        widths = row_bytes(store, names)
                        report["database"] = {
                            "url_kind": "a fresh PostgreSQL database", "rows": counts,
                            "row_bytes": widths, "table_bytes_growth": growth,
                            "student_seconds_per_class_hour": counts["student_seconds"] / hours,
                            "bytes_per_class_hour": growth["student_seconds"] / hours,
                            # the small tables shrink and grow as finished sessions drop their signatures:
                            # their share is counted from row widths
                            "bytes_per_class": sum(widths[t] * counts[t] for t in ("sessions", "students", "alerts"))
                            / args.videos,
                            "students_per_class": counts["students"] / args.videos,
                            "alerts_per_class_hour": counts["alerts"] / hours}
            if postgres:
                report["write_rate"] = write_rate(store)
        finally:
            for name in created:
                delete_session(store, name)
            store.close()
    report["workers"] = next(r["workers"] for r in runs if r["kind"] == "ray")
    report["load_after"] = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    report["runs"] = runs
    report["summary"] = summarise(runs, args.videos * args.seconds, cores)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch_throughput.json").write_text(json.dumps(report, indent=1))
    (args.out / "batch_throughput.md").write_text(page(report))
    print(page(report))


if __name__ == "__main__":
    main()
