"""Adapters by content: how often the llama runner loads one adapter used by five experiments.

Five workspaces (the shipped one, `pipeline.py` cut to one short text call through the shipped
`steps.adapters`), each holding a pointer to the same stored GGUF LoRA (a small random rank-2 LoRA
for SmolLM2, written by tests.support.gguf_lora), are run in the pipeline sandbox against ONE llama
runner process on SmolLM2-135M. The figure is the runner's own count (`probe().adapter_loads`).

Figures: adapter_loads_per_5_experiments (target 1), adapter_store_objects (target 1),
adapter_first_case_s (adapter load + one 6-token case) and adapter_cached_case_s (the case alone).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from loop import models
from loop.adapters.pointer import BaseModelRef
from loop.adapters.register import register_adapter
from loop.adapters.store import AdapterStore
from loop.config import REPO_ROOT
from loop.runners.client import RunnerClient
from loop.sandbox.session import PipelineSession
from tests.support.gguf_lora import write_lora

PIPELINE = '''
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


def main() -> None:
    model = models.model_path("smollm2")
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(model), "--n-ctx", "2048",
            "--threads", "2"]
    with tempfile.TemporaryDirectory(prefix="bench-adapters-") as tmp, RunnerClient(argv, timeout_s=120) as runner:
        root = Path(tmp)
        store = AdapterStore(root / "store")
        lora = write_lora(root / "sft-bench.gguf", seed=11)
        call_s = []
        for number in range(5):
            workspace = root / f"wt{number}" / "agent_workspace"
            shutil.copytree(REPO_ROOT / "agent_workspace", workspace, ignore=shutil.ignore_patterns("__pycache__"))
            (workspace / "pipeline.py").write_text(PIPELINE)
            drop = root / f"drop-{number}.gguf"
            shutil.copyfile(lora, drop)
            register_adapter(store, drop, workspace, recipe="sft", base_model=BaseModelRef(name=model.name),
                             origin="bench")
            with PipelineSession(workspace, runner, case_timeout_s=120, adapter_store=store) as session:
                started = time.perf_counter()
                result = session.run_case("plan a weekend trip to Lisbon")
                call_s.append(time.perf_counter() - started)
            if result.error:
                raise RuntimeError(f"experiment {number}: {result.error}")
        loads = runner.probe().adapter_loads
        objects = len(store.objects())
    print(f"adapter_loads_per_5_experiments: {loads} (target 1)")
    print(f"adapter_store_objects: {objects} (target 1)")
    print(f"adapter_first_case_s: {call_s[0]:.2f}")
    print(f"adapter_cached_case_s: {statistics.median(call_s[1:]):.2f}")
