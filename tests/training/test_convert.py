"""convert.py: a peft LoRA directory (adapter_config.json + adapter_model.safetensors, the layout
peft's save_pretrained writes) → a GGUF LoRA that the real llama runner on SmolLM2 accepts and whose
greedy output differs from the base model's; bad inputs are clear errors. The adapter here is peft's
layout with seeded random weights (no training: that is the slow LoRA test's job)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from loop import models
from loop.errors import InputError
from loop.runners.client import RunnerClient
from loop.runners.protocol import Adapter, Request, Sampling
from loop.training.convert import base_facts, convert, permute_rows

HIDDEN, KV, RANK = 576, 192, 4  # SmolLM2-135M: 9 heads × 64, 3 kv heads × 64


def write_peft(directory: Path, *, layers=(0, 1, 2), scale=0.2, seed=0) -> Path:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in layers:
        for module, out in (("q_proj", HIDDEN), ("v_proj", KV)):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.normal(0, scale, (RANK, HIDDEN)).astype(np.float32)
            tensors[f"{prefix}.lora_B.weight"] = rng.normal(0, scale, (out, RANK)).astype(np.float32)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(directory / "adapter_model.safetensors"))
    (directory / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": RANK, "lora_alpha": 2 * RANK, "target_modules": ["q_proj", "v_proj"]}))
    return directory


@pytest.fixture(scope="module")
def base():
    try:
        return models.model_path("smollm2")
    except models.ModelFileError as exc:
        pytest.fail(f"the conversion test needs the SmolLM2 test model: {exc}")


def test_the_permutation_acts_on_output_rows_only():
    rng = np.random.default_rng(1)
    b, a = rng.normal(size=(KV, RANK)), rng.normal(size=(RANK, HIDDEN))
    assert np.allclose(permute_rows(b, 3) @ a, permute_rows(b @ a, 3))
    assert not np.allclose(permute_rows(b, 3), b)


def test_converted_tensors_names_shapes_and_alpha(base, tmp_path):
    from gguf import GGUFReader

    out = convert(write_peft(tmp_path / "peft"), base, tmp_path / "a.gguf")
    reader = GGUFReader(out.path)
    shapes = {t.name: tuple(int(n) for n in t.shape) for t in reader.tensors}  # gguf order: ne0 first
    assert out.tensors == len(shapes) == 12
    assert shapes["blk.0.attn_q.weight.lora_a"] == (HIDDEN, RANK)
    assert shapes["blk.0.attn_q.weight.lora_b"] == (RANK, HIDDEN)
    assert shapes["blk.2.attn_v.weight.lora_b"] == (RANK, KV)
    alpha = reader.fields["adapter.lora.alpha"]
    assert float(alpha.parts[alpha.data[0]][0]) == 2 * RANK
    assert base_facts(base).architecture == "llama"


@pytest.mark.slow
def test_the_llama_runner_loads_it_and_answers_differently(base, tmp_path):
    gguf = convert(write_peft(tmp_path / "peft"), base, tmp_path / "a.gguf").path
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(base), "--n-ctx", "512",
            "--threads", "2"]

    def ask(client, adapter=None):
        request = Request(id=uuid.uuid4().hex, op="generate", prompt="Name three things to pack for Paris.",
                          sampling=Sampling(mode="greedy"), max_output_tokens=16, adapter=adapter)
        response = client.call(request)
        assert response.ok, response.error
        return response.text

    with RunnerClient(argv, timeout_s=120, name="llama-convert") as client:
        plain = ask(client)
        adapted = ask(client, Adapter(path=gguf, format="gguf-lora"))
        assert client.probe().adapter_loads == 1
    assert plain and adapted and adapted != plain


def test_bad_inputs_are_named(base, tmp_path):
    with pytest.raises(InputError, match="adapter_model.safetensors"):
        (tmp_path / "half").mkdir()
        (tmp_path / "half" / "adapter_config.json").write_text("{}")
        convert(tmp_path / "half", base, tmp_path / "x.gguf")
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\xff" * 64)
    with pytest.raises(InputError, match="corrupt.gguf"):
        convert(write_peft(tmp_path / "peft"), corrupt, tmp_path / "y.gguf")
    assert not (tmp_path / "x.gguf").exists() and not (tmp_path / "y.gguf").exists()
