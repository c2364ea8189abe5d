"""Self-contained HTML report of a recorded class."""

from classmood.report.html import load_report_data, render_report, render_report_html, write_report

__all__ = ["load_report_data", "render_report", "render_report_html", "write_report"]
