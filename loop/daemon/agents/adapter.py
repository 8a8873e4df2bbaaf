"""Registering a manually trained adapter as an interactive experiment (the manual training track).

The adapter (dropped into `<repo>/adapters/inbox/` with its metadata file beside it, or named by
`autoresearch train register`) goes into the content-addressed adapter store, and the experiment's
worktree gets only its pointer, `agent_workspace/adapters/<name>.json`, with `[pipeline] adapter_path`
naming that pointer. The daemon then verifies and scores it like any experiment (operator
`interactive`); the lever is the adapter's recipe (`sft`, `orpo` or `dpo`) from its metadata.
"""

from __future__ import annotations

import time
from pathlib import Path

from loop.adapters.register import base_model_of, read_drop_metadata, register_adapter, sidecar_path
from loop.adapters.store import AdapterStore, store_root
from loop.daemon.agents.base import AgentContext, AgentOutcome


class AdapterRegistration:
    name = "adapter"
    steered = False  # evaluates a dropped adapter as it is: the supervisor's notes do not apply or expire

    def __init__(self, source: Path, *, recipe: str | None = None, adapter_name: str | None = None,
                 move: bool = True, origin: str | None = None, metadata: dict | None = None):
        self.source = Path(source)
        self.metadata = read_drop_metadata(self.source, recipe)  # InputError (naming the file) before any experiment
        self.adapter_name = adapter_name or self.metadata.name
        self.move = move
        self.origin = origin or f"adapters/inbox/{self.source.name}"
        self.extra = metadata or {}
        self.registration = None

    @property
    def lever(self) -> str:
        return self.metadata.recipe

    def run(self, ctx: AgentContext) -> AgentOutcome:
        started = time.perf_counter()
        sidecar = sidecar_path(self.source)
        registration = register_adapter(
            AdapterStore(store_root(ctx.config)), self.source, ctx.workspace, recipe=self.lever,
            base_model=self.metadata.base_model or base_model_of(ctx.config), origin=self.origin,
            name=self.adapter_name, move=self.move,
            metadata={**(self.metadata.model_extra or {}), "recipe": self.lever, **self.extra})
        if self.move and sidecar.exists():
            sidecar.unlink()
        self.registration = registration
        fmt, sha = registration.pointer.format, registration.pointer.sha256
        hypothesis = f"adapter: {registration.name} ({self.lever}, manual track)"
        method = (f"A human-trained {fmt} adapter (sha256 {sha[:12]}, {registration.pointer.size} bytes, from "
                  f"{self.origin}) was stored in the adapter store; agent_workspace/adapters/{registration.name}.json "
                  f"points at it and pipeline.toml [pipeline] adapter_path names that pointer. "
                  f"Everything else is the incumbent pipeline unchanged.")
        ctx.services.record_hypothesis(hypothesis, method, self.lever)
        return AgentOutcome(hypothesis=hypothesis, method=method, lever=self.lever, cost_usd=0.0, turns=0,
                            duration_s=time.perf_counter() - started, stop_reason="registered")
