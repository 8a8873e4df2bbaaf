"""A recorded trace stripped to its bare structure: the pipeline's shape, as its tile draws it.

Consecutive events of the same kind and label (and adapter) form one *stage*: five `candidate` calls
in a row are one stage of five (an ensemble is wide), draft → critique → revise are three stages of
one (a chain is tall). Kinds are the trace diagram's (`loop.trace_diagram.kind_of`): model calls,
adapter calls, deterministic steps; a *training* stage is added in front for each adapter the trace
calls whose metadata the adapter store holds (`<store>/objects/aa/<sha256>.meta.json`, written by
`autoresearch train register`): recipe, steps, final loss, the request it answered. An adapter
without metadata (or a trace event without its sha256) is drawn as adapter calls only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loop.trace_diagram import kind_of


@dataclass(frozen=True)
class AdapterInfo:
    """What the adapter store knows about one adapter (all figures optional: older metadata lacks them)."""

    sha256: str
    recipe: str | None = None
    steps: int | None = None
    final_loss: float | None = None
    request: int | None = None
    examples: int | None = None

    @classmethod
    def from_metadata(cls, sha256: str, meta: dict[str, Any]) -> "AdapterInfo":
        card = meta.get("data_card") if isinstance(meta.get("data_card"), dict) else {}
        counts = card.get("counts") if isinstance(card.get("counts"), dict) else {}
        return cls(sha256=sha256, recipe=_text(meta.get("recipe")), steps=_int(meta.get("steps")),
                   final_loss=_float(meta.get("final_loss")), request=_int(meta.get("request")),
                   examples=_int(counts.get("train")))

    def short(self) -> str:
        """What fits on a tile: the recipe and its steps."""
        return f"{self.recipe or 'training'} · {self.steps} steps" if self.steps is not None else self.recipe or "training"

    def words(self) -> str:
        parts = [self.recipe or "training"]
        if self.examples is not None:
            parts.append(f"{self.examples} examples")
        if self.steps is not None:
            parts.append(f"{self.steps} steps")
        if self.final_loss is not None:
            parts.append(f"loss {self.final_loss:.3f}")
        if self.request is not None:
            parts.append(f"request {self.request}")
        return " · ".join(parts)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class AdapterCatalog:
    """Adapter metadata by sha256 from one adapter store (None: no store, nothing known). Read once each."""

    def __init__(self, root: Path | None):
        self.root = Path(root) if root is not None else None
        self._seen: dict[str, AdapterInfo | None] = {}

    def get(self, sha256: str | None) -> AdapterInfo | None:
        if not sha256 or self.root is None:
            return None
        if sha256 not in self._seen:
            self._seen[sha256] = self._read(sha256)
        return self._seen[sha256]

    def _read(self, sha256: str) -> AdapterInfo | None:
        from loop.adapters.store import AdapterStore

        try:
            meta = AdapterStore(self.root).metadata(sha256)
        except (OSError, ValueError):  # unreadable metadata: the adapter is drawn without its recipe
            return None
        return AdapterInfo.from_metadata(sha256, meta) if isinstance(meta, dict) else None


@dataclass(frozen=True)
class Stage:
    kind: str  # model | adapter | step | training
    label: str
    count: int
    failed: int = 0
    adapter: str | None = None  # sha256 of the adapter an adapter/training stage is about
    detail: str = ""  # training: the recipe and its figures
    short: str = ""  # training: what fits on a tile


@dataclass(frozen=True)
class Shape:
    stages: tuple[Stage, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        """Events (training: adapters) per kind."""
        out: dict[str, int] = {}
        for stage in self.stages:
            out[stage.kind] = out.get(stage.kind, 0) + stage.count
        return out

    @property
    def empty(self) -> bool:
        return not self.stages


def adapter_sha(event: dict) -> str | None:
    adapter = event.get("adapter")
    sha = adapter.get("sha256") if isinstance(adapter, dict) else None
    return sha if isinstance(sha, str) and sha else None


def shape_of(trace: list[dict] | None, adapters: AdapterCatalog | None = None) -> Shape:
    """The bare structure of one recorded trace (None or [] → the empty shape)."""
    stages: list[Stage] = []
    used: list[str] = []
    for event in trace or []:
        if not isinstance(event, dict):
            continue
        kind = kind_of(event)
        label = str(event.get("label") or kind)
        sha = adapter_sha(event) if kind == "adapter" else None
        if sha and sha not in used:
            used.append(sha)
        failed = 1 if event.get("ok") is False else 0
        last = stages[-1] if stages else None
        if last is not None and (last.kind, last.label, last.adapter) == (kind, label, sha):
            stages[-1] = Stage(kind, label, last.count + 1, last.failed + failed, sha)
        else:
            stages.append(Stage(kind, label, 1, failed, sha))
    training = []
    for sha in used:
        info = adapters.get(sha) if adapters is not None else None
        if info is not None:
            training.append(Stage("training", info.recipe or "training", 1, adapter=sha, detail=info.words(),
                                  short=info.short()))
    return Shape(tuple(training + stages))
