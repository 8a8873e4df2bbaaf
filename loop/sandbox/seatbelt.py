"""The macOS `sandbox-exec` (Seatbelt) profile for a pipeline worker, generated from a table of rules.

Deny by default; allow only what a pipeline needs: the OS libraries, the interpreter and its libraries,
the `loop/` package and the models directory (read-only), the workspace (read-only), its private
scratch home (read and write), a few devices, and metadata (not contents) of the directories on the way
to those. Nothing else: no network, no repository `.git`, `db/`, `ruler/`, `tests/`, no writes to
`loop/` or the workspace, no home directory. The pipe to the parent is the worker's inherited stdin and
stdout, which the profile does not need to name.

The profile cannot run on Linux, so its *data* is what the tests check: `forbidden(layout)` lists the
paths that must stay unreadable and unwritable, `profile_rules` refuses to build a profile in which an
allow rule covers one of them, and tests/pipeline/test_confine.py parses the rendered text back and
evaluates every forbidden path against it (last matching rule wins, as in Seatbelt).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Action = Literal["allow", "deny"]
FilterKind = Literal["subpath", "literal"]


@dataclass(frozen=True)
class PathFilter:
    kind: FilterKind  # subpath: the path and everything below it; literal: exactly the path
    path: Path

    def render(self) -> str:
        return f'({self.kind} "{_quote(str(self.path))}")'


@dataclass(frozen=True)
class Rule:
    action: Action
    operations: tuple[str, ...]  # Seatbelt operations, e.g. "file-read*", "process-exec", "network*"
    filters: tuple[PathFilter, ...] = ()  # empty: the operation everywhere
    why: str = ""

    def render(self) -> str:
        body = " ".join([*self.operations, *(f.render() for f in self.filters)])
        return f"({self.action} {body})"


@dataclass(frozen=True)
class Layout:
    """Where things are, all resolved (Seatbelt matches real paths: /tmp is /private/tmp on macOS)."""

    repo: Path
    workspace: Path
    home: Path  # the worker's private scratch directory (HOME and TMPDIR inside)
    user_home: Path
    python_dirs: tuple[Path, ...]
    python_executables: tuple[Path, ...]
    loop_package: Path
    models: Path | None

    @classmethod
    def current(cls, repo: Path, workspace: Path, home: Path, python_dirs: list[Path], loop_package: Path,
                models: Path | None) -> "Layout":
        # The spelling python was started by (a venv symlink) and the file it resolves to.
        executables = {Path(os.path.abspath(sys.executable)), Path(os.path.realpath(sys.executable))}
        return cls(repo=repo.resolve(), workspace=workspace.resolve(), home=home.resolve(),
                   user_home=Path.home().resolve(), python_dirs=tuple(p.resolve() for p in python_dirs),
                   python_executables=tuple(sorted(executables)), loop_package=loop_package.resolve(),
                   models=models.resolve() if models else None)


# Read-only system locations every process needs on macOS (dyld shared cache, frameworks, locale data),
# and the Homebrew trees a Homebrew Python loads its shared libraries (openssl, xz, ...) from.
SYSTEM_READ_SUBPATHS = ("/System", "/usr/lib", "/usr/share", "/private/var/db/timezone", "/private/var/db/dyld",
                        "/opt/homebrew/Cellar", "/opt/homebrew/opt", "/usr/local/Cellar", "/usr/local/opt")
SYSTEM_READ_LITERALS = ("/private/etc/localtime", "/private/etc/passwd", "/private/etc/group", "/dev/random",
                        "/dev/urandom", "/dev/null")
WRITABLE_DEVICES = ("/dev/null",)
# Mach services libSystem looks up for user and time-zone lookups; nothing that reaches the network.
MACH_SERVICES = ("com.apple.system.opendirectoryd.libinfo", "com.apple.system.notification_center",
                 "com.apple.logd", "com.apple.system.logger")
FORBIDDEN_AREAS = (".git", "db", "ruler", "tests")  # of the repository and of a worktree's checkout
HOME_SECRETS = (".ssh", ".aws", ".config", ".gnupg", ".netrc", "Library/Keychains", "Documents")


@dataclass(frozen=True)
class Forbidden:
    path: Path
    read: bool  # must be unreadable (contents)
    write: bool  # must be unwritable
    why: str


def forbidden(layout: Layout) -> list[Forbidden]:
    """Every path a pipeline must neither read nor write (or only not write), with the reason."""
    out: list[Forbidden] = []
    for root in sorted({layout.repo, layout.workspace.parent}):
        for name in FORBIDDEN_AREAS:
            out.append(Forbidden(root / name, read=True, write=True, why=f"{name}/ of {root}"))
            out.append(Forbidden(root / name / "x", read=True, write=True, why=f"inside {name}/ of {root}"))
        out.append(Forbidden(root / "autoresearch.toml", read=True, write=True, why="the daemon's config"))
    for name in HOME_SECRETS:
        out.append(Forbidden(layout.user_home / name, read=True, write=True, why="the user's home directory"))
    out.append(Forbidden(layout.user_home, read=False, write=True, why="the user's home directory"))
    out.append(Forbidden(layout.loop_package / "evaluate.py", read=False, write=True, why="the loop/ package"))
    out.append(Forbidden(layout.workspace / "pipeline.py", read=False, write=True, why="the workspace is read-only"))
    out.append(Forbidden(layout.repo, read=False, write=True, why="the repository"))
    if layout.models:
        out.append(Forbidden(layout.models / "x.gguf", read=False, write=True, why="the models are read-only"))
    return out


def profile_rules(layout: Layout) -> list[Rule]:
    """The rule table for one worker, in order (later rules win). Raises ValueError if an allow would
    expose a forbidden path, e.g. a workspace or interpreter living at the repository root."""
    read_dirs = [layout.loop_package, layout.workspace, *layout.python_dirs]
    if layout.models:
        read_dirs.append(layout.models)
    rules = [
        Rule("deny", ("default",), why="nothing that is not allowed below"),
        Rule("allow", ("file-read*",), _subpaths(SYSTEM_READ_SUBPATHS) + _literals(SYSTEM_READ_LITERALS),
             "the OS libraries, frameworks and locale data"),
        Rule("allow", ("file-read*",), tuple(PathFilter("subpath", p) for p in _unique(read_dirs)),
             "the interpreter and its libraries, loop/, the models, the workspace: read-only"),
        Rule("allow", ("file-read*", "file-write*"), (PathFilter("subpath", layout.home),),
             "the worker's private scratch home"),
        Rule("allow", ("file-write-data",), _literals(WRITABLE_DEVICES), "/dev/null"),
        Rule("allow", ("file-read-data",), (PathFilter("literal", layout.repo),),
             "the listing (names only, no contents) of the repository root, which is on the worker's "
             "PYTHONPATH so that `import loop` finds loop/"),
        Rule("allow", ("file-read-metadata",), tuple(PathFilter("literal", p) for p in _ancestors(read_dirs + [layout.home])),
             "stat() of the directories on the way to the allowed ones (not their contents)"),
        Rule("allow", ("process-exec",), tuple(PathFilter("literal", p) for p in layout.python_executables),
             "the interpreter itself"),
        Rule("allow", ("sysctl-read",), why="CPU count and OS version, read by the interpreter"),
        Rule("allow", ("mach-lookup",), why="libSystem user/time-zone lookups"),
        Rule("allow", ("signal",), why="signals to itself"),
        Rule("deny", ("network*",), why="no network, also not to localhost"),
        Rule("deny", ("process-fork",), why="a pipeline starts no processes"),
    ]
    denied = [f for f in forbidden(layout) if f.read]
    rules.append(Rule("deny", ("file-read*", "file-write*"),
                      tuple(PathFilter("subpath", f.path) for f in denied if f.path.name != "x"),
                      "the repository's secrets, repeated last so that no earlier allow can reach them"))
    _check(rules, layout)
    return rules


def render(rules: list[Rule]) -> str:
    lines = ["(version 1)"]
    for rule in rules:
        if rule.operations == ("mach-lookup",):
            services = " ".join(f'(global-name "{name}")' for name in MACH_SERVICES)
            lines.append(f"({rule.action} mach-lookup {services})")
        elif rule.operations == ("signal",):
            lines.append(f"({rule.action} signal (target self))")
        else:
            lines.append(rule.render())
    return "\n".join(lines) + "\n"


def _check(rules: list[Rule], layout: Layout) -> None:
    for item in forbidden(layout):
        for rule in rules:
            if rule.action != "allow":
                continue
            reads = any(op in ("file-read*", "file-read-data", "default") for op in rule.operations)
            writes = any(op.startswith("file-write") or op == "default" for op in rule.operations)
            if not ((item.read and reads) or (item.write and writes)):
                continue
            hit = next((f for f in rule.filters if _covers(f, item.path)), None)
            if hit is not None or not rule.filters:
                raise ValueError(f"sandbox profile would expose {item.path} ({item.why}) through "
                                 f"{rule.render()[:200]}: move the workspace or interpreter out of the repository root")


def _covers(f: PathFilter, path: Path) -> bool:
    return path == f.path if f.kind == "literal" else path == f.path or path.is_relative_to(f.path)


def _subpaths(paths) -> tuple[PathFilter, ...]:
    return tuple(PathFilter("subpath", Path(p)) for p in paths)


def _literals(paths) -> tuple[PathFilter, ...]:
    return tuple(PathFilter("literal", Path(p)) for p in paths)


def _unique(paths: list[Path]) -> list[Path]:
    """Drop paths inside another listed path; keep the order."""
    kept: list[Path] = []
    for path in paths:
        if not any(path.is_relative_to(other) for other in paths if other != path):
            if path not in kept:
                kept.append(path)
    return kept


def _ancestors(paths: list[Path]) -> list[Path]:
    found: set[Path] = set()
    for path in paths:
        found.update(path.parents)
    return sorted(found)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
