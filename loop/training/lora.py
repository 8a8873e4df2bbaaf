"""LoRA SFT on CPU (or MPS) with peft + transformers, loading the very GGUF file the llama runner uses
(dequantised by transformers). Loss on the answer tokens only (prompt tokens are masked with -100);
the prompt is the chat template of the GGUF itself, as the runner applies it. Checkpoints every
`save_every` steps (adapter weights, optimiser, step), so a killed run resumes; a NaN loss stops
with a clear error."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from loop.errors import InputError


class TrainingError(RuntimeError):
    pass


RECIPES = ("sft", "orpo", "dpo")
PREFERENCE_DEFAULT = "orpo"  # no reference model: half DPO's forward passes (with LoRA) or memory (without)


class LoraSettings(BaseModel):
    recipe: Literal["sft", "orpo", "dpo"] = "sft"
    rank: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    steps: int = Field(default=60, ge=1)
    learning_rate: float = Field(default=2e-4, gt=0)
    seed: int = 0
    save_every: int = Field(default=10, ge=1)
    max_tokens: int = Field(default=768, ge=16)  # an example longer than this is cut (its answer end lost)
    beta: float = Field(default=0.1, gt=0)  # orpo: weight of the odds-ratio term; dpo: the KL strength


class TrainResult(BaseModel):
    adapter_dir: str  # the peft adapter (adapter_config.json + adapter_model.safetensors)
    base_config_dir: str  # config.json of the base model, for the GGUF converter
    steps: int
    final_loss: float
    losses: list[float]
    s_per_step: float
    load_s: float  # loading the GGUF into transformers (dequantised)
    resumed_from: int


def train_rows(data_dir: Path, build_with: str) -> tuple[Path, list[tuple[int, object]]]:
    """A data directory's `train.jsonl`: its path and (line number, parsed JSON) per non-blank line. A
    missing or empty file (`build_with`: the command that builds one) or a line that is not JSON is an
    InputError naming it."""
    path = Path(data_dir) / "train.jsonl"
    if not path.exists() or not path.read_text().strip():
        raise InputError(path, f"no training examples here: build them with `{build_with}`")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError:
                raise InputError(path, "not JSON", line=number) from None
    return path, rows


def read_examples(data_dir: Path) -> list[dict]:
    path, parsed = train_rows(data_dir, "autoresearch train data sft")
    rows = []
    for number, row in parsed:
        try:
            assert row["messages"][-1]["role"] == "assistant"
        except (KeyError, IndexError, AssertionError, TypeError):
            raise InputError(path, "not an SFT example (needs messages ending with the assistant turn)",
                             line=number) from None
        row["_line"] = number
        rows.append(row)
    return rows


def load_base(gguf_path: Path):
    """(tokenizer, model) from the runner's GGUF file, dequantised to float32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                 dtype=torch.float32)
    return tokenizer, model


def encode(tokenizer, messages: list[dict], max_tokens: int) -> tuple[list[int], list[int]]:
    """input ids and labels: the prompt (chat template up to the assistant turn) masked with -100."""
    prompt_ids = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True)
    if isinstance(prompt_ids, dict) or hasattr(prompt_ids, "input_ids"):
        prompt_ids = prompt_ids["input_ids"]
    answer_ids = tokenizer(messages[-1]["content"], add_special_tokens=False)["input_ids"]
    end = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    if len(prompt_ids) >= max_tokens:
        raise ValueError(f"its prompt is {len(prompt_ids)} tokens, no room for the answer under --max-tokens "
                         f"{max_tokens}")
    ids = (list(prompt_ids) + answer_ids + end)[:max_tokens]
    labels = ([-100] * len(prompt_ids) + answer_ids + end)[:max_tokens]
    return ids, labels


def encode_all(tokenizer, examples: list[dict], path: Path, max_tokens: int) -> list[tuple[list[int], list[int]]]:
    """Every example encoded before the first step, so one that cannot train is refused up front."""
    encoded = []
    for example in examples:
        try:
            encoded.append(encode(tokenizer, example["messages"], max_tokens))
        except ValueError as exc:
            raise InputError(path, f"example {example.get('id')}: {exc}", line=example.get("_line")) from None
    return encoded


def lora_config(settings: LoraSettings):
    from peft import LoraConfig

    return LoraConfig(r=settings.rank, lora_alpha=settings.alpha, target_modules=settings.target_modules,
                      lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")


def save_base_config(model, out_dir: Path) -> Path:
    """config.json of the base model beside the run, for the GGUF LoRA converter."""
    base_config = Path(out_dir) / "base_config"
    model.config.architectures = model.config.architectures or [type(model).__name__]  # the converter needs it
    model.config.save_pretrained(base_config)
    return base_config


def nan_error(loss: float, step: int, where: str, checkpoint: str) -> TrainingError:
    return TrainingError(f"the loss became {loss} at step {step} ({where}): lower --lr or check the data; the "
                         f"last good checkpoint is {checkpoint}")


def train_sft(data_dir: Path, out_dir: Path, base_gguf: Path, settings: LoraSettings, log=print,
              progress: bool = True) -> TrainResult:
    import torch
    from peft import PeftModel, get_peft_model
    from tqdm import tqdm

    examples = read_examples(data_dir)
    out_dir = Path(out_dir)
    checkpoint = out_dir / "checkpoint"
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    loading = time.perf_counter()
    tokenizer, model = load_base(base_gguf)
    load_s = time.perf_counter() - loading
    encoded = encode_all(tokenizer, examples, Path(data_dir) / "train.jsonl", settings.max_tokens)
    out_dir.mkdir(parents=True, exist_ok=True)
    base_config = save_base_config(model, out_dir)
    start, losses = 0, []
    state_path = checkpoint / "state.pt"
    if state_path.exists():
        model = PeftModel.from_pretrained(model, str(checkpoint), is_trainable=True)
        state = torch.load(state_path, weights_only=False)
        start, losses = state["step"], state["losses"]
        log(f"resuming from step {start} ({checkpoint})")
    else:
        model = get_peft_model(model, lora_config(settings))
        state = None
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    if state is not None:
        optimiser.load_state_dict(state["optimiser"])
    order = list(range(len(examples)))
    random.Random(settings.seed).shuffle(order)
    model.train()
    started = time.perf_counter()
    bar = tqdm(range(start, settings.steps), initial=start, total=settings.steps, disable=not progress,
               desc=f"lora {settings.recipe}", unit="step")
    for step in bar:
        index = order[step % len(order)]
        ids, labels = encoded[index]
        output = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
        loss = output.loss
        if not torch.isfinite(loss):
            raise nan_error(loss.item(), step + 1, f"example {examples[index].get('id')}",
                            str(checkpoint) if state_path.exists() else "none")
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        losses.append(round(float(loss.item()), 5))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
        if (step + 1) % settings.save_every == 0 or step + 1 == settings.steps:
            model.save_pretrained(str(checkpoint), save_embedding_layers=False)
            torch.save({"step": step + 1, "losses": losses, "optimiser": optimiser.state_dict()}, state_path)
    bar.close()
    done = settings.steps - start
    adapter_dir = out_dir / "adapter"
    model.save_pretrained(str(adapter_dir), save_embedding_layers=False)
    final = losses[-1] if losses else math.nan
    return TrainResult(adapter_dir=str(adapter_dir), base_config_dir=str(base_config), steps=settings.steps,
                       final_loss=final, losses=losses, resumed_from=start, load_s=round(load_s, 3),
                       s_per_step=(time.perf_counter() - started) / done if done else 0.0)
