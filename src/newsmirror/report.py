"""Run reports and source health, as Rich tables for people and JSON for machines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from .models import OutcomeKind, RunReport
from .store import FeedHealth, Store, ts

KINDS = (OutcomeKind.NEW, OutcomeKind.UPDATED, OutcomeKind.UNCHANGED, OutcomeKind.FILTERED,
         OutcomeKind.FAILED)  # fmt: skip


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
    }


def report_json(report: RunReport) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2)


def print_report(report: RunReport, console: Console) -> None:
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
            style="red" if s.failed else None,
        )
    console.print(table)
    for s in report.sources:
        if s.error:
            console.print(f"[red]failed[/red] {s.error}", markup=True, highlight=False)
        for w in s.warnings:
            console.print(f"[yellow]warning[/yellow] {s.slug}: {s.url}: {w}", highlight=False)
        for o in s.outcomes:
            if o.kind is OutcomeKind.FAILED:
                console.print(
                    f"[red]item failed[/red] {s.slug}: {o.url}: {o.reason}: {o.detail}",
                    highlight=False,
                )


@dataclass(frozen=True, slots=True)
class SourceStatus:
    slug: str
    name: str
    url: str
    last_success: datetime | None
    last_new: datetime | None
    last_error: str
    failures: int
    items_24h: int
    total: int


def gather_status(
    store: Store, sources: list[tuple[str, str, str]], now: datetime
) -> list[SourceStatus]:
    """Health of each configured (slug, name, url) source from the index."""
    recent = store.items_since(now - timedelta(hours=24))
    out = []
    for slug, name, url in sources:
        h: FeedHealth | None = store.feed(slug)
        out.append(
            SourceStatus(
                slug=slug,
                name=name,
                url=url,
                last_success=h.last_success if h else None,
                last_new=h.last_new if h else None,
                last_error=h.last_error if h and h.failures else "",
                failures=h.failures if h else 0,
                items_24h=recent.get(slug, 0),
                total=store.count(source=slug),
            )
        )
    return out


def status_json(rows: list[SourceStatus]) -> str:
    return json.dumps(
        [
            {
                "slug": r.slug,
                "name": r.name,
                "url": r.url,
                "last_success": ts(r.last_success),
                "last_new": ts(r.last_new),
                "last_error": r.last_error,
                "failures_in_row": r.failures,
                "items_24h": r.items_24h,
                "articles": r.total,
            }
            for r in rows
        ],  # fmt: skip
        ensure_ascii=False,
        indent=2,
    )


def print_status(rows: list[SourceStatus], console: Console) -> None:
    table = Table(title="newsmirror status")
    for col in ("source", "last success", "last new", "failures in a row", "items 24h",
                "articles", "last error"):  # fmt: skip
        table.add_column(col, justify="right" if col in ("items 24h", "articles") else "left")
    for r in rows:
        table.add_row(
            r.slug,
            ts(r.last_success) or "never",
            ts(r.last_new) or "never",
            str(r.failures),
            str(r.items_24h),
            str(r.total),
            r.last_error,
            style="red" if r.failures else None,
        )
    console.print(table)
