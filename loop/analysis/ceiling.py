"""The cloud ceiling: hold everything constant, change only the model.

Each cloud model is the candidate through the identical harness: the same workspace (pipeline prompts
and schema), the same ruler, judge and gate (`loop.evaluate.evaluate`, the `cloud` runner in place of
the on-device one). The harness stores a cloud candidate as an evaluation of kind `reference` with no
experiment, so it never becomes a point, a best or a keep decision of the on-device record. The table
sets those references beside the on-device best under the same ruler id and gate.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from loop.analysis import AnalysisRefused
from loop.analysis.record import REFERENCE_KIND, ScoredRun, on_device_best, references
from loop.config import Config

CLOUD_PREFIX = "claude"  # the cloud runner serves Claude model ids only (loop.runners.factory.cloud_model)


class CeilingTable(BaseModel):
    ruler_id: str
    judge_id: str
    gate: str
    rows: list[ScoredRun]  # the on-device best first (when the record has one), then each cloud model
    evaluated: list[int] = []  # reference evaluations this run recorded


def parse_models(spec: str) -> list[str]:
    """"claude-haiku-4-5,claude-sonnet-4-6" -> the ids, in order, once each; refuses what the cloud runner
    would not serve as named (it would silently fall back to its default model)."""
    models = list(dict.fromkeys(m.strip() for m in (spec or "").split(",") if m.strip()))
    if not models:
        raise AnalysisRefused("--models: name at least one cloud model, e.g. claude-haiku-4-5,claude-sonnet-4-6")
    wrong = [m for m in models if not m.startswith(CLOUD_PREFIX)]
    if wrong:
        raise AnalysisRefused(f"--models: {', '.join(map(repr, wrong))} is not a Claude model id (the cloud runner "
                              f"serves ids starting with {CLOUD_PREFIX!r})")
    return models


def run_ceiling(config: Config, models: list[str], gate: str, *, workspace: Path | None = None,
                progress: bool = True, use_cache: bool = True) -> CeilingTable:
    """Evaluate the workspace with each model as the cloud candidate (recorded as references), then the table."""
    from loop.evaluate import evaluate

    if not config.has_anthropic_credentials:
        raise AnalysisRefused("the cloud ceiling needs ANTHROPIC_API_KEY (or anthropic_base_url / ANTHROPIC_BASE_URL "
                              "for a compatible server); nothing was run")
    evaluated, report = [], None
    for index, model in enumerate(models, 1):
        if progress:
            print(f"ceiling: {model} as the candidate ({index} of {len(models)}), {gate} gate", file=sys.stderr)
        cloud = config.model_copy(update={"runner": "cloud", "model": model})
        report = evaluate(cloud, gate, workspace=workspace, progress=progress, use_cache=use_cache,
                          kind=REFERENCE_KIND)
        if report.kind != REFERENCE_KIND or report.backend.name != "cloud" or report.backend.model != model:
            raise RuntimeError(f"the ceiling run for {model} was not a cloud reference "
                               f"({report.backend.name}:{report.backend.model}, kind {report.kind})")
        evaluated.append(report.evaluation_id)
    table = ceiling_table(config, report.ruler_id, report.judge_id, gate, models)
    return table.model_copy(update={"evaluated": evaluated})


def ceiling_table(config: Config, ruler_id: str, judge_id: str, gate: str,
                  models: list[str] | None = None) -> CeilingTable:
    """From the record: the on-device best and the newest reference of each model (every stored model when
    `models` is None) under `ruler_id` on `gate`."""
    best = on_device_best(config, ruler_id, gate)
    rows = ([best] if best else []) + references(config, ruler_id, gate, models)
    return CeilingTable(ruler_id=ruler_id, judge_id=judge_id, gate=gate, rows=rows)
