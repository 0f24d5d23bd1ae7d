"""Run reports and source health, as Rich tables for people and JSON for machines."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any, TextIO

from .models import ItemOutcome, OutcomeKind, RunReport, SourceReport
from .store import ts

if TYPE_CHECKING:  # Rich is imported by the tables only: a --json run never draws one
    from rich.console import Console

KINDS = (OutcomeKind.NEW, OutcomeKind.UPDATED, OutcomeKind.UNCHANGED, OutcomeKind.FILTERED,
         OutcomeKind.FAILED)  # fmt: skip
RECHECK_KINDS = (OutcomeKind.UNCHANGED, OutcomeKind.UPDATED, OutcomeKind.DELETED,
                 OutcomeKind.FAILED)  # fmt: skip


def recheck_totals(report: RunReport) -> dict[str, int]:
    return {k.value: sum(1 for o in report.rechecks if o.kind is k) for k in RECHECK_KINDS}


def _source_head(s: SourceReport) -> dict[str, Any]:
    return {
        "slug": s.slug,
        "name": s.name,
        "url": s.url,
        **{k.value: s.count(k) for k in KINDS},
        "not_modified": s.not_modified,
        "seconds": s.seconds,
        "error": s.error,
        "error_reason": s.error_reason,
        "warnings": list(s.warnings),
        "skipped": s.skipped,
    }


def _item(o: ItemOutcome) -> str:
    return json.dumps(
        {"url": o.url, "outcome": o.kind.value, "reason": o.reason, "detail": o.detail,
         "path": o.path},
        ensure_ascii=False,
    )  # fmt: skip


def _totals(report: RunReport) -> dict[str, Any]:
    return {
        **{k.value: report.total(k) for k in KINDS},
        "not_modified": sum(1 for s in report.sources if s.not_modified),
        "sources": len(report.sources),
        "sources_failed": sum(1 for s in report.sources if s.failed),
    }


def _rechecks(report: RunReport) -> dict[str, Any]:
    return {
        "totals": recheck_totals(report),
        "items": [
            {"source": o.source, "url": o.url, "outcome": o.kind.value, "reason": o.reason,
             "detail": o.detail, "path": o.path}
            for o in report.rechecks
        ],
    }  # fmt: skip


class JsonReport:
    """The run's JSON report, written source by source as each is done (``run``'s
    ``on_source``), then the times and totals (``finish``): one JSON document, never
    whole in memory, whatever the number of items. A run that stops half-way still
    leaves a document: ``abort`` closes it with the error."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.sources = 0

    def source(self, s: SourceReport) -> None:
        w = self.out.write
        w('{\n  "sources": [\n' if not self.sources else ",\n")
        self.sources += 1
        head = json.dumps(_source_head(s), ensure_ascii=False, indent=2)
        w(_indent(head[: -len("\n}")], 4))
        if not s.outcomes:
            w(',\n      "items": []\n    }')
            return
        w(',\n      "items": [\n')
        for i, o in enumerate(s.outcomes):
            w(",\n        " if i else "        ")
            w(_item(o))
        w("\n      ]\n    }")

    def _close(self, tail: dict[str, Any]) -> None:
        w = self.out.write
        w("\n  ],\n" if self.sources else '{\n  "sources": [],\n')
        w(json.dumps(tail, ensure_ascii=False, indent=2)[len("{\n") :] + "\n")
        self.out.flush()

    def finish(self, report: RunReport) -> None:
        self._close(
            {"started": ts(report.started), "finished": ts(report.finished),
             "totals": _totals(report), "rechecks": _rechecks(report)}
        )  # fmt: skip

    def abort(self, error: str) -> None:
        """Close a document some sources were written to (nothing when none was)."""
        if self.sources:
            self._close({"error": error})


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line for line in text.split("\n"))


def report_json(report: RunReport) -> str:
    """The whole JSON report of a finished run, as one string."""
    buf = io.StringIO()
    doc = JsonReport(buf)
    for s in report.sources:
        doc.source(s)
    doc.finish(report)
    return buf.getvalue()


def report_dict(report: RunReport) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(report_json(report))
    return result


def print_report(report: RunReport, console: Console) -> None:
    from rich.text import Text

    if report.sources:
        _print_sources(report, console)
    if report.rechecks or not report.sources:
        totals = ", ".join(f"{n} {k}" for k, n in recheck_totals(report).items())
        console.print(Text(f"re-checked {len(report.rechecks)} articles: {totals}"))
        for o in report.rechecks:  # page-controlled text is printed literally
            if o.kind is OutcomeKind.DELETED:
                console.print(Text.assemble(("deleted", "yellow"), f" {o.source}: {o.url}: {o.reason}"))
            elif o.kind is OutcomeKind.UPDATED:
                console.print(Text.assemble(("updated", "green"), f" {o.source}: {o.url} {o.reason}"))
            elif o.kind is OutcomeKind.FAILED:
                console.print(
                    Text.assemble(("re-check failed", "red"), f" {o.source}: {o.url}: {o.reason}: {o.detail}")
                )


def _print_sources(report: RunReport, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="newsmirror run", show_footer=True)
    table.add_column("source", footer="total")
    for k in KINDS:
        table.add_column(k.value, justify="right", footer=str(report.total(k)))
    nm = sum(1 for s in report.sources if s.not_modified)
    table.add_column("not-modified", justify="right", footer=str(nm))
    table.add_column("seconds", justify="right")
    for s in report.sources:
        table.add_row(
            s.slug,
            *(str(s.count(k)) for k in KINDS),
            "1" if s.not_modified else "0",
            f"{s.seconds:.2f}",
            style="red" if s.failed else ("dim" if s.skipped else None),
        )
    console.print(table)
    for s in report.sources:  # feed-controlled text is printed literally, never as markup
        if s.skipped:
            console.print(Text.assemble(("skipped", "dim"), f" {s.slug}: {s.skipped}"))
        if s.error:
            console.print(Text.assemble(("failed", "red"), f" {s.error}"))
        for w in s.warnings:
            console.print(Text.assemble(("warning", "yellow"), f" {s.slug}: {s.url}: {w}"))
        for o in s.outcomes:
            if o.kind is OutcomeKind.FAILED:
                console.print(
                    Text.assemble(
                        ("item failed", "red"), f" {s.slug}: {o.url}: {o.reason}: {o.detail}"
                    )
                )
