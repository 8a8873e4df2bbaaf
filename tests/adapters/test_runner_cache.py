"""The llama runner caches loaded adapters by content hash, not by path: five experiments (five
workspaces, five pointers, one stored adapter) in the pipeline sandbox load the adapter once, counted
by the runner's own probe (`adapter_loads`). The workspaces are the shipped one with `pipeline.py`
cut to one short text call that takes its adapter from the shipped `steps.adapters` (the shipped
guided call costs ~20 s per case on SmolLM2 under a CPU grammar; the daemon test covers it)."""

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


SHORT_PIPELINE = '''
from pathlib import Path

from steps.adapters import adapter_from
from steps.config import load_pipeline_config

WORKSPACE = Path(__file__).resolve().parent


def generate(task, model):
    settings = load_pipeline_config(WORKSPACE)["pipeline"]
    reply = model.respond(f"Restate: {task}", sampling={"mode": "greedy"}, max_output_tokens=6,
                          adapter=adapter_from(settings, WORKSPACE), label="draft")
    return {"title": reply.text, "questions": [f"q{i}?" for i in range(7)]}
'''


def _short(workspace: Path) -> Path:
    (workspace / "pipeline.py").write_text(SHORT_PIPELINE)
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
        with PipelineSession(workspace, llama, case_timeout_s=120, adapter_store=store) as session:
            result = session.run_case("plan a weekend trip to Lisbon")
        calls = [event for event in result.trace if event.get("kind") == "adapter"]
        assert result.error is None and len(calls) == 1 and calls[0]["ok"], result.trace
        traces.append(calls[0]["adapter"])
    assert len(store.objects()) == 1
    assert {(t["path"], t["sha256"]) for t in traces} == {(str(store.objects()[0]), traces[0]["sha256"])}
    assert llama.probe().adapter_loads - before == 1


def _ask(adapter: Adapter) -> Request:
    return Request(id="a", op="generate", prompt="Say hello.", sampling=Sampling(mode="greedy"),
                   max_output_tokens=8, adapter=adapter)


def test_raw_paths_with_the_same_content_share_one_load_and_a_wrong_digest_is_refused(llama, tmp_path):
    from tests.support.gguf_lora import write_lora

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
