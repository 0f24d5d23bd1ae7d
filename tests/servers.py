"""Throwaway PostgreSQL and Redis servers on loopback for the distributed tests, and
``newsmirror worker`` processes (tests and ``bench/distributed.py``).

Each is started once per test session from Debian's packages (``.ci/run``
installs them), in a temporary folder, on a free 127.0.0.1 port, and stopped
at the end. When a binary is missing the tests that need it skip, naming it.
PostgreSQL refuses to run as root: as root its cluster belongs to ``nobody``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path | None:
    """The folder of initdb/pg_ctl (PATH first, then Debian's versioned folders)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _wait_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g}s")


class Postgres:
    """A cluster in a temporary folder; ``database()`` makes a fresh database."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="nm-pg-"))
        self.data = self.dir / "data"
        self.user: str | None = "nobody" if os.geteuid() == 0 else None

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.user, "--"] if self.user else []) + list(args)

    def start(self) -> Postgres:
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        subprocess.run(
            self._cmd(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"),
            check=True, capture_output=True, cwd=self.dir,
        )  # fmt: skip
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
            " -c full_page_writes=off -c synchronous_commit=off -c max_connections=60"
        )
        subprocess.run(
            self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-w",
                      "-l", str(self.dir / "log"), "start"),
            check=True, capture_output=True, cwd=self.dir,
        )  # fmt: skip
        _wait_port(self.port)
        return self

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True, cwd=self.dir,
        )  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_port(self.port)
        return self

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def postgres_server() -> Iterator[Postgres | str]:
    """Yields a running Postgres, or the reason there is none."""
    bin_dir = pg_bin()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield "psycopg is not installed (pip install -e '.[dist]')"
        return
    if bin_dir is None:
        yield "PostgreSQL is not installed (initdb/pg_ctl; apt-get install postgresql)"
        return
    pg = Postgres(bin_dir).start()
    try:
        yield pg
    finally:
        pg.stop()


def redis_server() -> Iterator[Redis | str]:
    binary = shutil.which("redis-server")
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        yield "celery/redis are not installed (pip install -e '.[dist]')"
        return
    if binary is None:
        yield "redis-server is not installed (apt-get install redis-server)"
        return
    r = Redis(binary).start()
    try:
        yield r
    finally:
        r.stop()


SRC = str(Path(__file__).resolve().parents[1] / "src")


class Workers:
    """``newsmirror worker`` processes of this checkout, each in its own process group."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        base = dict(os.environ if env is None else env)
        self.env = {**base, "PYTHONPATH": SRC + os.pathsep + base.get("PYTHONPATH", "")}
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, n: int, *, concurrency: int = 1, ready_within: float = 60) -> None:
        for _ in range(n):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "newsmirror", "worker", "--config", str(self.config),
                     "--concurrency", str(concurrency)],
                    env=self.env, start_new_session=True, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        self.wait_ready(len(self.procs), ready_within)

    def wait_ready(self, n: int, seconds: float = 60) -> None:
        """Until ``n`` workers answer a ping; RuntimeError when one exits or time is up."""
        from newsmirror.config import load_config
        from newsmirror.dist_tasks import configure

        app = configure(load_config(self.config).engine)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(app.control.ping(timeout=0.5) or []) >= n:
                return
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError("a worker exited at start")
        raise RuntimeError(f"{n} workers did not answer within {seconds:g}s")

    def kill(self, i: int) -> None:
        """SIGKILL worker ``i`` and its pool processes: a machine that vanished."""
        os.killpg(self.procs[i].pid, signal.SIGKILL)
        self.procs[i].wait()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
