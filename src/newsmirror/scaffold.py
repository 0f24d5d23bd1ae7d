"""``newsmirror init``: the Jekyll site around the posts.

The files come from ``templates/mirror/`` inside the package. A path part
starting with ``dot-`` is written with a leading ``.`` instead (dot files are
not reliably shipped as package data, and a ``.gitignore`` there would act on
this repository); a name ending in ``.j2`` is rendered with Jinja2 using
``<< >>`` / ``<% %>`` delimiters, so the Liquid ``{{ }}`` of the layouts and
the ``${{ }}`` of the workflow pass through untouched. Everything else is
copied byte for byte.

Writes are atomic (temporary file in the same folder, then a rename) and never
replace an existing file unless ``force`` is given.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
import zoneinfo
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2

from .errors import ConfigError, NewsmirrorError

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_TIMEZONE",
    "DEFAULT_TITLE",
    "init_mirror",
    "jekyll_available",
    "jekyll_env",
    "render_scaffold",
]

CONFIG_NAME = "newsmirror.toml"
DEFAULT_TITLE = "newsmirror"
DEFAULT_DESCRIPTION = "新聞鏡像 · a newsmirror mirror"
# UTC+8 without daylight saving; the POSIX sign of Etc/ names is inverted.
DEFAULT_TIMEZONE = "Etc/GMT-8"
DEFAULT_LANG = "zh"

_DOT_PREFIX = "dot-"
_TEMPLATE_SUFFIX = ".j2"


def _yaml_str(value: object) -> str:
    """A YAML double-quoted scalar for any string (JSON strings are valid YAML)."""
    return json.dumps(str(value), ensure_ascii=False)


@functools.cache
def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        variable_start_string="<<",
        variable_end_string=">>",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["yaml_str"] = _yaml_str
    return env


def _template_root() -> Traversable:
    return resources.files("newsmirror").joinpath("templates", "mirror")


def _walk(
    node: Traversable, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], bytes]]:
    for child in sorted(node.iterdir(), key=lambda t: t.name):
        if child.name in {"__pycache__", ".DS_Store"}:
            continue
        parts = (*prefix, child.name)
        if child.is_dir():
            yield from _walk(child, parts)
        else:
            yield parts, child.read_bytes()


def _target_name(parts: tuple[str, ...]) -> str:
    out = ["." + p[len(_DOT_PREFIX) :] if p.startswith(_DOT_PREFIX) else p for p in parts]
    if out[-1].endswith(_TEMPLATE_SUFFIX):
        out[-1] = out[-1][: -len(_TEMPLATE_SUFFIX)]
    return "/".join(out)


def _check_timezone(timezone: str) -> None:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
        raise ConfigError(f"timezone: unknown time zone {timezone!r} (use an IANA name)") from exc


def render_scaffold(
    *,
    config_text: str,
    title: str = DEFAULT_TITLE,
    description: str = DEFAULT_DESCRIPTION,
    timezone: str = DEFAULT_TIMEZONE,
    lang: str = DEFAULT_LANG,
) -> dict[str, bytes]:
    """Every file of a new mirror: relative POSIX path → content. Pure (reads only templates).

    ``newsmirror.toml`` comes last, so a mirror that has it was initialised fully.
    """
    _check_timezone(timezone)
    values = {"title": title, "description": description, "timezone": timezone, "lang": lang}
    files: dict[str, bytes] = {}
    for parts, data in _walk(_template_root()):
        name = _target_name(parts)
        if parts[-1].endswith(_TEMPLATE_SUFFIX):
            text = _jinja().from_string(data.decode("utf-8")).render(values)
            data = text.encode("utf-8")
        files[name] = data
    files[CONFIG_NAME] = config_text.encode("utf-8")
    return files


def _write_atomic(path: Path, data: bytes, *, force: bool) -> bool:
    """Write ``data`` to ``path`` via a temporary file; False when an existing file was kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        if force:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # atomic and never replaces: fails when path exists
        except FileExistsError:
            return False
        except OSError:  # file system without hard links
            if path.exists() or path.is_symlink():
                return False
            os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def init_mirror(
    root: Path,
    *,
    config_text: str,
    force: bool = False,
    title: str = DEFAULT_TITLE,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[Path]:
    """Write a ready mirror into ``root`` (created if missing); return the files written.

    Existing files are kept and not listed unless ``force``; with ``force`` a
    file whose content is already the same is not rewritten (nor listed).
    Raises ConfigError for an unknown time zone and NewsmirrorError (reason
    ``init``) when a file cannot be written.
    """
    files = render_scaffold(config_text=config_text, title=title, timezone=timezone)
    root = Path(root)
    written: list[Path] = []
    for name, data in files.items():
        path = root.joinpath(*name.split("/"))
        try:
            if force and path.is_file() and path.read_bytes() == data:
                continue
            if _write_atomic(path, data, force=force):
                written.append(path)
        except OSError as exc:
            raise NewsmirrorError(
                f"cannot write {path}: {exc.strerror or exc}", reason="init"
            ) from exc
    return written


def jekyll_env() -> dict[str, str]:
    """Environment for running ``jekyll`` in a mirror without Bundler.

    A mirror has a ``Gemfile``; Jekyll then calls ``Bundler.setup``, which fails
    (or writes a ``Gemfile.lock``) with a system Jekyll such as Debian's.
    """
    return {**os.environ, "JEKYLL_NO_BUNDLER_REQUIRE": "true"}


@functools.cache
def jekyll_available() -> bool:
    """True when a working ``jekyll`` command is on PATH (checked once per process)."""
    exe = shutil.which("jekyll")
    if exe is None:
        return False
    try:
        proc = subprocess.run(
            [exe, "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            env=jekyll_env(),
            cwd=tempfile.gettempdir(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.lower().startswith("jekyll")
