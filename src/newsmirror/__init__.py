"""newsmirror: durable, readable mirrors of news sources."""

import sys

__version__ = "0.1.0"

# httpx imports its command-line tool at import time when click, rich and pygments
# are installed (they are: Typer and Rich are ours), which is about a quarter of
# what a run that finds nothing new costs. newsmirror never calls ``httpx.main``:
# marking the module missing makes httpx fall back to its stub.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
