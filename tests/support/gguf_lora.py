"""A tiny, valid GGUF LoRA adapter for the SmolLM2 test model, written without any GGUF library:
rank-r LoRA on `blk.<i>.attn_q` (llama architecture, n_embd 576). The format as llama.cpp reads it:
header (magic, version 3, tensor count, kv count), key/values, tensor infos, data aligned to 32."""

from __future__ import annotations

import random
import struct
from pathlib import Path

ALIGN = 32
_U32, _F32, _STRING = 4, 6, 8
GGML_F32 = 0


def _string(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _kv(key: str, kind: int, value) -> bytes:
    body = {_U32: lambda v: struct.pack("<I", v), _F32: lambda v: struct.pack("<f", v), _STRING: _string}[kind](value)
    return _string(key) + struct.pack("<I", kind) + body


def write_lora(path: Path, *, seed: int = 0, rank: int = 2, n_embd: int = 576, layers: tuple[int, ...] = (0,),
               scale: float = 0.05, architecture: str = "llama") -> Path:
    """Write a LoRA with random A/B matrices (seeded, so the same seed gives the same bytes)."""
    rng = random.Random(seed)
    tensors: list[tuple[str, tuple[int, int], list[float]]] = []
    for layer in layers:
        base = f"blk.{layer}.attn_q.weight"
        tensors.append((f"{base}.lora_a", (n_embd, rank), [rng.gauss(0, scale) for _ in range(n_embd * rank)]))
        tensors.append((f"{base}.lora_b", (rank, n_embd), [rng.gauss(0, scale) for _ in range(rank * n_embd)]))
    kvs = [_kv("general.architecture", _STRING, architecture), _kv("general.type", _STRING, "adapter"),
           _kv("adapter.type", _STRING, "lora"), _kv("adapter.lora.alpha", _F32, float(rank)),
           _kv("general.alignment", _U32, ALIGN)]
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
    infos, blobs, offset = b"", [], 0
    for name, shape, values in tensors:
        infos += _string(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", n) for n in shape)
        infos += struct.pack("<IQ", GGML_F32, offset)
        blob = struct.pack(f"<{len(values)}f", *values)
        blob += b"\0" * (-len(blob) % ALIGN)
        blobs.append(blob)
        offset += len(blob)
    head = header + infos
    head += b"\0" * (-len(head) % ALIGN)
    Path(path).write_bytes(head + b"".join(blobs))
    return Path(path)
