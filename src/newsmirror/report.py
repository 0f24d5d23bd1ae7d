"""Run reports and source health, as Rich tables for people and JSON for machines."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .models import OutcomeKind, RunReport
from .store import ts

KINDS = (OutcomeKind.NEW, OutcomeKind.UPDATED, OutcomeKind.UNCHANGED, OutcomeKind.FILTERED,
         OutcomeKind.FAILED)  # fmt: skip
RECHECK_KINDS = (OutcomeKind.UNCHANGED, OutcomeKind.UPDATED, OutcomeKind.DELETED,
                 OutcomeKind.FAILED)  # fmt: skip


def recheck_totals(report: RunReport) -> dict[str, int]:
    return {k.value: sum(1 for o in report.rechecks if o.kind is k) for k in RECHECK_KINDS}


def report_dict(report: RunReport) -> dict[str, Any]:
    sources = []
    for s in report.sources:
        sources.append(
            {
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
                "items": [
                    {
                        "url": o.url,
                        "outcome": o.kind.value,
                        "reason": o.reason,
                        "detail": o.detail,
                        "path": o.path,
                    }
                    for o in s.outcomes
                ],  # fmt: skip
            }
        )
    return {
        "started": ts(report.started),
        "finished": ts(report.finished),
        "totals": {
            **{k.value: report.total(k) for k in KINDS},
            "not_modified": sum(1 for s in report.sources if s.not_modified),
            "sources": len(report.sources),
            "sources_failed": sum(1 for s in report.sources if s.failed),
        },
        "sources": sources,
        "rechecks": {
            "totals": recheck_totals(report),
            "items": [
                {
                    "source": o.source,
                    "url": o.url,
                    "outcome": o.kind.value,
                    "reason": o.reason,
                    "detail": o.detail,
                    "path": o.path,
                }
                for o in report.rechecks
            ],
        },
    }


def report_json(report: RunReport) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2)


def print_report(report: RunReport, console: Console) -> None:
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
