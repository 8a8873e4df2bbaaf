"""One `train lora` run: train (lora.py for sft, preference.py for orpo/dpo), convert to a GGUF LoRA
(convert.py), and write the adapter's metadata file beside it (`adapter.gguf.json`, the sidecar `train register` and the inbox read), so the
adapter carries its recipe, request, base model (name and sha256), steps, final loss and data card."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from loop.training.lora import LoraSettings, TrainResult, train_sft


class TrainRun(BaseModel):
    train: TrainResult
    gguf: str
    conversion_s: float
    sidecar: str


def train_and_convert(config, card, data_dir: Path, out_dir: Path, base_gguf: Path, settings: LoraSettings, *,
                      log=print, progress: bool = True) -> TrainRun:
    from loop.adapters.register import base_model_of, sidecar_path
    from loop.training.convert import convert

    if settings.recipe == "sft":
        result = train_sft(data_dir, out_dir, base_gguf, settings, log=log, progress=progress)
    else:
        from loop.training.preference import train_preference

        result = train_preference(data_dir, out_dir, base_gguf, settings, log=log, progress=progress)
    converted = convert(Path(result.adapter_dir), base_gguf, Path(out_dir) / "adapter.gguf")
    sidecar = sidecar_path(Path(converted.path))
    metadata = {"recipe": settings.recipe, "base_model": base_model_of(config).model_dump(mode="json"),
                "request": card.request, "steps": result.steps, "final_loss": result.final_loss,
                "s_per_step": round(result.s_per_step, 3), "settings": settings.model_dump(),
                "data_card": card.model_dump(mode="json")}
    sidecar.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return TrainRun(train=result, gguf=converted.path, conversion_s=round(converted.seconds, 3), sidecar=str(sidecar))
