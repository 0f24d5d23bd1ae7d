"""The pipeline's values as JSON, for Celery messages (``dist_tasks``).

Tasks and results carry newsmirror's frozen dataclasses (Source, FeedState,
FetchSettings, Prepared, Article, ItemOutcome…), datetimes, bytes, tuples and
errors. ``encode`` turns them into JSON-ready values and ``decode`` back.
Decoding builds only dataclasses and enums of the few newsmirror modules
whose values travel (models, article, resolve, pipeline, fetch, settings, dist_tasks)
and the error family: a message cannot make a worker run code, which
is why the broker speaks JSON and not pickle.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import importlib
from datetime import datetime
from typing import Any

from . import errors

_PACKAGE = __name__.rpartition(".")[0]
# The modules whose values travel between the run and its workers.
_MODULES = frozenset(
    f"{_PACKAGE}.{m}"
    for m in ("models", "article", "resolve", "pipeline", "fetch", "settings", "dist_tasks")
)


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _lookup(name: str) -> Any:
    module, _, qualname = name.partition(":")
    if module not in _MODULES:
        raise ValueError(f"refusing to decode a value of {name!r}")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def encode(o: Any) -> Any:
    """A JSON-ready form of ``o``."""
    if isinstance(o, enum.Enum):  # before str: StrEnum members are strings
        return {"~e": _name(type(o)), "v": o.value}
    if o is None or isinstance(o, bool | int | float | str):
        return o
    if isinstance(o, datetime):
        return {"~d": o.isoformat()}
    if isinstance(o, bytes):
        return {"~b": base64.b64encode(o).decode("ascii")}
    if isinstance(o, tuple):
        return {"~t": [encode(x) for x in o]}
    if isinstance(o, list):
        return [encode(x) for x in o]
    if isinstance(o, dict):
        return {"~m": [[encode(k), encode(v)] for k, v in o.items()]}
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        fields = {f.name: encode(getattr(o, f.name)) for f in dataclasses.fields(o) if f.init}
        return {"~c": _name(type(o)), "f": fields}
    if isinstance(o, errors.NewsmirrorError):
        return {"~x": o.message, "source": o.source, "url": o.url, "reason": o.reason}
    raise TypeError(f"cannot send a {type(o).__name__} to a worker")


def decode(o: Any) -> Any:
    """The value that ``encode`` was given (errors come back as NewsmirrorError
    with the same message, source, URL and reason)."""
    if isinstance(o, list):
        return [decode(x) for x in o]
    if not isinstance(o, dict):
        return o
    if "~t" in o:
        return tuple(decode(x) for x in o["~t"])
    if "~d" in o:
        return datetime.fromisoformat(o["~d"])
    if "~b" in o:
        return base64.b64decode(o["~b"])
    if "~m" in o:
        return {decode(k): decode(v) for k, v in o["~m"]}
    if "~e" in o:
        cls = _lookup(o["~e"])
        if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
            raise ValueError(f"not an enum: {o['~e']!r}")
        return cls(o["v"])
    if "~c" in o:
        cls = _lookup(o["~c"])
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"not a dataclass: {o['~c']!r}")
        return cls(**{k: decode(v) for k, v in o["f"].items()})
    if "~x" in o:
        return errors.NewsmirrorError(o["~x"], source=o["source"], url=o["url"], reason=o["reason"])
    raise ValueError(f"unknown value on the wire: {sorted(o)!r}")


__all__ = ["encode", "decode"]
