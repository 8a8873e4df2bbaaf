"""How a pipeline worker is confined: a scrubbed environment built from an allow-list, and the
command line that wraps it in bubblewrap (Linux) or sandbox-exec (macOS).

What each mode enforces:
- `bwrap` (Linux): no network (all namespaces unshared, so only a dead loopback exists), a read-only
  view of /usr, the python install, the venv, the repo's `loop/` package and models dir, and the
  workspace (mounted at its own path); a private tmpfs /tmp; the rest of the repo (`ruler/` above
  all) simply does not exist inside. Dies with its parent.
- `sandbox-exec` (macOS): deny by default; reads only of the OS libraries, the interpreter, `loop/`,
  the models and the workspace; writes only to the private temp home; no network. The profile is
  generated from a rule table (`loop/sandbox/seatbelt.py`) whose data the tests check; it cannot run in
  CI (Linux only).
- `none`: no confinement beyond the scrubbed environment; for debugging only, loudly warned.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

SANDBOX_MODES = ("auto", "bwrap", "sandbox-exec", "none")
# Environment variables a worker may inherit; everything else (API keys, tokens, proxies) is dropped.
ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "AUTORESEARCH_MODELS_DIR")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
             "nsswitch.conf", "alternatives")

LOOP_PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = LOOP_PACKAGE_DIR.parent


class SandboxUnavailable(RuntimeError):
    """The sandbox explicitly asked for cannot be used on this machine."""


def worker_env(home: Path, *, pythonpath: list[Path]) -> dict[str, str]:
    """The worker's whole environment: allow-listed variables plus what python needs."""
    env = {k: os.environ[k] for k in ENV_ALLOW if os.environ.get(k)}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env.update({
        "HOME": str(home),
        "TMPDIR": str(home),
        "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",  # set iteration order does not vary between runs
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    })
    return env


@functools.lru_cache(maxsize=None)
def _bwrap_works() -> tuple[bool, str]:
    exe = shutil.which("bwrap")
    if not exe:
        return False, "bwrap not found (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = subprocess.run([exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        return False, f"bwrap cannot create a sandbox here: {probe.stderr.strip()[:300]}"
    return True, ""


UNCONFINED_LOSES = ("no network isolation (the pipeline could reach the internet and local services), "
                    "the whole filesystem readable (the repository's ruler/ with the gold answers, db/, .git, "
                    "your home directory) and writable where you can write")


class UnconfinedRefused(SandboxUnavailable):
    """No confinement works here and the user did not pass --unconfined."""


def resolve_mode(requested: str, *, allow_unconfined: bool = False) -> str:
    """Turn `auto` into the strongest confinement available; fail if an explicit one is missing.

    When `auto` finds nothing (Linux where bubblewrap cannot create a namespace), the evaluation is
    refused with `UnconfinedRefused` unless `allow_unconfined` (the `--unconfined` flag of `eval` and
    `run`); then it runs with the scrubbed environment only, loudly warned. `none` asked for explicitly
    (config `sandbox = "none"`) is the user's own choice and is only warned about."""
    if requested not in SANDBOX_MODES:
        raise ValueError(f"sandbox must be one of {SANDBOX_MODES}, not {requested!r}")
    system = platform.system()
    if requested == "bwrap":
        ok, why = _bwrap_works()
        if not ok:
            raise SandboxUnavailable(why)
        return "bwrap"
    if requested == "sandbox-exec":
        if not shutil.which("sandbox-exec"):
            raise SandboxUnavailable("sandbox-exec not found (macOS only)")
        return "sandbox-exec"
    if requested == "none":
        log.warning("SANDBOX DISABLED (sandbox='none'): the pipeline runs with network and full file "
                    "access; use only for debugging, never for a scored evaluation")
        return "none"
    if system == "Linux":
        ok, why = _bwrap_works()
        if ok:
            return "bwrap"
    elif system == "Darwin" and shutil.which("sandbox-exec"):
        return "sandbox-exec"
    else:
        why = f"no sandbox implemented for {system}"
    if not allow_unconfined:
        raise UnconfinedRefused(unconfined_refusal(why))
    log.warning("!!! NO SANDBOX (--unconfined): %s. The pipeline runs UNCONFINED (scrubbed environment "
                "only): %s. !!!", why, UNCONFINED_LOSES)
    return "none"


def unconfined_refusal(why: str) -> str:
    """The message for an evaluation that would have to run unconfined."""
    return (f"refusing to run the pipeline unconfined: {why}. To confine it, install bubblewrap "
            "(apt-get install bubblewrap) and enable unprivileged user namespaces: "
            "`sudo sysctl -w kernel.unprivileged_userns_clone=1` (Debian), and on Ubuntu 23.10+ "
            "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`; in a container, run it with "
            "user namespaces allowed (e.g. docker --security-opt seccomp=unconfined). Or pass --unconfined "
            f"to `autoresearch eval` / `autoresearch run` and accept what is lost: {UNCONFINED_LOSES}. "
            "The evaluation then records confinement 'none'.")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.exists():
            args += ["--ro-bind", top, top]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_dirs() -> list[Path]:
    dirs = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.exec_prefix).resolve()}
    dirs.add(Path(os.path.realpath(sys.executable)).parent.parent)
    for entry in sys.path:  # site-packages living outside the prefixes (rare)
        if entry.endswith("site-packages") and Path(entry).is_dir():
            resolved = Path(entry).resolve()
            if not any(resolved.is_relative_to(d) for d in dirs):
                dirs.add(resolved)
    return sorted(dirs)


def _models_dir() -> Path | None:
    env = os.environ.get("AUTORESEARCH_MODELS_DIR")
    path = Path(env) if env else REPO_ROOT / "models"
    return path.resolve() if path.exists() else None


def model_binds() -> list[tuple[Path, Path]]:
    """(real source, path inside) pairs that make the models dir readable in bwrap under every spelling.

    The models dir may be a symlink to a shared folder (`models/` -> /srv/models), be named through one
    ($AUTORESEARCH_MODELS_DIR), or hold symlinked entries (models/minilm -> /shared/minilm). Inside the
    sandbox no symlink target exists unless it is bound, so the resolved directory is bound at its real
    path AND at the spelling the worker uses (`loop.models.models_dir()`), and each symlinked entry's
    resolved target at its real path (the symlink inside the bound dir then resolves)."""
    real = _models_dir()
    if real is None:
        return []
    env = os.environ.get("AUTORESEARCH_MODELS_DIR")
    spelled = Path(os.path.abspath(env)) if env else REPO_ROOT / "models"
    binds = [(real, real)]
    if spelled != real:
        binds.append((real, spelled))
    for entry in sorted(real.iterdir()):
        target = entry.resolve()
        if entry.is_symlink() and target.exists() and not target.is_relative_to(real):
            binds.append((target, target))
    return binds


def bwrap_argv(workspace: Path, home: Path) -> list[str]:
    """bubblewrap options: nothing shared but the read-only pieces a pipeline needs."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in _python_dirs():
        args += ["--ro-bind", str(path), str(path)]
    venv = Path(sys.prefix)  # the venv may be a symlinked path; bind the spelling python uses too
    if venv.resolve() != venv and venv.exists():
        args += ["--ro-bind", str(venv.resolve()), str(venv)]
    args += ["--ro-bind", str(LOOP_PACKAGE_DIR), str(LOOP_PACKAGE_DIR)]
    for source, dest in model_binds():
        args += ["--ro-bind", str(source), str(dest)]
    args += ["--ro-bind", str(workspace), str(workspace)]
    args += ["--dir", str(home), "--chdir", str(workspace)]
    return args


def sandbox_exec_profile(workspace: Path, home: Path) -> str:
    """The Seatbelt profile (deny by default), rendered from the rule table in loop/sandbox/seatbelt.py."""
    from loop.sandbox import seatbelt

    layout = seatbelt.Layout.current(REPO_ROOT, workspace, home, _python_dirs(), LOOP_PACKAGE_DIR, _models_dir())
    return seatbelt.render(seatbelt.profile_rules(layout))


def wrap_command(mode: str, command: list[str], workspace: Path, home: Path) -> list[str]:
    """The full argv that runs `command` confined by `mode` (an already-resolved mode)."""
    if mode == "bwrap":
        return bwrap_argv(workspace, home) + ["--"] + command
    if mode == "sandbox-exec":
        profile = home / "worker.sb"
        profile.write_text(sandbox_exec_profile(workspace, home))
        return ["sandbox-exec", "-f", str(profile)] + command
    return command
