"""A fast, exact reader for the front matter newsmirror writes itself.

``postfile.render_post`` emits one fixed layout: the classic keys in a fixed order
(``layout``, ``title``, ``date``, ``author``, ``from``, ``tags``, ``comments``,
``categories``), then the extra keys, each at most once and in a fixed order, every
value on its own line in one of a few shapes: a double-quoted scalar with the
escapes ``yaml_quote`` writes, a plain scalar ``yaml_scalar`` allows, a flow list
of those, a millisecond UTC time, a decimal integer, or a fixed word.

:func:`read_block` reads exactly that layout and nothing else: any other line,
key, order, spelling or escape gives ``None``, and the caller falls back to PyYAML
(hand-edited and legacy posts). For every block it accepts, :func:`as_yaml` of its
answer equals what PyYAML loads from the same text (the tests hold it to that over
the corpus and over generated posts), so using it never changes what a post says.

The answer keeps times as their text (``2023-01-11T07:04:03.000Z``, checked to be a
real instant), which is already the index's stored form: ``reindex`` needs no
``datetime`` for an ordinary post.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

Raw = dict[str, Any]  # str | tuple[str, ...] | int | bool values; times as text

# The whole layout as one pattern (its values checked one by one afterwards): the
# classic keys in their order, then each extra key at most once, in its order.
_DQ_V, _ANY_V = r'"([^\n]*)"', r"([^\n]*)"
_TIME_V = r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)"
_LIST_V = r"\[ ([^\n]*) \]"
_SHAPES = {"dq": _DQ_V, "scalar": _ANY_V, "time": _TIME_V, "list": _LIST_V,
           "int": r"(0|-?[1-9][0-9]*)", "post": "(post)", "True": "(True)", "true": "(true)"}  # fmt: skip
_HEAD = (
    ("layout", "post"), ("title", "dq"), ("date", "time"), ("author", "scalar"),
    ("from", "scalar"), ("tags", "list"), ("comments", "True"), ("categories", "list"),
)  # fmt: skip
_EXTRAS = (
    ("source", "scalar"), ("guid", "dq"), ("key", "dq"), ("hash", "dq"), ("fetched", "time"),
    ("origin", "scalar"), ("revision", "int"), ("first_seen", "time"), ("changed", "time"),
    ("updated", "time"), ("feed_categories", "list"), ("authors", "list"),
    ("deleted", "time"), ("deletions", "list"), ("liquid_escaped", "true"),
)  # fmt: skip
_REQUIRED = frozenset({k for k, _ in _HEAD} | {"fetched"})


def _line(key: str, shape: str, shapes: dict[str, str]) -> str:
    pattern = f"{key}: " + shapes[shape].replace("(", f"(?P<{key}>", 1) + "\n"
    return pattern if key in _REQUIRED else f"(?:{pattern})?"


_LAYOUT = re.compile("".join(_line(k, shape, _SHAPES) for k, shape in (*_HEAD, *_EXTRAS)))
# The usual case, matched first: double-quoted values without escapes or characters
# yaml_quote would escape (so they need no further check).
_CLEAN_DQ = r'"([^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]*)"'
_CLEAN = re.compile(
    "".join(_line(k, shape, _SHAPES | {"dq": _CLEAN_DQ}) for k, shape in (*_HEAD, *_EXTRAS))
)
_KEYS = tuple((k, shape) for k, shape in (*_HEAD, *_EXTRAS))

# Double-quoted: raw characters yaml_quote never leaves raw are refused, and only the
# escapes it writes are read (\uD800-\uDFFF never: lone surrogates are not text).
_DQ_RAW_BAD = re.compile(r'["\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')
_ESC = re.compile(r'\\(?:x([0-9A-Fa-f]{2})|u(?![dD][89a-fA-F])([0-9A-Fa-f]{4})|(["\\ntr0NLP]))')
_DQ_ITEM = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESC_CHAR = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "0": "\x00"}
_ESC_CHAR |= {"N": "\x85", "L": "\u2028", "P": "\u2029"}

# Plain: the same conservative rules as postfile._plain_ok's checks before it asks
# PyYAML (anything PyYAML could read as another type or another string is refused).
_PLAIN_BAD_START = frozenset("-?:,[]{}#&*!|>'\"%@`=<~+.0123456789")
# (control characters; ": ", " #" and a last ":" or space are checked as strings: one
# character class is searched much faster than an alternation)
_PLAIN_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_FLOW_BAD = re.compile(r"[,\[\]{}:?]")
_YAML_WORDS = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n"})


def _unescape(m: re.Match[str]) -> str:
    hx, uni, ch = m.groups()
    if ch is not None:
        return _ESC_CHAR[ch]
    return chr(int(hx or uni, 16))


def _dq_inner(inner: str) -> str | None:
    """The text of a double-quoted scalar's inside, when written as yaml_quote does."""
    if _DQ_RAW_BAD.search(inner) is None:
        return inner
    if _DQ_RAW_BAD.search(_ESC.sub("", inner)) is not None:
        return None  # a raw quote or control character, or an escape yaml_quote never writes
    return _ESC.sub(_unescape, inner)


def plain_ok(s: str, *, flow: bool = False) -> bool:
    """True when ``s`` written plain reads back as the string ``s`` (conservative)."""
    if flow:
        return _plain_flow_ok(s)
    return _plain_ok(s, False)


@lru_cache(maxsize=4096)
def _plain_flow_ok(s: str) -> bool:  # names, categories: few distinct values
    return _plain_ok(s, True)


def _plain_ok(s: str, flow: bool) -> bool:
    return not (
        not s
        or s[0] in _PLAIN_BAD_START
        or s[0].isspace()
        or s[-1].isspace()
        or s[-1] == ":"
        or ": " in s
        or " #" in s
        or s.lower() in _YAML_WORDS
        or _PLAIN_BAD.search(s)
        or (flow and _FLOW_BAD.search(s))
    )


def _scalar(v: str) -> str | None:
    if v[:1] == '"':
        return _dq_inner(v[1:-1]) if len(v) >= 2 and v[-1] == '"' else None
    return v if plain_ok(v) else None


def _list(inner: str) -> tuple[str, ...] | None:
    """The items of a flow list ``[ a, "b" ]`` from its inside ``a, "b"``."""
    items, i, n = [], 0, len(inner)
    if not inner:
        return ()
    while True:
        if inner[i : i + 1] == '"':
            m = _DQ_ITEM.match(inner, i)
            if m is None:
                return None
            item = _dq_inner(m.group(1))
            if item is None:
                return None
            items.append(item)
            i = m.end()
        else:
            j = inner.find(", ", i)
            j = n if j < 0 else j
            item = inner[i:j]
            if not plain_ok(item, flow=True):
                return None
            items.append(item)
            i = j
        if i == n:
            return tuple(items)
        if inner[i : i + 2] != ", ":
            return None
        i += 2


def _real_time(v: str) -> str | None:
    if v[:4] == "0000":
        return None
    try:
        datetime.fromisoformat(v[:-1])
    except ValueError:
        return None
    return v


def read_block(block: str) -> Raw | None:
    """The values of a front-matter block (the text between the ``---`` lines,
    with its last newline) in exactly the layout newsmirror writes; None for
    anything else."""
    values = read_values(block)
    if values is None:
        return None
    return {k: v for k, v in zip(KEYS, values, strict=True) if v is not None}


def read_values(block: str) -> list[Any] | None:
    """``read_block``'s answer as a list in ``KEYS`` order, None for each key the
    block does not have (no dictionary: ``reindex`` reads 100,000 of them)."""
    plan = _CLEAN_PLAN
    m = _CLEAN.fullmatch(block)
    if m is None:
        plan = _PLAN
        m = _LAYOUT.fullmatch(block)
        if m is None:
            return None
    values = list(m.groups())
    for i, check in plan:
        v = values[i]
        if v is not None:
            v = check(v)
            if v is None:
                return None
            values[i] = v
    return values


def _int(v: str) -> int:
    return int(v)


def _true(v: str) -> bool:
    return True


# Names, sources and category lists repeat from post to post: their checks are cached.
_CHECK_OF: dict[str, Callable[[str], Any] | None] = {
    "dq": _dq_inner, "scalar": lru_cache(maxsize=4096)(_scalar),
    "list": lru_cache(maxsize=4096)(_list), "time": _real_time, "int": _int, "post": None,
    "True": _true, "true": _true,
}  # fmt: skip
_CHECKS = tuple(
    (k, _scalar if k == "from" else _CHECK_OF[shape]) for k, shape in _KEYS
)  # links are all different
_CLEAN_CHECKS = tuple(
    (k, None if shape == "dq" else c) for (k, c), (_, shape) in zip(_CHECKS, _KEYS, strict=True)
)
# (index, check) of the values that are checked, for each pattern
_PLAN = tuple((i, c) for i, (_, c) in enumerate(_CHECKS) if c is not None)
_CLEAN_PLAN = tuple((i, c) for i, (_, c) in enumerate(_CLEAN_CHECKS) if c is not None)
KEYS = tuple(k for k, _ in _KEYS)  # the keys of the layout, in its order


def split_post(text: str) -> tuple[Raw, str] | None:
    """(front-matter values, body) of a post in newsmirror's own layout, else None.
    The body starts where ``postfile_record.parse_post``'s does."""
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)
    if end < 0:
        return None
    raw = read_block(text[4 : end + 1])
    if raw is None:
        return None
    return raw, text[end + 5 :]


def _instant(v: str) -> datetime:
    return datetime.fromisoformat(v[:-1]).replace(tzinfo=UTC)


def as_yaml(raw: Raw) -> dict[str, Any]:
    """``raw`` with the types PyYAML gives the same text: times as aware datetimes,
    lists as lists."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if isinstance(v, tuple):
            out[k] = list(v)
        elif isinstance(v, str) and _TIME_KEYS.get(k):
            out[k] = _instant(v)
        else:
            out[k] = v
    return out


_TIME_KEYS = {k: True for k, shape in _KEYS if shape == "time"}

__all__ = ["KEYS", "Raw", "as_yaml", "plain_ok", "read_block", "read_values", "split_post"]
