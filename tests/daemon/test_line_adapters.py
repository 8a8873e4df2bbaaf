"""A new model line whose incumbent uses an adapter locked to the old base model (issue 9).

Three `run --once` nights through the real daemon (git, SQLite, keep rule, holdout) with a stand-in
Apple runner (its probe names a model variant, a base-model signature and adapter support) and a
stand-in pipeline whose answer depends on the workspace: `BASE` for the stock pipeline, `VARIANT`
once `variant.txt` is there, `ADAPTER` when `[pipeline] adapter_path` names an adapter (registered in
the real content-addressed store). The in-process judge scores BASE 0.0, VARIANT 0.5, ADAPTER 1.0.

Night 1 keeps the variant (experiment 1), night 2 keeps the adapter (2, trained for base signature
`aaaaaaa`), night 3 runs on a new model: the adapter must not be scored there; the new line starts
from experiment 1 and one training request is filed for the new base.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from loop.adapters.pointer import BaseModelRef
from loop.adapters.register import register_adapter
from loop.adapters.store import AdapterStore, store_root
from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.line_adapters import adapter_use
from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.gitrecord import GitRecord
from loop.db.models import Event, TrainingRequest
from loop.db.session import session_scope
from loop.runners.protocol import Backend
from loop.runners.replay_server import generic_answer
from loop.sandbox.session import PipelineResult
from loop.schemas import Answer, CaseJudgement, DimScores

OLD_SIGNATURE = "aaaaaaa"
ADAPTER_SIGNATURE = "aaaaaaa1111111111111111111111111111111111"  # the full signature the toolkit writes


class AppleStandIn:
    """A runner whose probe is an Apple backend; it loads an adapter only for its own base signature."""

    def __init__(self, variant: str, os_build: str, signature: str | None, adapters_supported: bool):
        self.backend = Backend(name="apple", model="SystemLanguageModel.default", model_variant=variant,
                               os_build=os_build, base_model_signature=signature, available=True, dialect="apple",
                               adapters_supported=adapters_supported)
        self.refused = 0  # adapter requests that could not load

    def probe(self) -> Backend:
        return self.backend

    def loads(self, signature: str | None) -> bool:
        sig = self.backend.base_model_signature
        return bool(self.backend.adapters_supported and sig and signature and signature.startswith(sig))

    def close(self) -> None:
        return None


class StandInSession:
    mode = "none"  # the confinement evaluations record: a stand-in runs in-process, unconfined

    def __init__(self, workspace: Path, runner: AppleStandIn):
        workspace = Path(workspace)
        settings = tomllib.loads((workspace / "pipeline.toml").read_text())["pipeline"]
        self.adapter = settings.get("adapter_path") or ""
        self.signature = None
        if self.adapter:
            self.signature = json.loads((workspace / self.adapter).read_text())["base_model"]["signature"]
        self.variant, self.runner = (workspace / "variant.txt").exists(), runner

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def run_case(self, task):
        if self.adapter and not self.runner.loads(self.signature):
            self.runner.refused += 1
            return PipelineResult(answer=None, error="adapter_unsupported: the adapter cannot load", trace=[],
                                  deterministic=True, model_calls=1, latency_ms=1.0)
        answer = generic_answer(task)
        answer["title"] = f"{'ADAPTER' if self.adapter else 'VARIANT' if self.variant else 'BASE'}: {task}"
        return PipelineResult(answer=Answer(**answer), error=None, trace=[], deterministic=True, model_calls=1,
                              latency_ms=1.0)


class TitleJudge:
    """Deterministic: BASE loses to gold (0.0), VARIANT ties (0.5), ADAPTER wins (1.0)."""

    judge_id = "test:title-judge/1"
    LEVELS = {"BASE": ("gold", 1), "VARIANT": ("tie", 3), "ADAPTER": ("candidate", 5)}

    def judge(self, case, candidate):
        verdict, dims = self.LEVELS[candidate.title.split(":")[0]]
        return CaseJudgement(dims=DimScores(**dict.fromkeys(("atomicity", "specificity", "coverage", "naturalness",
                                                             "non_redundancy"), dims)),
                             verdict_candidate_first=verdict, verdict_gold_first=verdict, verdict=verdict)


class MarkerAgent:
    name = "scripted"

    def __init__(self, marker: str):
        self.marker = marker

    def run(self, ctx: AgentContext) -> AgentOutcome:
        (ctx.workspace / self.marker).write_text("a scripted change\n")
        ctx.services.record_hypothesis(f"scripted: add {self.marker}", "write one file", "inference")
        return AgentOutcome(hypothesis=f"scripted: add {self.marker}", cost_usd=0.0, turns=1)


class AdapterAgent:
    """Registers an `.fmadapter` trained for OLD_SIGNATURE into the workspace (store + pointer + toml)."""

    name = "scripted"

    def __init__(self, source: Path):
        self.source = source

    def run(self, ctx: AgentContext) -> AgentOutcome:
        register_adapter(AdapterStore(store_root(ctx.config)), self.source, ctx.workspace, recipe="sft",
                         base_model=BaseModelRef(name="SystemLanguageModel.default", signature=ADAPTER_SIGNATURE),
                         origin="test: trained for the old base", name="sft-old")
        ctx.services.record_hypothesis("scripted: the sft adapter", "register one adapter", "sft")
        return AgentOutcome(hypothesis="scripted: the sft adapter", cost_usd=0.0, turns=1)


def fmadapter(tmp_path: Path) -> Path:
    source = tmp_path / "sft-old.fmadapter"
    source.mkdir()
    (source / "metadata.json").write_text(json.dumps({"adapterIdentifier": "fmadapter-sft-old-aaaaaaa",
                                                      "baseModelSignature": ADAPTER_SIGNATURE}))
    (source / "adapter_weights.bin").write_bytes(b"\x00weights" * 64)
    return source


def night(repo: Path, h, runner: AppleStandIn, agent):
    cfg = h.config_for(repo)
    resources = Resources(cfg, runner=runner, judge=TitleJudge(),
                          session_factory=lambda workspace: StandInSession(workspace, runner))
    Daemon(cfg, RunOptions(once=True, live=False, watch=False, handle_signals=False), agent=agent,
           resources=resources).run()
    return cfg


def old_runner() -> AppleStandIn:
    return AppleStandIn("AFM 2", "26.4 (25E100)", OLD_SIGNATURE, True)


NEW_RUNNERS = {
    # macOS 26.x with a rebuilt base model: a new signature, adapters still supported
    "new-signature": AppleStandIn("AFM 2", "26.5 (25F50)", "bbbbbbb", True),
    # macOS 27: a new model variant, no signature, no adapter support
    "adapters-unsupported": AppleStandIn("AFM 3 Core", "27.0 (26A100)", None, False),
}


def run_three_nights(repo: Path, h, tmp_path: Path, new: AppleStandIn):
    night(repo, h, old_runner(), MarkerAgent("variant.txt"))
    night(repo, h, old_runner(), AdapterAgent(fmadapter(tmp_path)))
    return night(repo, h, new, MarkerAgent("notes.txt"))


def requests(config) -> list[TrainingRequest]:
    with session_scope(config) as db:
        return list(db.scalars(select(TrainingRequest).order_by(TrainingRequest.id)))


def line_events(config) -> list[Event]:
    with session_scope(config) as db:
        return list(db.scalars(select(Event).where(Event.kind == "model_line")))


@pytest.mark.parametrize("case", sorted(NEW_RUNNERS))
def test_a_locked_adapter_is_never_scored_on_the_new_line(case, research_repo, h, tmp_path):
    new = NEW_RUNNERS[case]
    config = run_three_nights(research_repo, h, tmp_path, new)
    git = GitRecord(research_repo)
    rows = h.rows(config)
    old_line = rows[0].model_line
    # the old line: baseline, the variant (kept), the adapter (kept, the incumbent when the model changed)
    assert [rows[n].status for n in range(3)] == ["kept", "kept", "kept"], [rows[n].reason for n in range(3)]
    assert {rows[n].model_line for n in range(3)} == {old_line}
    assert adapter_use(git, rows[1].commit) is None and adapter_use(git, rows[2].commit).path == "adapters/sft-old.json"
    assert rows[2].quality == pytest.approx(1.0) and rows[1].quality == pytest.approx(0.5)
    # the new line: the stock baseline (3) and the best ADAPTER-FREE pipeline, experiment 1 (4), re-scored
    new_line = rows[3].model_line
    assert new_line != old_line and [rows[n].model_line for n in (3, 4, 5)] == [new_line] * 3
    assert rows[3].agent == "baseline" and rows[3].parent_commit == rows[0].commit
    start = rows[4]
    assert start.agent == "line-best" and start.status == "kept", start.reason
    assert git.tree_of(start.parent_commit) == git.tree_of(rows[1].commit)  # experiment 1's pipeline
    assert git._git("rev-parse", f"{start.parent_commit}^") == rows[2].commit  # committed on the research tip
    assert "experiment 0001, the best adapter-free pipeline" in start.hypothesis
    assert start.quality == pytest.approx(0.5)
    assert git.research_tip() == start.commit and adapter_use(git, start.commit) is None
    # the re-judging service reads the new line's incumbent back on its own line (its noise floor is found)
    from loop.daemon.noise import stored_noise_floor
    from loop.daemon.rejudge import stored_report
    from loop.db.models import Evaluation
    from loop.model_line import line_key

    with session_scope(config) as db:
        official = db.scalars(select(Evaluation).where(Evaluation.experiment_number == 4, Evaluation.kind == "official",
                                                       Evaluation.gate == "full")).one()
    assert line_key(stored_report(config, official.id).backend) == new_line
    assert stored_noise_floor(config, start.ruler_id, new_line, 4) == 0.0
    # nothing on the new line used the adapter, and the runner was never asked to load it
    assert new.refused == 0
    assert all(adapter_use(git, rows[n].commit) is None for n in (3, 4, 5))
    # research continues inside the new line from experiment 4
    assert rows[5].parent == 4 and rows[5].decision["first"]["delta"] == pytest.approx(0.0)
    # one training request for the new base, naming why
    filed = requests(config)
    assert len(filed) == 1
    request = filed[0]
    assert request.recipe == "sft" and request.status == "open" and request.experiment_number == 2
    assert "adapters/sft-old.json" in request.rationale and "experiment 0001" in request.rationale
    assert f"new model line {new_line}" in request.evidence
    reason = ("it was trained for base model signature aaaaaaa11111; the new runner's base model is bbbbbbb"
              if case == "new-signature" else "the apple runner reports adapters_supported: false")
    assert reason in request.rationale
    assert (research_repo / request.path).is_file()
    # the record of the line change says it, for status, the digest and the dashboard
    [event] = line_events(config)
    assert event.payload["adapter_lock"] == {"adapter": "adapters/sft-old.json", "reason": reason,
                                             "start_experiment": 1, "start_commit": start.parent_commit,
                                             "request": request.id}
    assert (f"adapter adapters/sft-old.json cannot load on the new model ({reason}): the new line starts from "
            f"experiment 0001, the best adapter-free pipeline; training request {request.id:04d} filed") in event.message
    status = h.cli(research_repo, "status")
    assert status.returncode == 0 and "training request 0001 filed for the new base" in status.stdout, status.stdout


def test_an_adapter_that_fits_the_new_base_is_re_scored_and_no_request_is_filed(research_repo, h, tmp_path):
    """The control: a new OS build and variant, the same base-model signature: the adapter still loads."""
    new = AppleStandIn("AFM 2.1", "26.5 (25F50)", OLD_SIGNATURE, True)
    config = run_three_nights(research_repo, h, tmp_path, new)
    git = GitRecord(research_repo)
    rows = h.rows(config)
    assert rows[3].model_line != rows[2].model_line
    assert rows[4].agent == "line-best" and rows[4].parent_commit == rows[2].commit  # the incumbent itself
    assert adapter_use(git, rows[4].commit).path == "adapters/sft-old.json"
    assert rows[4].quality == pytest.approx(1.0) and new.refused == 0
    assert requests(config) == []
    [event] = line_events(config)
    assert event.payload["adapter_lock"] is None and "cannot load" not in event.message
