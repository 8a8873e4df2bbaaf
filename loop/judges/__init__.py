"""Judges: `make_judge(config)` builds the one the config resolves to (`config.resolved_judge`)."""

from __future__ import annotations

from loop.config import Config
from loop.judges.base import Judge, JudgeError

JUDGES = ("proxy", "proxy-v1", "local", "anthropic", "panel")


def make_judge(config: Config, kind: str | None = None) -> Judge:
    """"proxy" -> proxy v2 (offline, MiniLM); "proxy-v1" -> the first proxy (its record stays readable);
    "local" -> the frozen judge prompts through a llama.cpp model; "anthropic" -> the official Claude judge; "panel" -> several official-judge model ids, majority verdict."""
    kind = kind or config.resolved_judge
    if kind == "proxy":
        from loop.judges.proxy_v2 import ProxyV2Judge

        return ProxyV2Judge(mode=config.judge_mode)
    if kind == "proxy-v1":
        from loop.judges.proxy import ProxyJudge

        return ProxyJudge(mode=config.judge_mode)
    if kind == "local":
        from loop.judges.local_judge import LocalJudge

        return LocalJudge(config)
    if kind == "anthropic":
        from loop.judges.anthropic_judge import AnthropicJudge

        return AnthropicJudge(config)
    if kind == "panel":
        from loop.judges.panel import PanelJudge

        return PanelJudge(config)
    raise ValueError(f"unknown judge {kind!r}; known: {', '.join(JUDGES)}")


__all__ = ["JUDGES", "Judge", "JudgeError", "make_judge"]
