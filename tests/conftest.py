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
