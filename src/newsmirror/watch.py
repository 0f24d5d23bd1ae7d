"""``newsmirror watch``: the long-running form of ``run`` and ``publish``.

A cycle is one ingest run, then (optionally) a publish. Cycles start every
``every`` seconds plus a random jitter, one at a time: a cycle that overruns
its slot makes the next start at once, never two at once (and the mirror's
lock keeps other processes out). A failing cycle is logged in one line and
the loop goes on.

SIGTERM and SIGINT stop the loop cleanly: a run in progress is cancelled at
its next safe point — the pipeline writes each source in one synchronous
step (one index transaction, atomic file writes), so cancellation lands
between two sources' writes, never inside one — a publish in progress is
finished (a rebase must not be cut short), the lock is released and the
process exits 0.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError
from .models import OutcomeKind, RunReport

Log = Callable[[str], None]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


def parse_interval(text: str, *, allow_zero: bool = False) -> float:
    """``30m``, ``1h30m``, ``90s``, ``2h``, ``1d`` or plain seconds → seconds (> 0)."""
    t = text.strip().lower()
    try:
        seconds = float(t)
    except ValueError:
        parts = _PART.findall(t)
        if not parts or _PART.sub("", t).strip():
            raise ValueError(f"not an interval: {text!r} (use e.g. 30m, 1h, 90s)") from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"interval must be longer than 0: {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class WatchSettings:
    every: float = 1800.0  # seconds between the starts of two cycles
    jitter: float | None = None  # extra random wait; None: 10 % of every, at most 5 min
    publish: bool = True
    max_runs: int = 0  # stop after this many cycles; 0 = never

    @property
    def max_jitter(self) -> float:
        return min(self.every * 0.1, 300.0) if self.jitter is None else max(0.0, self.jitter)


def summarize(report: RunReport) -> str:
    """One line for the log: counts, failed sources, duration."""
    counts = ", ".join(f"{report.total(k)} {k.value}" for k in (OutcomeKind.NEW,
                       OutcomeKind.UPDATED, OutcomeKind.FAILED))  # fmt: skip
    failed = [s.slug for s in report.sources if s.failed]
    secs = (report.finished - report.started).total_seconds()
    tail = f"; sources failed: {', '.join(failed)}" if failed else ""
    return f"{len(report.sources)} sources, {counts} in {secs:.1f} s{tail}"


class Watcher:
    """Runs ``run`` (cancellable) and then ``after`` (not cancellable, in a
    thread) on a schedule until :meth:`stop` or ``max_runs``."""

    def __init__(
        self,
        run: Callable[[], Awaitable[str]],
        settings: WatchSettings,
        *,
        after: Callable[[], str] | None = None,
        log: Log = print,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run = run
        self._after = after
        self.settings = settings
        self.log = log
        self.rng = rng or random.Random()
        self.clock = clock
        self.runs = 0
        self.failures = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[str] | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, why: str = "") -> None:
        """Stop after the current write (callable from a signal handler)."""
        if not self._stop.is_set():
            self.log(f"stopping{f' ({why})' if why else ''}: finishing the current write")
        self._stop.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def serve(self) -> int:
        """Run cycles until stopped; return how many were started."""
        next_at = self.clock()  # the first cycle starts at once
        while not self._stop.is_set():
            wait = next_at - self.clock()
            if wait > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=wait)
                    break  # stopped while waiting
                except TimeoutError:
                    pass
            slot = self.clock()
            await self._cycle()
            if self.settings.max_runs and self.runs >= self.settings.max_runs:
                break
            jitter = self.rng.uniform(0, self.settings.max_jitter)
            next_at = max(slot + self.settings.every + jitter, self.clock())
            if not self._stop.is_set():
                at = datetime.now(UTC).timestamp() + (next_at - self.clock())
                self.log(f"next run at {datetime.fromtimestamp(at, UTC):%H:%M:%S} UTC")
        return self.runs

    async def _cycle(self) -> None:
        self.runs += 1
        n = self.runs
        self._task = asyncio.ensure_future(self._run())
        try:
            summary = await self._task
        except asyncio.CancelledError:
            if not self._stop.is_set():
                raise
            self.log(f"run {n}: stopped between two writes; the next run finishes the work")
            return
        except Exception as e:  # one run's failure never ends the watch
            self.failures += 1
            self.log(f"run {n} failed: {_one_line(e)}")
            return
        finally:
            self._task = None
        self.log(f"run {n}: {summary}")
        if self._after is None or self._stop.is_set():
            return
        try:
            self.log(f"run {n}: {await asyncio.to_thread(self._after)}")
        except Exception as e:
            self.failures += 1
            self.log(f"run {n}: publish failed: {_one_line(e)}")


def _one_line(e: BaseException) -> str:
    from .publish import redact

    text = " ".join(str(e).split()) or type(e).__name__
    return redact(text)


def config_cycle(
    config_path: Path, *, publish: bool, log: Log
) -> tuple[Callable[[], Awaitable[str]], Callable[[], str] | None]:
    """The run and publish steps of a watch over the mirror at ``config_path``.

    The configuration is read again before every run, so edits take effect
    without a restart; an invalid edit is logged and the last good one used."""
    from .config import Config, load_config
    from .pipeline import run_async
    from .publish import PublishSettings
    from .publish import publish as do_publish

    last: list[Config] = []

    def current() -> Config:
        try:
            cfg = load_config(config_path)
        except ConfigError as e:
            if not last:
                raise
            log(f"configuration invalid, using the last good one: {_one_line(e)}")
            return last[0]
        last[:] = [cfg]
        return cfg

    async def run_once() -> str:
        return summarize(await run_async(current()))

    def publish_once() -> str:
        cfg = last[0]
        settings = getattr(cfg, "publish", None) or PublishSettings()
        r = do_publish(cfg.root, settings, posts_dir=cfg.mirror.posts_dir)
        if not r.commit:
            return "published: nothing changed"
        where = ", ".join(r.pushed) or "no remote needed it"
        return f"published {r.commit[:10]} to {where}: {r.message.splitlines()[0]}"

    return run_once, (publish_once if publish else None)


def watch(config_path: Path, settings: WatchSettings, *, log: Log = print) -> Watcher:
    """Watch the mirror at ``config_path`` until SIGTERM/SIGINT (or ``max_runs``).
    Must run in the main thread (it installs the signal handlers)."""
    run_once, after = config_cycle(config_path, publish=settings.publish, log=log)

    async def main() -> Watcher:
        watcher = Watcher(run_once, settings, after=after, log=log)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, watcher.stop, signal.Signals(sig).name)
        try:
            await watcher.serve()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return watcher

    return asyncio.run(main())
