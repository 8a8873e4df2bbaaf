"""Judges: `make_judge(config)` builds the one the config resolves to (`config.resolved_judge`)."""

from __future__ import annotations

from loop.config import Config
from loop.judges.base import Judge, JudgeError


def make_judge(config: Config) -> Judge:
    """"proxy" -> the offline MiniLM proxy; "anthropic" -> the official Claude judge."""
    kind = config.resolved_judge
    if kind == "proxy":
        from loop.judges.proxy import ProxyJudge

        return ProxyJudge(mode=config.judge_mode)
    if kind == "anthropic":
        from loop.judges.anthropic_judge import AnthropicJudge

        return AnthropicJudge(config)
    raise ValueError(f"unknown judge {kind!r}")


__all__ = ["Judge", "JudgeError", "make_judge"]
