"""PEFT LoRA → GGUF LoRA for the llama runner, written with the `gguf` package (the library llama.cpp's
own converters use). The GGUF LoRA layout llama.cpp reads: `general.type = adapter`, `adapter.type =
lora`, `adapter.lora.alpha`, and per adapted weight two tensors `<gguf weight>.lora_a` (rank × in) and
`<gguf weight>.lora_b` (out × rank). For the `llama` architecture the GGUF stores q/k projections with
the rotary rows permuted (transformers undoes that when it loads the GGUF), so lora_b of q/k gets the
same row permutation; A is untouched (W' = W + B·A, the permutation acts on output rows only).

No sdist download and no network: everything needed is the peft adapter directory and the base GGUF.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from loop.errors import InputError

HF_TO_GGUF = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
              "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down"}
SUPPORTED = ("llama", "qwen2")
PEFT_KEY = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.(.+)\.lora_([AB])\.weight$")


class ConversionError(RuntimeError):
    pass


@dataclass(frozen=True)
class BaseFacts:
    architecture: str
    n_head: int
    n_head_kv: int


@dataclass(frozen=True)
class Converted:
    path: str
    tensors: int
    seconds: float


def _field(reader, key: str):
    field = reader.fields.get(key)
    if field is None:
        return None
    value = field.parts[field.data[0]]
    return bytes(value).decode("utf-8") if field.types and field.types[0].name == "STRING" else int(value[0])


def base_facts(base_gguf: Path) -> BaseFacts:
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(base_gguf))
    except Exception as exc:  # gguf raises ValueError/struct errors on a damaged file
        raise InputError(base_gguf, f"not a readable GGUF model: {exc}") from None
    arch = _field(reader, "general.architecture")
    if arch not in SUPPORTED:
        raise ConversionError(f"{base_gguf.name}: architecture {arch!r} is not supported (only {SUPPORTED})")
    n_head = _field(reader, f"{arch}.attention.head_count")
    return BaseFacts(arch, n_head, _field(reader, f"{arch}.attention.head_count_kv") or n_head)


def permute_rows(weights, n_head: int):
    """The rotary row order of llama GGUF q/k weights (each head's halves interleaved)."""
    rows = weights.shape[0]
    return weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def read_peft(adapter_dir: Path) -> tuple[dict, dict]:
    from safetensors.numpy import load_file

    adapter_dir = Path(adapter_dir)
    config_path, weights_path = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise InputError(path, "missing: a peft LoRA directory has adapter_config.json and "
                                   "adapter_model.safetensors")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(config_path, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    return config, load_file(str(weights_path))


def convert(adapter_dir: Path, base_gguf: Path, outfile: Path) -> Converted:
    import numpy as np
    from gguf import GGUFWriter

    started = time.perf_counter()
    config, weights = read_peft(adapter_dir)
    facts = base_facts(Path(base_gguf))
    tensors: list[tuple[str, np.ndarray]] = []
    for key in sorted(weights):
        match = PEFT_KEY.match(key)
        if not match or match.group(2) not in HF_TO_GGUF:
            raise ConversionError(f"{adapter_dir}: tensor {key} is not a LoRA weight this converter maps")
        layer, module, side = match.groups()
        value = weights[key].astype(np.float32)
        if side == "B" and facts.architecture == "llama" and module in ("self_attn.q_proj", "self_attn.k_proj"):
            value = permute_rows(value, facts.n_head if module.endswith("q_proj") else facts.n_head_kv)
        tensors.append((f"blk.{layer}.{HF_TO_GGUF[module]}.weight.lora_{side.lower()}", np.ascontiguousarray(value)))
    if not tensors:
        raise ConversionError(f"{adapter_dir}: the adapter holds no LoRA tensors")
    outfile = Path(outfile)
    outfile.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(outfile), facts.architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(config.get("lora_alpha", config.get("r", 1))))
    for name, value in tensors:
        writer.add_tensor(name, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Converted(path=str(outfile), tensors=len(tensors), seconds=time.perf_counter() - started)
