"""Preference training for real on SmolLM2-135M through the real CLI: `train drafts` (the pipeline's own
answers through the replay runner the tests use, sandboxed, proxy-judged) → `train data pref` (gold
chosen, the worst draft rejected) → `train lora --recipe orpo` (trl, a few seeded CPU steps, rank 2) lowers
the preference loss → the GGUF LoRA and its metadata name the recipe, so registration sets the lever, and
the llama runner loads it and answers.
DPO's trainer runs on a tiny model of SmolLM2's shape (its mechanics, cheaply); a NaN loss stops with a
clear error. Needs the `[train]` extra with trl: skipped with the reason where it is not installed."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from loop.models import REGISTRY, model_path
from loop.runners.client import RunnerClient
from loop.runners.protocol import Adapter

from .conftest import greedy

MISSING = [n for n in ("torch", "transformers", "peft", "trl", "datasets") if importlib.util.find_spec(n) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=(
    f"needs the [train] extra ({', '.join(MISSING)} not importable): run `make train-deps`"))


@pytest.fixture
def orpo_request(train_config) -> int:
    from loop.daemon.requests import create_request

    return create_request(train_config, "orpo", "the drafts repeat themselves", "r02: non-redundancy 2", send=False)


@pytest.mark.slow
def test_orpo_on_pairs_from_on_policy_drafts_lowers_the_preference_loss(cli, orpo_request, tmp_path):
    drafts, data, run = tmp_path / "drafts.jsonl", tmp_path / "pref", tmp_path / "run"
    drafted = cli("train", "drafts", "--out", str(drafts), "--n", "2", "--limit", "2", "--json")
    assert drafted.exit_code == 0, drafted.output
    assert json.loads(drafted.stdout)["written"] == 4
    built = cli("train", "data", "pref", "--request", str(orpo_request), "--out", str(data), "--limit", "2",
                "--eval-share", "0", "--drafts", str(drafts), "--json")
    assert built.exit_code == 0, built.output
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["chosen"] != r["rejected"] for r in rows)
    trained = cli("train", "lora", "--data", str(data), "--out", str(run), "--steps", "3", "--rank", "2",
                  "--alpha", "4", "--lr", "3e-3", "--max-tokens", "256", "--json")
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)
    losses = result["train"]["losses"]
    assert len(losses) == 3 and losses[-1] < losses[0], losses
    sidecar = json.loads((run / "adapter.gguf.json").read_text())
    assert sidecar["recipe"] == "orpo" and sidecar["request"] == orpo_request  # the default for pref data
    assert sidecar["base_model"]["sha256"] == REGISTRY["smollm2"].files[0].sha256
    assert (run / "adapter.gguf").read_bytes()[:4] == b"GGUF"
    assert "checkpoint-3" in {p.name for p in (run / "checkpoint").iterdir()}
    # the converted ORPO adapter loads in the llama runner the evaluations use, and answers
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(model_path("smollm2")),
            "--n-ctx", "1024", "--threads", "2"]
    with RunnerClient(argv, timeout_s=180, name="llama-orpo") as client:
        adapted = greedy(client, rows[0]["prompt"], Adapter(path=str(run / "adapter.gguf"), format="gguf-lora"))
        backend = client.probe()
    assert adapted.strip() and backend.adapter_loads == 1


CHAT = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}[SEP]{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def tiny_base(nan: bool = False):
    """A 2-layer Llama (SmolLM2's architecture) and the MiniLM tokenizer with a chat template: trl's
    mechanics in seconds (the real model is the ORPO test's)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from loop.models import models_dir

    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(models_dir() / "minilm" / "tokenizer.json"),
                                        eos_token="[SEP]", pad_token="[PAD]", bos_token="[CLS]")
    tokenizer.chat_template = CHAT
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
    if nan:
        with torch.no_grad():
            model.lm_head.weight.fill_(float("nan"))
    return tokenizer, model


def pairs_dir(tmp_path):
    data = tmp_path / "pairs"
    data.mkdir()
    rows = [{"prompt": [{"role": "system", "content": "Ask questions."}, {"role": "user", "content": f"Task {i}"}],
             "chosen": json.dumps({"title": f"Trip {i}", "questions": ["When?", "Where to?"]}),
             "rejected": json.dumps({"title": "x", "questions": ["?"]})} for i in range(2)]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def test_dpo_trains_and_checkpoints_and_a_rerun_resumes(tmp_path, monkeypatch):
    from loop.training import preference
    from loop.training.lora import LoraSettings

    monkeypatch.setattr(preference, "load_base", lambda _path: tiny_base())
    settings = LoraSettings(recipe="dpo", rank=2, alpha=4, steps=2, learning_rate=1e-2, save_every=2,
                            target_modules=["q_proj", "v_proj"], max_tokens=64)
    first = preference.train_preference(pairs_dir(tmp_path), tmp_path / "run", tmp_path / "m.gguf", settings,
                                        progress=False)
    assert first.resumed_from == 0 and len(first.losses) == 2
    assert abs(first.losses[0] - 0.6931) < 1e-3  # DPO starts at log 2: the policy equals its reference
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").exists()
    more = settings.model_copy(update={"steps": 3})
    second = preference.train_preference(tmp_path / "pairs", tmp_path / "run", tmp_path / "m.gguf", more,
                                         progress=False, log=lambda _m: None)
    assert second.resumed_from == 2 and len(second.losses) == 3 and second.losses[:2] == first.losses


def test_a_nan_loss_stops_with_a_clear_error(tmp_path, monkeypatch):
    from loop.training import preference
    from loop.training.lora import LoraSettings, TrainingError

    monkeypatch.setattr(preference, "load_base", lambda _path: tiny_base(nan=True))
    settings = LoraSettings(recipe="orpo", rank=2, alpha=4, steps=3, save_every=5, max_tokens=64)
    with pytest.raises(TrainingError, match=r"the loss became nan at step 1 .*last good checkpoint is none"):
        preference.train_preference(pairs_dir(tmp_path), tmp_path / "run", tmp_path / "m.gguf", settings,
                                    progress=False)
    assert not (tmp_path / "run" / "adapter").exists()


def test_a_prompt_that_fills_max_tokens_is_refused_up_front(tmp_path, monkeypatch):
    from loop.errors import InputError
    from loop.training import preference
    from loop.training.lora import LoraSettings

    monkeypatch.setattr(preference, "load_base", lambda _path: tiny_base())
    settings = LoraSettings(recipe="orpo", rank=2, alpha=4, steps=1, max_tokens=16)
    with pytest.raises(InputError, match=r"train.jsonl:1: pair None: its prompt is \d+ tokens, no room"):
        preference.train_preference(pairs_dir(tmp_path), tmp_path / "run", tmp_path / "m.gguf", settings,
                                    progress=False)
    assert not (tmp_path / "run").exists()
