"""Re-judging stored candidates in a judge mode (e.g. `coverage-blind`), beside a five-dimension control.

Nothing is regenerated: each experiment's official evaluation (its highest gate, under the standard
ruler id of the configured judge) is read back with its stored answers (`loop.daemon.rejudge.stored_report`)
and judged twice by the one re-judging service (`Rejudger`, fresh draws, no verdict cache):

- the control, the same judge in the standard mode: it must reproduce the logged quality within the
  noise floor (the ruler's stored floor for this experiment's line, else the ruler's newest, else the
  standard error of this very comparison), and the table says whether it does;
- the mode, a judge built with `judge_mode = mode`: its own judge id, hence its own ruler id.

Quality in each mode is `ruler.scoring.summarize(..., mode=judge.mode)`, inside the Rejudger. Both rounds
are recorded as evaluations of kind `rejudge` with no experiment (`subject_experiment` names whose
outputs they judged): they never enter the official record. Every experiment is checked before any
judging, so a bad request changes nothing.
"""

from __future__ import annotations

import sys

from pydantic import BaseModel
from sqlalchemy import select

from loop.analysis import AnalysisRefused
from loop.config import Config
from loop.db.models import Evaluation, Experiment
from loop.db.session import session_scope
from loop.ruler_files import ruler_id
from ruler.scoring import MODE_DIMENSIONS

REJUDGE_KIND = "rejudge"
EXACT = 1e-9  # a float-summation wobble, not a difference
MODES = tuple(m for m in MODE_DIMENSIONS if m != "standard")


class Subject(BaseModel):
    """One experiment to re-judge: its official evaluation under the standard ruler id."""

    experiment: int
    headline: str
    evaluation_id: int
    gate: str
    logged_quality: float


class ControlCheck(BaseModel):
    logged_quality: float
    control_quality: float
    difference: float  # control - logged
    noise_floor: float
    floor_source: str  # stored (this experiment's line) | ruler (the ruler's newest) | measured (this comparison)
    reproduced: bool  # |difference| <= noise floor
    exact: bool  # the same number (a deterministic judge)


class RejudgeRow(BaseModel):
    experiment: int
    headline: str
    gate: str
    cases: int
    evaluation_id: int  # the official evaluation whose answers were judged again
    quality_standard: float  # the control (five dimensions)
    quality_mode: float
    delta: float  # mode - standard
    losses_before: int  # the control's losses to gold
    losses_after: int  # the mode's
    control: ControlCheck
    control_evaluation_id: int | None
    mode_evaluation_id: int | None


class RejudgeTable(BaseModel):
    mode: str
    ruler_id: str  # the standard ruler the experiments were scored under (and the control's)
    judge_id: str
    mode_ruler_id: str
    mode_judge_id: str
    rows: list[RejudgeRow]

    @property
    def reproduced(self) -> bool:
        return all(r.control.reproduced for r in self.rows)

    def control_sentence(self) -> str:
        if all(r.control.exact for r in self.rows):
            return "The five-dimension control reproduces the logged quality exactly: the comparison is sound."
        if self.reproduced:
            worst = max(self.rows, key=lambda r: abs(r.control.difference))
            return ("The five-dimension control reproduces the logged quality within the noise floor "
                    f"(largest difference {worst.control.difference:+.4f}, floor {worst.control.noise_floor:.4f}): "
                    "the comparison is sound.")
        off = [r for r in self.rows if not r.control.reproduced]
        shown = ", ".join(f"experiment {r.experiment:04d} ({r.control.difference:+.4f} beyond floor "
                          f"{r.control.noise_floor:.4f})" for r in off)
        return (f"The five-dimension control does NOT reproduce the logged quality for {shown}: the judge no "
                "longer says what it said, so the mode comparison is not sound.")


def judges_for(config: Config, mode: str):
    """(control judge, mode judge): the configured judge in the standard mode and in `mode`."""
    from loop.judges import make_judge

    if mode not in MODES:
        raise AnalysisRefused(f"--mode {mode!r}: not a judge mode for re-judging; known: {', '.join(MODES)}")
    standard = config.model_copy(update={"judge_mode": "standard"})
    moded = config.model_copy(update={"judge_mode": mode})
    return (standard, make_judge(standard)), (moded, make_judge(moded))


def subjects(config: Config, numbers: list[int], rid: str, judge_id: str) -> list[Subject]:
    """Every requested experiment with its official evaluation under `rid`, or one AnalysisRefused naming
    every experiment that cannot be re-judged (unknown, never scored, scored under another ruler)."""
    from loop.daemon.experiments import headline

    if not numbers:
        raise AnalysisRefused("--experiments: name at least one experiment, e.g. 0,12,31")
    found, problems = [], []
    with session_scope(config) as db:
        for number in dict.fromkeys(numbers):
            exp = db.get(Experiment, number)
            if exp is None:
                problems.append(f"experiment {number} does not exist")
                continue
            if exp.ruler_id != rid:
                where = f"ruler {exp.ruler_id[:12]} (judge {exp.judge_id})" if exp.ruler_id else "no ruler (never scored)"
                problems.append(f"experiment {number} was scored under {where}, not under ruler {rid[:12]} of "
                                f"judge {judge_id}")
                continue
            ev = db.scalars(select(Evaluation).where(
                Evaluation.experiment_number == number, Evaluation.kind == "official", Evaluation.gate == exp.gate,
                Evaluation.ruler_id == rid).order_by(Evaluation.id.desc()).limit(1)).first()
            if ev is None or ev.quality is None:
                problems.append(f"experiment {number} has no official evaluation on its {exp.gate} gate")
                continue
            found.append(Subject(experiment=number, headline=headline(exp.hypothesis), evaluation_id=ev.id,
                                 gate=ev.gate, logged_quality=ev.quality))
    if problems:
        raise AnalysisRefused("cannot re-judge: " + "; ".join(problems)
                              + " (scores are comparable only under one ruler id; nothing was judged)")
    return found


def run_rejudge(config: Config, mode: str, numbers: list[int], *, progress: bool = True) -> RejudgeTable:
    from loop.daemon.rejudge import Rejudger, stored_report

    (std_config, std_judge), (mode_config, mode_judge) = judges_for(config, mode)
    rid = ruler_id(config.ruler_dir, std_judge.judge_id)
    mode_rid = ruler_id(config.ruler_dir, mode_judge.judge_id)
    todo = subjects(config, numbers, rid, std_judge.judge_id)
    control_service, mode_service = Rejudger(std_config, std_judge), Rejudger(mode_config, mode_judge)
    rows = []
    try:
        for index, subject in enumerate(todo, 1):
            if progress:
                print(f"rejudge: experiment {subject.experiment:04d} ({index} of {len(todo)}): five-dimension "
                      f"control, then {mode}", file=sys.stderr)
            stored = stored_report(config, subject.evaluation_id)
            control = control_service.rejudge(stored, kind=REJUDGE_KIND, experiment_number=None,
                                              subject=subject.experiment)
            in_mode = mode_service.rejudge(
                stored.model_copy(update={"ruler_id": mode_rid, "judge_id": mode_judge.judge_id}),
                kind=REJUDGE_KIND, experiment_number=None, subject=subject.experiment)
            rows.append(row_of(config, subject, stored, control, in_mode))
    finally:
        for judge in (std_judge, mode_judge):
            getattr(judge, "close", lambda: None)()
    return RejudgeTable(mode=mode, ruler_id=rid, judge_id=std_judge.judge_id, mode_ruler_id=mode_rid,
                        mode_judge_id=mode_judge.judge_id, rows=rows)


def row_of(config: Config, subject: Subject, stored, control, in_mode) -> RejudgeRow:
    """One table row from the official report (`stored`) and its two re-judged reports."""
    return RejudgeRow(
        experiment=subject.experiment, headline=subject.headline, gate=subject.gate, cases=len(stored.outcomes),
        evaluation_id=subject.evaluation_id, quality_standard=control.summary.quality,
        quality_mode=in_mode.summary.quality, delta=in_mode.summary.quality - control.summary.quality,
        losses_before=control.summary.losses, losses_after=in_mode.summary.losses,
        control=check_control(config, subject, stored, control), control_evaluation_id=control.evaluation_id,
        mode_evaluation_id=in_mode.evaluation_id)


def check_control(config: Config, subject: Subject, stored, control) -> ControlCheck:
    """Does the control reproduce the logged quality within the noise floor?"""
    from loop.daemon.keep import noise_floor_from, scores_from_outcomes
    from loop.daemon.noise import latest_noise_floor, stored_noise_floor
    from loop.model_line import line_key

    floor, source = stored_noise_floor(config, stored.ruler_id, line_key(stored.backend), subject.experiment), "stored"
    if floor is None:
        floor, source = latest_noise_floor(config, stored.ruler_id), "ruler"
    if floor is None:
        floor = noise_floor_from(scores_from_outcomes(stored.outcomes), scores_from_outcomes(control.outcomes))
        source = "measured"
    difference = control.summary.quality - subject.logged_quality
    return ControlCheck(logged_quality=subject.logged_quality, control_quality=control.summary.quality,
                        difference=difference, noise_floor=floor, floor_source=source,
                        reproduced=abs(difference) <= floor + EXACT, exact=abs(difference) <= EXACT)
