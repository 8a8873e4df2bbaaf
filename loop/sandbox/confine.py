"""How a pipeline worker is confined: a scrubbed environment built from an allow-list, and the
command line that wraps it in bubblewrap (Linux) or sandbox-exec (macOS).

What each mode enforces:
- `bwrap` (Linux): no network (all namespaces unshared, so only a dead loopback exists), a read-only
  view of /usr, the python install, the venv, the repo's `loop/` package and models dir, and the
  workspace (mounted at its own path); a private tmpfs /tmp; the rest of the repo (`ruler/` above
  all) simply does not exist inside. Dies with its parent.
- `sandbox-exec` (macOS): network denied, reads of the repo's `ruler/` denied, writes allowed only in
  the private temp home. NOT tested in CI (Linux only).
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


def resolve_mode(requested: str) -> str:
    """Turn `auto` into the strongest confinement available; fail if an explicit one is missing."""
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
    log.warning("!!! NO SANDBOX: %s. The pipeline runs UNCONFINED (scrubbed environment only): it "
                "could reach the network and read ruler/. Install bubblewrap to fix. !!!", why)
    return "none"


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
    models = _models_dir()
    if models:
        args += ["--ro-bind", str(models), str(models)]
    args += ["--ro-bind", str(workspace), str(workspace)]
    args += ["--dir", str(home), "--chdir", str(workspace)]
    return args


def sandbox_exec_profile(workspace: Path, home: Path) -> str:
    """A Seatbelt profile: no network, no reads of the repo's ruler/, writes only to the temp home."""
    ruler = REPO_ROOT / "ruler"
    workspace_ruler = workspace.parent / "ruler"
    return "\n".join([
        "(version 1)",
        "(allow default)",
        "(deny network*)",
        f'(deny file-read* (subpath "{ruler}") (subpath "{workspace_ruler}"))',
        "(deny file-write*)",
        f'(allow file-write* (subpath "{home}") (subpath "/dev"))',
    ])


def wrap_command(mode: str, command: list[str], workspace: Path, home: Path) -> list[str]:
    """The full argv that runs `command` confined by `mode` (an already-resolved mode)."""
    if mode == "bwrap":
        return bwrap_argv(workspace, home) + ["--"] + command
    if mode == "sandbox-exec":
        profile = home / "worker.sb"
        profile.write_text(sandbox_exec_profile(workspace, home))
        return ["sandbox-exec", "-f", str(profile)] + command
    return command
