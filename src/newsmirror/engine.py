"""``[engine]``: who does a run's fetch and extract work.

``embedded`` (the default) runs everything in the ``newsmirror run`` process.
``celery`` hands per-source fetch tasks and per-item page tasks to Celery
workers (``newsmirror worker``) through a Redis broker; the run still writes
everything itself (see ``dist_run``). Celery is imported only when used.
"""

from __future__ import annotations

from dataclasses import dataclass

ENGINE_KINDS = ("embedded", "celery")
FETCH_QUEUE = "newsmirror.fetch"
EXTRACT_QUEUE = "newsmirror.extract"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """``[engine]`` in newsmirror.toml."""

    kind: str = "embedded"
    broker: str = ""  # redis://host:port/db
    task_time_limit: int = 300  # hard limit per task, seconds (the soft one is 30 s less)
    visibility_timeout: int = 3600  # a vanished worker's task is redelivered after this

    @property
    def distributed(self) -> bool:
        return self.kind == "celery"
