"""Adapter-store fixtures: a tiny real GGUF LoRA for SmolLM2, a store in tmp, workspace copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loop.adapters.pointer import BaseModelRef
from loop.adapters.store import AdapterStore

REPO = Path(__file__).resolve().parents[2]
SMOLLM2_BASE = BaseModelRef(name="smollm2-135m-instruct-q4_1.gguf")


@pytest.fixture
def lora_file(tmp_path: Path) -> Path:
    from tests.support.gguf_lora import write_lora

    (tmp_path / "drops").mkdir()
    return write_lora(tmp_path / "drops" / "sft-one.gguf", seed=1)


@pytest.fixture
def store(tmp_path: Path) -> AdapterStore:
    return AdapterStore(tmp_path / "store")


def workspace_copy(dest: Path) -> Path:
    shutil.copytree(REPO / "agent_workspace", dest, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    return dest
