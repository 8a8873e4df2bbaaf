"""Registering a manually trained adapter as an interactive experiment (the manual training track).

The adapter dropped into `<repo>/adapters/inbox/` is moved into the experiment's worktree at
`agent_workspace/adapters/<name>`, and `[pipeline] adapter_path` / `adapter_format` in pipeline.toml
point at it. The daemon then verifies and scores it like any experiment (operator `interactive`).
The lever is `orpo` when the file name says so, else `sft`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.agents.pipeline_knobs import set_table_values


class AdapterRegistration:
    name = "adapter"

    def __init__(self, source: Path):
        self.source = Path(source)

    @property
    def lever(self) -> str:
        return "orpo" if "orpo" in self.source.name.lower() else "sft"

    def run(self, ctx: AgentContext) -> AgentOutcome:
        started = time.perf_counter()
        dest_dir = ctx.workspace / "adapters"
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / self.source.name
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        shutil.move(str(self.source), str(dest))
        fmt = "fmadapter" if self.source.suffix == ".fmadapter" else "gguf-lora"
        set_table_values(ctx.workspace / "pipeline.toml", "pipeline",
                         {"adapter_path": f"adapters/{dest.name}", "adapter_format": fmt})
        hypothesis = f"adapter: {dest.name} ({self.lever}, manual track)"
        method = (f"A human-trained {fmt} adapter dropped into adapters/inbox/ was registered at "
                  f"agent_workspace/adapters/{dest.name}; pipeline.toml [pipeline] adapter_path points at it. "
                  f"Everything else is the incumbent pipeline unchanged.")
        ctx.services.record_hypothesis(hypothesis, method, self.lever)
        return AgentOutcome(hypothesis=hypothesis, method=method, lever=self.lever, cost_usd=0.0, turns=0,
                            duration_s=time.perf_counter() - started, stop_reason="registered")
