from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsmirror.loopback import LoopbackServer


def corpus_path() -> Path:
    env = os.environ.get("NEWSMIRROR_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.fixture
def corpus() -> Path:
    path = corpus_path()
    if not path.is_dir():
        pytest.skip(f"real-world corpus not found at {path}")
    return path


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests touch no internet: name lookups of anything but loopback fail at once
    (in this process; subprocesses are given loopback-only configurations)."""
    import ipaddress
    import socket

    real = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            local = ipaddress.ip_address(name.strip("[]")).is_loopback
        except ValueError:
            local = name in ("localhost", "localhost.localdomain")
        if not local:
            raise socket.gaierror(socket.EAI_NONAME, f"tests touch no internet ({name})")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
