"""The optional training dependencies (the `[train]` extra), installed on demand into the project's
virtualenv by the first `autoresearch train lora` (or `make train-deps`), so `make run` stays light.

torch is installed FIRST and CPU-only, so the extra's `torch==2.13.0` is already satisfied when the rest
installs and pip never fetches PyPI's Linux wheel (which pulls several GB of CUDA libraries):
1. a local CPU wheel `torch-2.13.0+cpu*.whl` in $AUTORESEARCH_WHEELS (default /opt/wheels); else
2. PyTorch's CPU wheel index, named by $AUTORESEARCH_TORCH_INDEX; else
3. refuse on Linux with the two ways to fix it. On macOS PyPI's wheel is CPU/MPS only and is used.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import time
import tomllib
from pathlib import Path

MODULES = ("torch", "transformers", "peft", "gguf", "safetensors", "accelerate", "trl", "datasets")
TORCH = "torch==2.13.0"
REPO = Path(__file__).resolve().parents[2]


class DependencyError(RuntimeError):
    pass


def wheels_dir() -> Path:
    return Path(os.environ.get("AUTORESEARCH_WHEELS", "/opt/wheels"))


def offline_env() -> None:
    """Training never reaches a model hub."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def missing() -> list[str]:
    return [name for name in MODULES if importlib.util.find_spec(name) is None]


def torch_command(system: str | None = None) -> list[str]:
    """The pip arguments that install CPU-only torch here (see the module doc for the order)."""
    system = system or platform.system()
    wheels = wheels_dir()
    local = sorted(wheels.glob("torch-2.13.0+cpu*.whl")) if wheels.is_dir() else []
    if local:  # the wheel by path; its own dependencies (setuptools, sympy, ...) come from PyPI
        return [str(local[-1])]
    index = os.environ.get("AUTORESEARCH_TORCH_INDEX")
    if index:
        return ["--index-url", index, TORCH]
    if system == "Darwin":
        return [TORCH]
    raise DependencyError(f"no CPU-only torch wheel in {wheels} and no $AUTORESEARCH_TORCH_INDEX: put "
                          f"torch-2.13.0+cpu*.whl there, or set AUTORESEARCH_TORCH_INDEX to PyTorch's CPU wheel "
                          f"index (README \"Training\"); PyPI's Linux torch would pull several GB of CUDA libraries")


def train_pins(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """The `[train]` extra's pinned requirements, read from pyproject.toml (their one source of truth).
    Installed by name, not as `-e .[train]`: that would re-point the virtualenv's editable install at
    whichever checkout ran it (and rebuild the project for nothing)."""
    return list(tomllib.loads(Path(pyproject).read_text())["project"]["optional-dependencies"]["train"])


def install_plan(lacking: list[str], system: str | None = None) -> list[list[str]]:
    """The pip invocations (argument lists after `pip install`) for the lacking modules, torch first."""
    plan = []
    if "torch" in lacking:
        plan.append(torch_command(system))
    if [name for name in lacking if name != "torch"] or plan:
        plan.append(train_pins())  # torch==2.13.0 already satisfied: nothing CUDA is fetched
    return plan


def ensure(log=print) -> None:
    offline_env()
    lacking = missing()
    if not lacking:
        return
    for args in install_plan(lacking):
        log(f"installing {' '.join(Path(a).name for a in args)} into {sys.prefix} ...")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)
        log(f"  done in {time.perf_counter() - started:.0f} s")
    importlib.invalidate_caches()
    still = missing()
    if still:
        raise DependencyError(f"after installing the [train] extra, {', '.join(still)} still cannot be imported")


def ensure_where_cpu_torch(log=print) -> bool:
    """`make test`'s route: install the extra where CPU-only torch can be had (a local wheel, a CPU index,
    macOS), so the real LoRA test runs; elsewhere say why it will skip and install nothing."""
    if "torch" in missing():
        try:
            torch_command()
        except DependencyError as exc:
            log(f"note: the [train] extra is not installed, so the real training tests skip "
                f"(tests/training/test_lora_real.py, test_preference_real.py): {exc}")
            return False
    ensure(log)
    return True
