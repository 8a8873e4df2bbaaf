"""A bad adapter pointer never becomes a score: `evaluate` refuses before any case runs, naming the
pointer file, and the record holds no evaluation."""

from __future__ import annotations

from pathlib import Path

import shutil

import pytest
from sqlalchemy import func, select

from loop.adapters.register import register_adapter
from loop.adapters.store import AdapterStore, store_root
from loop.config import load_config
from loop.db.models import Evaluation
from loop.db.session import session_scope, upgrade
from loop.errors import InputError
from loop.evaluate import evaluate
from loop.ruler_lock import write_lock

from .conftest import SMOLLM2_BASE


@pytest.fixture
def config(project_copy, tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_REPLAY_ANSWERS", "AUTORESEARCH_REPLAY_DELAY_MS"):
        monkeypatch.delenv(name, raising=False)
    write_lock(project_copy / "ruler")
    config = load_config(project_copy, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", judge="proxy",
                         runner="replay")
    upgrade(config)
    return config


def _evaluations(config) -> int:
    with session_scope(config) as db:
        return db.scalar(select(func.count()).select_from(Evaluation))


@pytest.mark.parametrize("damage", ["missing", "hash"])
def test_a_bad_pointer_stops_the_evaluation_naming_the_pointer_and_records_nothing(config, lora_file, damage):
    store = AdapterStore(store_root(config))
    assert store.root == config.repo / ".autoresearch" / "adapters"
    reg = register_adapter(store, lora_file, config.workspace_dir, recipe="sft", base_model=SMOLLM2_BASE,
                           origin="test")
    if damage == "missing":
        shutil.rmtree(store.root)
    else:
        pointer = reg.pointer.model_copy(update={"sha256": "ab" * 32})
        reg.pointer_path.write_text(pointer.to_json())
        planted = store.object_path(pointer.sha256, "gguf-lora")
        planted.parent.mkdir(parents=True)
        shutil.copyfile(lora_file, planted)
    with pytest.raises(InputError) as caught:
        evaluate(config, "dev", progress=False)
    assert caught.value.path == reg.pointer_path
    assert ("not in the adapter store" if damage == "missing" else "sha256") in str(caught.value)
    assert _evaluations(config) == 0


def test_a_configured_store_is_used_and_a_good_pointer_evaluates(config, lora_file, tmp_path):
    config = config.model_copy(update={"adapter_store": tmp_path / "elsewhere"})
    store = AdapterStore(store_root(config))
    register_adapter(store, lora_file, config.workspace_dir, recipe="sft", base_model=SMOLLM2_BASE, origin="test")
    report = evaluate(config, "dev", progress=False)
    adapters = {e["adapter"]["path"] for o in report.outcomes for e in o.trace if e.get("kind") == "adapter"}
    # the configured store is shared: the evaluation fetched the object into this repo's cache and loaded that copy
    (shared,) = store.objects()
    (loaded,) = adapters
    cache = Path(config.repo) / ".autoresearch" / "adapters"
    assert Path(loaded) == cache / shared.relative_to(store.root)
    assert Path(loaded).read_bytes() == shared.read_bytes()
    assert _evaluations(config) == 1
