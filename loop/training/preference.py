"""LoRA preference training (ORPO or DPO) with trl on the runner's own GGUF (dequantised), on CPU or MPS.

The data is `train data pref`'s rows (prompt = the chat messages the pipeline's guided call sends,
chosen = the pool's gold, rejected = the pipeline's own draft), given to trl in its conversational format
so the chat template of the GGUF is applied as the runner applies it; trl masks the prompt, so the loss is
on the answer tokens only. The model, the LoRA and the run layout (base_config/, checkpoint/, adapter/)
are the SFT path's (`lora.py`). trl's trainer (transformers' Trainer) checkpoints every `save_every` steps
under `checkpoint/` (adapter, optimiser, step, loss history) and a rerun resumes from the last one; a NaN
loss stops with a clear error.

ORPO (`trl.experimental.orpo` in trl 1.x) has no reference model. DPO (`trl.DPOTrainer`, stable) needs
one: with a LoRA it is the base with the adapter switched off, so each step runs the reference forward
passes too (and without a LoRA it would be a second copy of the model). ORPO is the default.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from loop.errors import InputError
from loop.training.lora import (LoraSettings, TrainResult, load_base, lora_config, nan_error, save_base_config,
                                train_rows)


def read_pairs(data_dir: Path) -> list[dict]:
    """`train.jsonl` preference rows in trl's conversational format; a row without prompt messages,
    chosen or rejected is refused naming its line."""
    path, parsed = train_rows(data_dir, "autoresearch train data pref")
    rows = []
    for number, row in parsed:
        missing = [k for k in ("prompt", "chosen", "rejected") if not isinstance(row, dict) or not row.get(k)]
        if missing or not isinstance(row["prompt"], list) or not all(isinstance(row[k], str)
                                                                     for k in ("chosen", "rejected")):
            raise InputError(path, f"not a preference pair (needs prompt messages, chosen and rejected text; "
                                   f"{', '.join(missing) or 'wrong types'} missing)", line=number)
        rows.append({"_line": number, "_id": row.get("id"), "prompt": row["prompt"],
                     "chosen": [{"role": "assistant", "content": row["chosen"]}],
                     "rejected": [{"role": "assistant", "content": row["rejected"]}]})
    return rows


def check_prompts(tokenizer, pairs: list[dict], path: Path, max_tokens: int) -> list[dict]:
    """Refuse up front (as the SFT path does) a pair whose prompt alone leaves no room for an answer; the
    rows as trl takes them."""
    for pair in pairs:
        ids = tokenizer.apply_chat_template(pair["prompt"], add_generation_prompt=True, tokenize=True)
        length = len(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "input_ids") else ids)
        if length >= max_tokens:
            raise InputError(path, f"pair {pair['_id']}: its prompt is {length} tokens, no room for the answer "
                                   f"under --max-tokens {max_tokens}", line=pair["_line"])
    return [{k: v for k, v in pair.items() if not k.startswith("_")} for pair in pairs]


def _trainer(settings: LoraSettings, model, tokenizer, dataset, checkpoint: Path, callback):
    common = dict(output_dir=str(checkpoint), max_steps=settings.steps, per_device_train_batch_size=1,
                  gradient_accumulation_steps=1, learning_rate=settings.learning_rate, lr_scheduler_type="constant",
                  warmup_steps=0, seed=settings.seed, data_seed=settings.seed, logging_steps=1,
                  logging_nan_inf_filter=False, save_strategy="steps", save_steps=settings.save_every,
                  report_to=[], disable_tqdm=True, bf16=False, fp16=False, gradient_checkpointing=False,
                  max_length=settings.max_tokens, beta=settings.beta, remove_unused_columns=False,
                  dataloader_num_workers=0)
    if settings.recipe == "orpo":
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        trainer = ORPOTrainer(model=model, args=ORPOConfig(**common), train_dataset=dataset,
                              processing_class=tokenizer, peft_config=lora_config(settings), callbacks=[callback])
    else:
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(model=model, args=DPOConfig(**common), train_dataset=dataset,
                             processing_class=tokenizer, peft_config=lora_config(settings), callbacks=[callback])
    from transformers import PrinterCallback, ProgressCallback

    for noisy in (PrinterCallback, ProgressCallback):  # they print to stdout; progress goes to stderr here
        trainer.remove_callback(noisy)
    return trainer


def _callback(settings: LoraSettings, checkpoint: Path, progress: bool):
    from tqdm import tqdm
    from transformers import TrainerCallback

    class Watch(TrainerCallback):
        """Progress bar with the loss (stderr); a NaN loss stops the run."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = tqdm(initial=state.global_step, total=settings.steps, disable=not progress,
                            desc=f"lora {settings.recipe}", unit="step")

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            loss = float(logs["loss"])
            if not math.isfinite(loss):
                last = sorted(checkpoint.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
                raise nan_error(loss, state.global_step, f"{settings.recipe} pairs",
                                str(last[-1]) if last else "none")
            self.bar.update(state.global_step - self.bar.n)
            self.bar.set_postfix(loss=f"{loss:.4f}")

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.close()

    return Watch()


def train_preference(data_dir: Path, out_dir: Path, base_gguf: Path, settings: LoraSettings, log=print,
                     progress: bool = True) -> TrainResult:
    import torch
    from datasets import Dataset
    from transformers.trainer_utils import get_last_checkpoint

    from loop.training.deps import offline_env

    if settings.recipe not in ("orpo", "dpo"):
        raise ValueError(f"recipe {settings.recipe!r} is not a preference recipe (orpo or dpo)")
    offline_env()
    pairs = read_pairs(data_dir)
    out_dir = Path(out_dir)
    checkpoint = out_dir / "checkpoint"
    torch.manual_seed(settings.seed)
    loading = time.perf_counter()
    tokenizer, model = load_base(base_gguf)
    load_s = time.perf_counter() - loading
    # transformers marks a model read from a GGUF as GGUF-quantised and Trainer refuses to train it, yet
    # its weights are already dequantised to float32 (`load_base`): nothing quantised is left to protect
    model.hf_quantizer, model.is_quantized = None, False
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = check_prompts(tokenizer, pairs, Path(data_dir) / "train.jsonl", settings.max_tokens)
    out_dir.mkdir(parents=True, exist_ok=True)
    base_config = save_base_config(model, out_dir)
    resume = get_last_checkpoint(str(checkpoint)) if checkpoint.is_dir() else None
    start = int(Path(resume).name.split("-")[1]) if resume else 0
    if resume:
        log(f"resuming from step {start} ({resume})")
    trainer = _trainer(settings, model, tokenizer, Dataset.from_list(rows), checkpoint,
                       _callback(settings, checkpoint, progress))
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    losses = [round(float(e["loss"]), 5) for e in trainer.state.log_history if "loss" in e]
    adapter_dir = out_dir / "adapter"
    trainer.model.save_pretrained(str(adapter_dir), save_embedding_layers=False)
    done = settings.steps - start
    return TrainResult(adapter_dir=str(adapter_dir), base_config_dir=str(base_config), steps=settings.steps,
                       final_loss=losses[-1] if losses else math.nan, losses=losses, resumed_from=start,
                       load_s=round(load_s, 3), s_per_step=seconds / done if done else 0.0)
