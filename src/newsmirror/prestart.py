"""The helper process a build waits for first, started before the build imports
its own modules: in a first build the maker of the Han table (``site_text``),
else the search indexer (``site_search``).

Importing the site's modules takes the build's process about 0.2 s, and a
helper's own start (Python, then OpenCC's dictionaries or numpy) about as long.
Started first, it starts on the other core meanwhile instead of after it (full
builds of the 10k bench, 18 alternating pairs: 4.45 s → 4.29 s on average, the
difference ±0.09 s). This module imports nothing of the build's for that reason.

A helper is taken (``take_han``, ``take_indexer``) by the code that talks to it,
in whichever process needs it first (the Han table is made for the row reader's
forked child).
``reap`` stops a helper nobody took and reaps those that ended.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from pathlib import Path

INDEXER = (sys.executable, "-m", "newsmirror.search_index")
HAN = (sys.executable, "-m", "newsmirror.han")

Indexer = tuple[subprocess.Popen[bytes], socket.socket]  # the process, the build's socket

_han: subprocess.Popen[bytes] | None = None  # started here and not taken yet
_indexer: Indexer | None = None  # started here and not taken yet
_procs: list[subprocess.Popen[bytes]] = []  # every helper started here, taken or not


def start_indexer(command: tuple[str, ...] = INDEXER) -> Indexer:
    """The indexing process and the build's end of its socket (the process gets the
    other end's number as its argument)."""
    ours, theirs = socket.socketpair()
    try:
        proc = subprocess.Popen([*command, str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                                stdin=subprocess.DEVNULL)  # fmt: skip
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return proc, ours


def start_han() -> subprocess.Popen[bytes]:
    """The process that writes the Han table (``python -m newsmirror.han``)."""
    return subprocess.Popen(HAN, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def start(*, search: bool, manifest: Path) -> None:
    """Start the helper a build of these settings waits for first: in a first build
    (no ``manifest`` yet, so no Han table kept) the Han table's maker, whose table
    every page's language needs (the indexer is started later: both at once would
    share the other core); else the indexer, when the site has ``search``. A helper
    that fails to start is started again by its user, which then reports the failure
    as it does without this."""
    global _han, _indexer
    with contextlib.suppress(OSError):
        if not manifest.exists():
            if _han is None:
                _han = start_han()
                _procs.append(_han)
        elif search and _indexer is None:
            _indexer = start_indexer()
            _procs.append(_indexer[0])


def take_han() -> subprocess.Popen[bytes] | None:
    """The Han table's maker started here (``start``) and not taken yet, else None."""
    global _han
    got, _han = _han, None
    return got


def take_indexer() -> Indexer | None:
    """The indexer started here (``start``) and not taken yet, else None."""
    global _indexer
    got, _indexer = _indexer, None
    return got


def forget() -> None:
    """In a forked child: the build's helpers are its parent's (the sockets are
    closed here, so that a helper sees its build end when the build does)."""
    got = take_indexer()
    if got is not None:
        got[1].close()
    _procs.clear()


def reap() -> None:
    """Stop the helpers nobody took and reap every helper that has ended (the
    indexer ends when its build tells it; the Han table's maker when its table
    was read, by whichever process took it)."""
    han, indexer = take_han(), take_indexer()
    for proc in (han, indexer[0] if indexer else None):
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.kill()
    if indexer is not None:
        indexer[1].close()
    for proc in list(_procs):
        if proc.poll() is not None:
            _procs.remove(proc)
