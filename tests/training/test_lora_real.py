"""The manual training track for real on SmolLM2-135M, through the real CLI: `train data sft` from the
training pool → `train lora` (a few seeded CPU steps, rank 2) → the GGUF LoRA and its metadata file →
`train register` evaluates it as an interactive experiment against the measured baseline and answers
the request → the llama runner loads the stored adapter and its greedy answer
to a training prompt differs from the base model's. Needs the `[train]` extra (torch, transformers,
peft): skipped with the reason where it is not installed (`make train-deps` installs it)."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from loop import models
from loop.adapters.store import AdapterStore, store_root
from loop.daemon.requests import list_requests
from loop.models import REGISTRY
from loop.runners.client import RunnerClient
from loop.runners.protocol import Adapter
from tests.support.research_repo import git_init, measure_baseline

from .conftest import greedy

MISSING = [name for name in ("torch", "transformers", "peft") if importlib.util.find_spec(name) is None]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(MISSING), reason=(
    f"needs the [train] extra ({', '.join(MISSING)} not importable): run `make train-deps`"))]


def test_sft_data_lora_gguf_register_and_the_runner_answers_differently(cli, cli_env, sft_request, tmp_path):
    data, run = tmp_path / "sft", tmp_path / "run"
    built = cli("train", "data", "sft", "--request", str(sft_request), "--out", str(data),
                   "--limit", "2", "--eval-share", "0", "--json")
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["counts"]["train"] == 2
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    trained = cli("train", "lora", "--data", str(data), "--out", str(run), "--steps", "4", "--rank", "2",
                     "--alpha", "4", "--lr", "3e-3", "--seed", "0", "--max-tokens", "224", "--json")
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)  # stderr has the progress bars
    losses = result["train"]["losses"]
    assert len(losses) == 4 and result["train"]["resumed_from"] == 0
    # each example is seen twice (steps 1-2, then 3-4 in the same seeded order): its loss went down
    assert all(second < first for first, second in zip(losses[:2], losses[2:])), losses
    sidecar = json.loads((run / "adapter.gguf.json").read_text())
    assert sidecar["recipe"] == "sft" and sidecar["request"] == sft_request and sidecar["steps"] == 4
    assert sidecar["base_model"]["sha256"] == REGISTRY["smollm2"].files[0].sha256
    assert sidecar["final_loss"] == losses[-1] and sidecar["data_card"]["counts"]["train"] == 2

    git_init(cli_env.repo)  # registration evaluates the adapter as an experiment against the baseline
    measure_baseline(cli_env)
    registered = cli("train", "register", result["gguf"], "--request", str(sft_request), "--json")
    assert registered.exit_code == 0, registered.output
    answer = json.loads(registered.stdout)
    assert answer["pin"] == "checked" and answer["status"] in ("kept", "discarded")
    store = AdapterStore(store_root(cli_env))
    meta = store.metadata(answer["sha256"])
    assert meta["recipe"] == "sft" and meta["final_loss"] == losses[-1] and meta["request"] == sft_request
    view = {v.id: v for v in list_requests(cli_env)}[sft_request]
    assert view.status == "answered" and view.answer_experiment == answer["experiment"]
    assert view.answer_quality == answer["quality"] is not None

    stored = store.object_path(answer["sha256"], "gguf-lora")
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(models.model_path("smollm2")),
            "--n-ctx", "1024", "--threads", "2"]
    with RunnerClient(argv, timeout_s=180, name="llama-lora") as client:
        plain = greedy(client, rows[0]["messages"])
        adapted = greedy(client, rows[0]["messages"],
                         Adapter(path=str(stored), format="gguf-lora", sha256=answer["sha256"]))
        backend = client.probe()
    assert backend.adapter_loads == 1
    assert plain and adapted and adapted != plain, (plain, adapted)
