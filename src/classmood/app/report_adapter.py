"""The HTML report of a session for the app's download button.

Uses the monitoring report (``classmood.report``, the one ``classmood report`` writes) when it
is installed; until then a small self-contained page from the same store queries: the class
mood chart (inline PNG), students, alerts. Either way: one file, no external resource.
"""

from __future__ import annotations

import base64
import html
import io

from classmood.store import Store, queries
from classmood.store.models import PROBABILITY_COLUMNS


def session_report_html(store: Store, name: str) -> str:
    try:
        from classmood.report import render_report_html  # the monitoring engineer's report
    except ImportError:
        return _basic_report(store, name)
    return render_report_html(store, name)


def _basic_report(store: Store, name: str) -> str:
    summary = queries.get_summary(store, name)
    seconds = queries.seconds_frame(store, name)
    students = queries.students_frame(store, name)
    alerts = queries.alerts_frame(store, name)
    chart = _mood_png(queries.class_frame(seconds))
    image = f'<img alt="class mood" src="data:image/png;base64,{chart}">' if chart else "<p>No face recorded.</p>"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>classmood report: {html.escape(name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2rem .5rem}}</style></head><body>
<h1>Class report: {html.escape(name)}</h1>
<p>Started {summary.started_at:%Y-%m-%d %H:%M} · {summary.duration_s / 60:.1f} min · {summary.students} students ·
{summary.alerts} alerts · status {html.escape(summary.status)}</p>
<h2>Class mood</h2>{image}
<h2>Students</h2>{students.to_html(index=False, float_format=lambda v: f"{v:.2f}")}
<h2>Alerts</h2>{alerts.to_html(index=False, float_format=lambda v: f"{v:.1f}") if not alerts.empty else "<p>None.</p>"}
<p><small>Aggregates per pseudonymous student id only; no video or pictures.</small></p>
</body></html>"""


def _mood_png(mood) -> str:
    if mood.empty:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    top.plot(mood["second"], mood["engagement"], color="#4f46e5")
    top.set_ylabel("engagement")
    top.set_ylim(0, 1)
    bottom.stackplot(mood["second"], *[mood[c] for c in PROBABILITY_COLUMNS],
                     labels=[c.removeprefix("p_") for c in PROBABILITY_COLUMNS])
    bottom.set_ylabel("emotions")
    bottom.set_xlabel("second")
    bottom.legend(loc="upper left", fontsize=7, ncol=7)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()
