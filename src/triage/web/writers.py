"""The writers for people, by the --format names the batch engine knows them by: the CLI
passes these to `triage.batch` (which never imports `web/`)."""

from __future__ import annotations

from triage.web.table import TableWriter


def html_report_writer(target, **options):
    """The report page's writer, its templates (jinja2) loaded only when a page is written."""
    from triage.web.html_report import HtmlReportWriter

    return HtmlReportWriter(target, **options)


PRESENTATION_WRITERS = {"html": html_report_writer, "table": TableWriter}
