"""Module-level regular expressions compiled at their first use.

Compiling is most of the import time of the modules that keep dozens of patterns
(post files, text diffs), and most commands use few of them: a run whose feeds are
all unchanged uses none. ``_X = lazy_re(r"…")`` costs nothing at import; the
first use compiles the pattern and puts the compiled one in the module's place of
the name, so later uses in that module are plain ``re.Pattern`` calls. A reference
taken before that (``from m import _X``) keeps working through the stand-in.
"""

from __future__ import annotations

import re
import sys
from typing import Any, cast

__all__ = ["lazy_re"]


class _LazyPattern:
    __slots__ = ("_args", "_home", "_compiled")

    def __init__(self, pattern: str, flags: int, home: dict[str, Any]) -> None:
        self._args = (pattern, flags)
        self._home = home
        self._compiled: re.Pattern[str] | None = None

    def _compile(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
            for name, value in list(self._home.items()):
                if value is self:
                    self._home[name] = compiled
        return compiled

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compile(), name)

    def __repr__(self) -> str:
        return f"lazy_re({self._args[0]!r}, {self._args[1]!r})"


def lazy_re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, done when the pattern is first used (see above).
    Meant for module-level names only: the caller's module globals are where it goes."""
    home = sys._getframe(1).f_globals
    return cast("re.Pattern[str]", _LazyPattern(pattern, flags, home))
