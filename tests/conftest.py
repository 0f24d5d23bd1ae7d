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


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[object]:
    from .servers import postgres_server

    yield from postgres_server()


@pytest.fixture
def postgres_url(postgres_cluster: object) -> str:
    """A fresh, empty database on the session's throwaway PostgreSQL server."""
    if isinstance(postgres_cluster, str):
        pytest.skip(postgres_cluster)
    return postgres_cluster.database()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def redis_session() -> Iterator[object]:
    from .servers import redis_server

    yield from redis_server()


@pytest.fixture
def redis_url(redis_session: object) -> str:
    """The session's throwaway Redis server, emptied for this test."""
    if isinstance(redis_session, str):
        pytest.skip(redis_session)
    redis_session.flush()  # type: ignore[attr-defined]
    return redis_session.url  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives, for each backend: a SQLite file or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "index.sqlite")
    return request.getfixturevalue("postgres_url")
