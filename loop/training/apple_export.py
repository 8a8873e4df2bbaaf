"""`autoresearch train export-apple`: SFT data in the Apple Foundation Models adapter training toolkit's
JSONL format, plus a `TRAIN.md` with the toolkit's own commands.

The format, as Apple's "Get started with Foundation Models adapter training" page documents it: one
training example per line, each line a JSON *array* of messages `{"role": ..., "content": ...}`
(the basic schema: `[{"role": "user", "content": "PROMPT"}, {"role": "assistant", "content":
"RESPONSE"}]`), split into a train and an eval file. The pipeline's instructions travel as a leading
`system` message (the toolkit's Schema.md; not on the public page). The messages are the ones `train
data sft` rendered with the pipeline's own guided call, so the prompt pin (data card sha256s) holds.
The toolkit trains SFT (LoRA) only: preference data is refused here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loop.errors import InputError
from loop.model_line import ModelIdentity
from loop.runners.protocol import Backend

ADAPTER_NAME = re.compile(r"^[A-Za-z0-9_]+$")  # the toolkit's export rule: letters, digits, underscores
SPLITS = {"train": "train.jsonl", "eval": "valid.jsonl"}  # source split → toolkit file (Apple's names)


class AppleMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


@dataclass(frozen=True)
class AppleExport:
    out: Path
    counts: dict[str, int]  # toolkit file → examples
    adapter_name: str
    base_model: str  # the model line the adapter will be locked to (its label)
    base_model_signature: str | None
    train_md: Path


def check_adapter_name(name: str) -> str:
    if not ADAPTER_NAME.match(name):
        raise ValueError(f"adapter name {name!r}: the toolkit's export allows letters, digits and underscores only")
    return name


def to_apple(messages: list[dict], where: Path, line: int) -> list[dict]:
    """One example's messages as the toolkit's line: system?, user, assistant (InputError otherwise)."""
    turns = []
    for index, message in enumerate(messages, 1):
        try:
            turns.append(AppleMessage.model_validate(message))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(map(str, first["loc"])) or "message"
            raise InputError(where, f"message {index}, `{field}`: {first['msg']}", line=line) from None
    roles = [t.role for t in turns]
    if roles not in (["user", "assistant"], ["system", "user", "assistant"]):
        raise InputError(where, f"an SFT example is [system,] user, assistant; this one is {roles}", line=line)
    return [t.model_dump() for t in turns]


def read_split(path: Path) -> list[list[dict]]:
    if not path.exists():
        return []
    rows = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON: {exc.msg}", line=number) from None
        if not isinstance(row, dict) or "messages" not in row:
            raise InputError(path, "an SFT example needs `messages` (build it with `train data sft`)", line=number)
        rows.append(to_apple(row["messages"], path, number))
    return rows


def export_apple(data_dir: Path, out_dir: Path, probe: Backend, *, adapter_name: str | None = None) -> AppleExport:
    """Write `train.jsonl`, `valid.jsonl` and `TRAIN.md` into `out_dir`; nothing is written on bad input."""
    from loop.training.data import read_card

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    card = read_card(data_dir)
    if card.kind != "sft":
        raise InputError(data_dir / "data_card.json", f"this is {card.kind} data: the Apple toolkit trains SFT "
                                                      f"only (build it with `train data sft`)")
    name = check_adapter_name(adapter_name or f"request_{card.request:04d}_sft")
    splits = {target: read_split(data_dir / f"{source}.jsonl") for source, target in SPLITS.items()}
    if not splits["train.jsonl"]:
        raise InputError(data_dir / "train.jsonl", "no training examples to export")
    identity = ModelIdentity.of(probe)
    out_dir.mkdir(parents=True, exist_ok=True)
    for target, rows in splits.items():
        (out_dir / target).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                      encoding="utf-8")
    train_md = out_dir / "TRAIN.md"
    train_md.write_text(render_train_md(card, identity, name, {k: len(v) for k, v in splits.items()}, out_dir),
                        encoding="utf-8")
    return AppleExport(out=out_dir, counts={k: len(v) for k, v in splits.items()}, adapter_name=name,
                       base_model=identity.label(), base_model_signature=identity.base_model_signature,
                       train_md=train_md)


def render_train_md(card, identity: ModelIdentity, name: str, counts: dict[str, int], out: Path) -> str:
    signature = identity.base_model_signature or "not reported by this runner"
    version = identity.version or identity.variant or identity.os_build or "not reported by this runner"
    apple = identity.backend == "apple"
    return "\n".join([
        f"# Training request {card.request:04d}: an adapter with Apple's adapter training toolkit",
        "",
        f"Data: {counts['train.jsonl']} train and {counts['valid.jsonl']} eval examples in the toolkit's JSONL "
        "format (each line a JSON array of `{\"role\", \"content\"}` messages: the pipeline's instructions as "
        "`system`, its prompt as `user`, the gold answer as the JSON its schema forces as `assistant`).",
        "",
        "**The toolkit trains SFT only** (LoRA on the system model): ORPO/DPO preference training is not "
        "available on this path; use `autoresearch train lora` for those.",
        "",
        "## The base model this adapter will be locked to",
        "",
        f"- Model line: `{identity.label()}` (key `{identity.line_key()}`)",
        f"- Model version: {version}",
        f"- Base-model signature (7-hex prefix the OS reports): {signature}",
        "",
        "Each adapter is compatible with one specific system model version: use the toolkit version that "
        "matches this OS, and retrain after a system model update." +
        ("" if apple else " This export was probed on a non-Apple runner: check the version on the Mac that "
                          "will run the adapter (`autoresearch runner probe`)."),
        "",
        "## Commands (run inside the toolkit directory, Python 3.11 environment)",
        "",
        "```sh",
        "python -m examples.train_adapter \\",
        f"  --train-data {out / 'train.jsonl'} \\",
        f"  --eval-data {out / 'valid.jsonl'} \\",
        "  --epochs 5 \\",
        "  --learning-rate 1e-3 \\",
        "  --batch-size 4 \\",
        f"  --checkpoint-dir {out / 'checkpoints'}/",
        "",
        "python -m export.export_fmadapter \\",
        f"  --adapter-name {name} \\",
        f"  --checkpoint {out / 'checkpoints' / 'adapter-final.pt'} \\",
        f"  --output-dir {out / 'exports'}/",
        "```",
        "",
        "The adapter name may hold letters, digits and underscores only (the toolkit's rule).",
        "",
        "## Register it",
        "",
        "```sh",
        f"autoresearch train register {out / 'exports' / (name + '.fmadapter')} --request {card.request} "
        "--recipe sft --data <the sft data directory>",
        "```",
        "",
        "Registration checks `metadata.json`, the adapter name and the base-model signature against the "
        "runner, and that the pipeline still sends the prompt this data was rendered with.",
        "",
    ])
