"""The optional training dependencies (`pip install -e '.[train]'`), installed on demand into the
project's virtualenv by the first `autoresearch train lora`, so `make run` stays light.

torch: PyPI's Linux wheel pulls several GB of CUDA libraries. Where a CPU-only wheel is on the
machine (`/opt/wheels`, or $AUTORESEARCH_WHEELS), torch is installed from it first, offline; on a
fresh Linux box without one, PyPI's default wheel is installed (it also runs on CPU). On macOS the
PyPI wheel is CPU/MPS only.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

MODULES = ("torch", "transformers", "peft", "trl", "gguf", "safetensors")
WHEELS = Path(os.environ.get("AUTORESEARCH_WHEELS", "/opt/wheels"))
REPO = Path(__file__).resolve().parents[2]


def offline_env() -> None:
    """Training never reaches a model hub."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def missing() -> list[str]:
    return [name for name in MODULES if importlib.util.find_spec(name) is None]


def ensure(log=print) -> None:
    offline_env()
    lacking = missing()
    if not lacking:
        return
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    if "torch" in lacking and any(WHEELS.glob("torch-*cpu*.whl")):
        log(f"installing the CPU-only torch wheel from {WHEELS} ...")
        subprocess.run([*pip, "--no-index", "--find-links", str(WHEELS), "torch"], check=True)
    log(f"installing the training extra ({', '.join(lacking)}) into {sys.prefix} ...")
    extra = [*pip, "-e", f"{REPO}[train]"] + (["--find-links", str(WHEELS)] if WHEELS.is_dir() else [])
    subprocess.run(extra, check=True)
    importlib.invalidate_caches()
