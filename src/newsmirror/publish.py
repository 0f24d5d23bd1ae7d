"""``newsmirror publish``: commit the mirror and push it to its git remotes.

- Everything under the mirror's root is staged (``.newsmirror/``, the index
  and lock, never is); no commit is made when nothing changed. The message
  names the run's counts per source (read from the staged post files) and the
  time.
- Each remote is fetched first; when another runner pushed meanwhile, this
  run's commits are rebased onto it and the push is retried. Never a force
  push, never a merge commit: history stays linear. A conflict is settled in
  favour of keeping content: this run's version of a file where it has one,
  the other runner's where this run deleted it (no article is dropped).
- Credentials come from git's own helpers, ``GIT_ASKPASS``, the checkout's
  configuration (GitHub Actions) or ``NEWSMIRROR_GIT_TOKEN`` (an HTTPS token
  handed to git through a credential helper that reads the environment, so
  it is never on a command line). Everything git prints passes
  :func:`redact` before it reaches an error, a log or the terminal.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import NewsmirrorError
from .fsutil import MirrorLock
from .settings import TOKEN_ENV as TOKEN_ENV
from .settings import PublishSettings as PublishSettings

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")
_AUTH_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization:\s*(?:\w+\s+)?)\S+")
_SECRET_NAME = re.compile(r"(?i)(token|secret|passw|credential|auth|api_?key)")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SOURCE_LINE = re.compile(r"^source:[ \t]*(.+?)[ \t]*$", re.M)
_NOISE = re.compile(r"^(?:hint:|trace:|[<>*] |\d\d:\d\d:\d\d\.\d+ )")
_REJECTED = ("(fetch first)", "(non-fast-forward)", "stale info", "cannot lock ref",
             "failed to update ref", "failed to lock", "incorrect old value")  # fmt: skip


class PublishError(NewsmirrorError):
    reason = "publish"


@dataclass(frozen=True, slots=True)
class PublishResult:
    commit: str  # the new commit, "" when nothing changed
    message: str  # its message ("" when none)
    pushed: tuple[str, ...]  # remotes that now hold this branch (credentials redacted)
    up_to_date: tuple[str, ...]  # remotes that already held it
    rebases: int  # times this run's commits were replayed onto another runner's
    branch: str


# -- redaction ------------------------------------------------------------------


def env_secrets(env: Mapping[str, str], extra: Iterable[str] = ()) -> list[str]:
    """Values that must never be shown: variables named like tokens and passwords,
    plus ``extra``; longest first so a secret containing another is hidden whole."""
    values = [v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8]
    values += [v for v in extra if len(v) >= 4]
    return sorted(set(values), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without URL credentials, Authorization header values and ``secrets``."""
    for s in secrets:
        text = text.replace(s, "***")
    text = _URL_USERINFO.sub(r"\1***@", text)
    return _AUTH_HEADER.sub(r"\1***", text)


def _userinfo(url: str) -> list[str]:
    m = re.match(r"(?i)^[a-z][a-z0-9+.-]*://([^/@]+)@", url)
    return [p for p in m.group(1).split(":") if p] if m else []


# -- git ------------------------------------------------------------------------


class Git:
    """git in one folder: no prompts, English messages, output captured and redacted."""

    def __init__(
        self, root: Path, settings: PublishSettings, env: Mapping[str, str] | None = None
    ) -> None:
        self.root = Path(root)
        self.settings = settings
        base = dict(os.environ if env is None else env)
        self.env = {**base, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C",
                    "GIT_EDITOR": "true", "GIT_MERGE_AUTOEDIT": "no"}  # fmt: skip
        self.pre = ["-c", "core.quotepath=false", "-c", "rebase.autoStash=true"]
        name = settings.token_env
        if name and _IDENT.match(name) and base.get(name):
            helper = f'!f() {{ test "$1" = get && echo username=x-access-token && echo "password=${name}"; }}; f'
            self.pre += ["-c", "credential.helper=", "-c", f"credential.helper={helper}"]
        self.secrets = env_secrets(base)

    def learn_secrets(self, urls: Iterable[str]) -> None:
        self.secrets = env_secrets({}, [*self.secrets, *(p for u in urls for p in _userinfo(u))])

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def run(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            r = subprocess.run(
                ["git", *self.pre, *args],
                cwd=self.root,
                env=self.env,
                input=input,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=self.settings.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise PublishError("git is not installed (newsmirror publish needs it)") from None
        except subprocess.TimeoutExpired:
            raise PublishError(
                f"git {args[0]} took longer than {self.settings.timeout:.0f} s", url=str(self.root)
            ) from None
        if check and r.returncode != 0:
            raise PublishError(f"git {args[0]} failed: {self.why(r)}", url=str(self.root))
        return r

    def why(self, r: subprocess.CompletedProcess[str]) -> str:
        """The gist of a failed git command (its last error lines), redacted."""
        text = r.stderr + "\n" + r.stdout
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not _NOISE.match(ln)]
        key = [ln for ln in lines if ln.startswith(("fatal:", "error:", "!", "remote:"))]
        return self.redact(" / ".join((key or lines)[-3:]) or f"exit status {r.returncode}")

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0


def is_repo(root: Path) -> bool:
    try:
        r = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=root, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and r.stdout.strip() == "true"


def ensure_repo(root: Path, *, branch: str = "main") -> bool:
    """Make ``root`` a git repository (on ``branch``) unless it already is in one.
    Returns True when a repository was created."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if is_repo(root):
        return False
    git = Git(root, PublishSettings())
    git.run("init", "-q")
    git.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")
    return True


# -- the commit -----------------------------------------------------------------


def _post_source(path: Path) -> str:
    """The source slug (or name) written in a post's front matter."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return "?"
    front = head.split("\n---", 1)[0]
    m = _SOURCE_LINE.search(front) or re.search(r"^author:[ \t]*(.+?)[ \t]*$", front, re.M)
    return m.group(1).strip("'\"") if m else "?"


@dataclass(frozen=True, slots=True)
class Changes:
    new: Counter[str]  # source -> posts added
    updated: Counter[str]  # source -> posts changed
    archived: int
    removed: int
    files: int

    @property
    def sources(self) -> list[str]:
        total = self.new + self.updated
        return [s for s, _ in sorted(total.items(), key=lambda x: (-x[1], x[0]))]


def staged_changes(git: Git, posts_dir: str) -> Changes:
    """What the staged commit holds, per source, from ``git diff --cached``."""
    raw = git.out("diff", "--cached", "--relative", "-M", "--name-status", "-z", "--", ".")
    parts = raw.split("\0")
    new: Counter[str] = Counter()
    updated: Counter[str] = Counter()
    archived = removed = files = 0
    prefix = posts_dir.strip("/") + "/"
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i]
        paths = parts[i + 1 : i + (3 if status[0] in "RC" else 2)]
        i += 1 + len(paths)
        files += 1
        path = paths[-1]
        if not path.startswith(prefix) or not path.endswith((".md", ".markdown", ".html")):
            continue
        if status[0] == "R":
            archived += 1
        elif status[0] in "AC":
            new[_post_source(git.root / path)] += 1
        elif status[0] == "M":
            updated[_post_source(git.root / path)] += 1
        elif status[0] == "D":
            removed += 1
    return Changes(new, updated, archived, removed, files)


def commit_message(c: Changes, now: datetime) -> str:
    """``newsmirror: 12 new, 3 updated (cna 9, bbc 6) 2026-11-28 08:00 UTC`` and a body."""
    when = now.strftime("%Y-%m-%d %H:%M UTC")
    counts = [f"{n} {w}" for n, w in ((sum(c.new.values()), "new"),
              (sum(c.updated.values()), "updated"), (c.archived, "archived")) if n]  # fmt: skip
    total = c.new + c.updated
    names = [f"{s} {total[s]}" for s in c.sources[:4]]
    if len(c.sources) > 4:
        names.append(f"+{len(c.sources) - 4} more")
    head = ", ".join(counts) or f"{c.files} file{'' if c.files == 1 else 's'} changed"
    subject = f"newsmirror: {head}" + (f" ({', '.join(names)})" if names else "") + f" {when}"
    body = [f"{s}: {c.new[s]} new, {c.updated[s]} updated" for s in sorted(total)]
    body.append(f"files: {c.files} changed" + (f", {c.removed} posts removed" if c.removed else ""))
    return subject + "\n\n" + "\n".join(body) + "\n"


def _identity(git: Git) -> None:
    """Commit as newsmirror when no identity is configured (a fresh CI machine)."""
    if not git.ok("var", "GIT_COMMITTER_IDENT") or not git.ok("var", "GIT_AUTHOR_IDENT"):
        git.pre += ["-c", "user.name=newsmirror", "-c", "user.email=newsmirror@localhost"]


def exclude_state(git: Git) -> None:
    """List ``.newsmirror/`` (index, lock) in the repository's own exclude file, so
    it is never staged even without the mirror's .gitignore."""
    path = git.root / git.out("rev-parse", "--git-path", "info/exclude")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if ".newsmirror/" not in text.split():
        path.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not text or text.endswith("\n") else "\n"
        path.write_text(
            f"{text}{sep}# newsmirror's index and lock\n.newsmirror/\n", encoding="utf-8"
        )


def commit_all(git: Git, posts_dir: str, now: datetime) -> tuple[str, str]:
    """Stage the mirror and commit it; ("", "") when nothing changed."""
    exclude_state(git)
    git.run("add", "-A", "--", ".")
    if git.ok("diff", "--cached", "--quiet", "--", "."):
        return "", ""
    message = commit_message(staged_changes(git, posts_dir), now)
    git.run("commit", "-q", "--no-edit", "-F", "-", "--", ".", input=message)
    return git.out("rev-parse", "HEAD"), message


# -- the push -------------------------------------------------------------------


def _fetch(git: Git, remote: str, branch: str) -> str | None:
    """The remote branch's commit (kept under refs/newsmirror/), None when it has none."""
    ref = "refs/newsmirror/upstream/" + hashlib.sha1(remote.encode()).hexdigest()[:12]
    r = git.run("fetch", "-q", "--no-tags", remote, f"+refs/heads/{branch}:{ref}", check=False)
    if r.returncode != 0:
        if "couldn't find remote ref" in (r.stderr + r.stdout).lower():
            return None
        raise PublishError(f"cannot fetch: {git.why(r)}", url=git.redact(remote))
    return git.out("rev-parse", ref)


def _resolve_conflicts(git: Git) -> bool:
    """Settle unmerged paths keeping content; False when there were none."""
    listed = git.out("ls-files", "-u", "-z")
    stages: dict[str, set[str]] = {}
    for entry in filter(None, listed.split("\0")):
        meta, _, path = entry.partition("\t")
        stages.setdefault(path, set()).add(meta.split()[-1])
    for path, have in stages.items():
        # During a rebase stage 3 is this run's commit, stage 2 the other runner's.
        side = "--theirs" if "3" in have else "--ours"
        git.run("checkout", side, "--", path)
        git.run("add", "--", path)
    return bool(stages)


def rebase_onto(git: Git, upstream: str) -> None:
    """Replay this run's commits onto ``upstream``; conflicts keep content."""
    r = git.run("rebase", "-q", "-X", "theirs", upstream, check=False)
    for _ in range(10_000):
        if r.returncode == 0:
            return
        if _resolve_conflicts(git):
            r = git.run("rebase", "--continue", check=False)
        elif git.root.joinpath(git.out("rev-parse", "--git-path", "rebase-merge")).exists():
            r = git.run("rebase", "--skip", check=False)  # the commit became empty
        else:
            break
    why = git.why(r)
    git.run("rebase", "--abort", check=False)
    raise PublishError(f"cannot rebase onto the remote's commits: {why}", reason="rebase")


def push_remote(
    git: Git, remote: str, branch: str, attempts: int, sleep: Callable[[float], None] = time.sleep
) -> tuple[bool, int]:
    """Push HEAD to ``remote``'s ``branch``, rebasing when another runner was first.
    Returns (pushed, rebases); pushed is False when the remote already had it all."""
    rebases = 0
    for attempt in range(1, attempts + 1):
        upstream = _fetch(git, remote, branch)
        head = git.out("rev-parse", "HEAD")
        if upstream is not None:
            if git.ok("merge-base", "--is-ancestor", "HEAD", upstream):
                return False, rebases  # nothing of ours is missing there
            if not git.ok("merge-base", "--is-ancestor", upstream, head):
                rebase_onto(git, upstream)
                rebases += 1
        r = git.run("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
        if r.returncode == 0:
            return True, rebases
        text = r.stdout + r.stderr
        if not any(marker in text for marker in _REJECTED):
            raise PublishError(f"push refused: {git.why(r)}", url=git.redact(remote))
        sleep(min(5.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.5))
    raise PublishError(
        f"push still rejected after {attempts} attempts (other runners keep pushing)",
        url=git.redact(remote),
        reason="push_rejected",
    )


def publish(
    root: Path,
    settings: PublishSettings = PublishSettings(),  # noqa: B008  (frozen)
    *,
    posts_dir: str = "_posts",
    now: datetime | None = None,
    push: bool = True,
    env: Mapping[str, str] | None = None,
    log: Callable[[str], None] | None = None,
) -> PublishResult:
    """Commit the mirror at ``root`` and push it. Holds the mirror's lock throughout
    (a rebase rewrites files, so no run may write meanwhile). Raises PublishError
    (redacted) when the folder is not a repository, a remote is unknown or a push
    fails for any reason other than another runner having pushed first."""
    from .pipeline import now_utc

    root = Path(root).resolve()
    git = Git(root, settings, env)
    say = log or (lambda _m: None)
    if not is_repo(root):
        raise PublishError(
            "not a git repository: run `git init` there (newsmirror init makes one) "
            "and add a remote with `git remote add origin URL`",
            url=str(root),
            reason="not_a_repo",
        )
    with MirrorLock(root):
        branch = (
            settings.branch
            or git.run("symbolic-ref", "--short", "-q", "HEAD", check=False).stdout.strip()
        )
        if not branch:
            raise PublishError("HEAD is detached: set [publish] branch", url=str(root))
        known = git.out("remote").split()
        remotes = list(settings.remotes) or ["origin"]
        urls = git.run("config", "--get-regexp", r"^remote\..*\.(push)?url$", check=False).stdout
        git.learn_secrets(line.split(" ", 1)[-1] for line in urls.splitlines())
        git.learn_secrets(r for r in remotes if r not in known)
        _identity(git)
        commit, message = commit_all(git, posts_dir, now or now_utc())
        if commit:
            say(f"committed {commit[:10]}: {message.splitlines()[0]}")
        else:
            say("nothing changed: no commit")
        status: dict[str, bool] = {}
        rebases = 0
        if push:
            missing = [r for r in remotes if r not in known and not re.search(r"[:/]", r)]
            if missing:
                raise PublishError(
                    f"no git remote named {', '.join(missing)}"
                    + (f" (this run's commit {commit[:10]} is kept locally)" if commit else "")
                    + "; add one with `git remote add origin URL` or set [publish] remotes",
                    url=str(root),
                    reason="no_remote",
                )
            # Remotes that mirror each other converge in one round; a rebase onto a
            # later remote's commits sends everything round once more.
            for _round in range(max(1, settings.attempts)):
                rebased = False
                for remote in remotes:
                    done, n = push_remote(git, remote, branch, settings.attempts)
                    rebases += n
                    rebased = rebased or n > 0
                    status[remote] = done or status.get(remote, False)
                    say(f"{git.redact(remote)}: " + ("pushed" if done else "up to date")
                        + (f" after {n} rebase(s)" if n else ""))  # fmt: skip
                if len(remotes) == 1 or not rebased:
                    break
        if commit:
            commit = git.out("rev-parse", "HEAD")  # rebased commits have new ids
    pushed = tuple(git.redact(r) for r, done in status.items() if done)
    current = tuple(git.redact(r) for r, done in status.items() if not done)
    return PublishResult(commit, message, pushed, current, rebases, branch)
