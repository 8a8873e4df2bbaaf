"""The llama runner caches loaded adapters by content hash, not by path: five experiments (five
workspaces, five pointers, one stored adapter) through the shipped pipeline in the sandbox load the
adapter once, counted by the runner's own probe (`adapter_loads`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from loop import models
from loop.adapters.register import register_adapter
from loop.adapters.store import AdapterStore
from loop.runners.client import RunnerClient
from loop.runners.protocol import Adapter, Request, Sampling
from loop.sandbox.session import PipelineSession

from .conftest import SMOLLM2_BASE, workspace_copy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama():
    try:
        path = models.model_path("smollm2")
    except models.ModelFileError as exc:
        pytest.fail(f"the adapter cache tests need the SmolLM2 test model: {exc}")
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(path), "--n-ctx", "2048",
            "--threads", "2"]
    with RunnerClient(argv, timeout_s=120, name="llama-adapters") as client:
        yield client


def _short(workspace: Path) -> Path:
    toml = workspace / "pipeline.toml"
    toml.write_text(toml.read_text().replace("max_output_tokens = 400", "max_output_tokens = 24"))
    return workspace


def test_five_experiments_on_one_adapter_load_it_once(llama, lora_file, tmp_path):
    store = AdapterStore(tmp_path / "store")
    before = llama.probe().adapter_loads
    traces = []
    for number in range(5):
        drop = tmp_path / f"drop{number}" / f"sft-{number}.gguf"  # five drops of the same bytes, five names
        drop.parent.mkdir()
        shutil.copyfile(lora_file, drop)
        workspace = _short(workspace_copy(tmp_path / f"wt{number}" / "agent_workspace"))
        register_adapter(store, drop, workspace, recipe="sft", base_model=SMOLLM2_BASE, origin="test")
        with PipelineSession(workspace, llama, case_timeout_s=120, adapter_store=store.root) as session:
            result = session.run_case("plan a weekend trip to Lisbon")
        calls = [event for event in result.trace if event.get("kind") == "adapter"]
        assert calls and all(event["ok"] or "decoding" in (event["error"] or "") for event in calls), result.trace
        traces.append(calls[0]["adapter"])
    assert len(store.objects()) == 1
    assert {(t["path"], t["sha256"]) for t in traces} == {(str(store.objects()[0]), traces[0]["sha256"])}
    assert llama.probe().adapter_loads - before == 1


def _ask(adapter: Adapter) -> Request:
    return Request(id="a", op="generate", prompt="Say hello.", sampling=Sampling(mode="greedy"),
                   max_output_tokens=8, adapter=adapter)


def test_raw_paths_with_the_same_content_share_one_load_and_a_wrong_digest_is_refused(llama, tmp_path):
    from .gguf_lora import write_lora

    (tmp_path / "a").mkdir()
    first = write_lora(tmp_path / "a" / "x.gguf", seed=7)
    second = tmp_path / "b.gguf"
    shutil.copyfile(first, second)
    before = llama.probe().adapter_loads
    one = llama.call(_ask(Adapter(path=str(first), format="gguf-lora")))
    two = llama.call(_ask(Adapter(path=str(second), format="gguf-lora")))
    assert one.ok and two.ok and one.text == two.text
    assert one.backend.adapter_signature == two.backend.adapter_signature is not None
    assert llama.probe().adapter_loads - before == 1
    other = write_lora(tmp_path / "c.gguf", seed=8)
    wrong = llama.call(_ask(Adapter(path=str(other), format="gguf-lora", sha256="0" * 64)))
    assert not wrong.ok and wrong.error.code == "adapter_invalid" and "0" * 64 in wrong.error.message
    assert llama.probe().adapter_loads - before == 1
