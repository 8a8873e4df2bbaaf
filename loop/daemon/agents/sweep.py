"""The offline research agent: an Optuna study over the `[knobs]` of `agent_workspace/pipeline.toml`.

Each experiment asks the study for one trial over at most two knobs (picked at random, seeded by the
experiment number; the others stay at the incumbent's values, so an experiment is one readable
hypothesis, and TPE learns each knob from the trials that varied it), writes the proposed values as the knob defaults in the
worktree's pipeline.toml (textual edit: comments survive) and states the change as its hypothesis,
e.g. "sweep: temperature 0.2→0.6, strategy single→eight_then_trim". The daemon re-scores the tree
and reports the quality back through `on_result` (Optuna `tell`).

The study lives in the record's own database (Optuna RDB storage on `config.db_url`), one study per
ruler id (`sweep:<ruler id[:16]>`), so scores under different rulers never mix. Each trial carries
the experiment number as user attribute `experiment`; that is the experiment -> trial mapping.

The objective is ONE quantity on ONE gate: the experiment's dev-gate quality (its official dev
evaluation, the same 10 cases for every experiment), whether the experiment then stopped at the dev
gate or went on to the full gate — a full-gate quality is never told, so trials stay comparable. An
experiment with no dev-gate quality (crashed, invalid before scoring, judging failed) is told as
FAIL, never as a number. A trial still RUNNING when a new experiment starts belonged to an experiment
that died: it is marked FAIL. When a study is new, the incumbent's knob values are added as a finished
trial with the incumbent's quality on the dev gate's cases, so the sampler starts from what is known.

The supervisor's focus (`autoresearch steer --focus FAMILY`, `AgentContext.focus`) narrows the knobs a
trial may move to that family's knobs (`focused_space`, from the one table in loop/supervisor/families.py).
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from loop.config import Config
from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.agents.pipeline_knobs import Knob, describe_change, read_knobs, set_defaults
from loop.supervisor.families import knobs_of

log = logging.getLogger(__name__)
PIPELINE_TOML = "pipeline.toml"
KNOBS_PER_TRIAL = 2  # one hypothesis per experiment: move at most this many knobs from the incumbent


def _distribution(knob: Knob):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if knob.type == "categorical":
        return CategoricalDistribution(knob.choices)
    if knob.type == "int":
        return IntDistribution(int(knob.low), int(knob.high), log=knob.log, step=int(knob.step or 1))
    return FloatDistribution(float(knob.low), float(knob.high), log=knob.log, step=knob.step)


def focused_space(knobs: dict[str, Knob], focus: list[str]) -> tuple[list[str], str]:
    """The knobs a trial may move under the supervisor's focus (lever families, loop/supervisor/families.py),
    and a sentence for the method. No focus: every knob. A focus naming no knob of this pipeline.toml (e.g.
    `prompt`): every knob, and the method says the focus could not narrow the sweep."""
    if not focus:
        return sorted(knobs), ""
    space = sorted(knobs_of(focus) & set(knobs))
    if not space:
        return sorted(knobs), (f" The supervisor's focus ({', '.join(focus)}) names no knob of this pipeline.toml, "
                               "so the sweep searched every knob.")
    return space, f" Narrowed by the supervisor's focus ({', '.join(focus)}) to {', '.join(space)}."


def open_storage(config: Config):
    """Optuna storage in the record's database: Optuna keeps its own tables (studies, trials, ...)
    and its own `alembic_version`; the record's schema version lives in `autoresearch_schema_version`,
    so the two never collide."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.storages.RDBStorage(config.db_url,
                                      engine_kwargs={"connect_args": {"timeout": 30}}
                                      if config.db_url.startswith("sqlite") else None)


class SweepAgent:
    name = "sweep"

    def __init__(self, config: Config, storage=None):
        self.config = config
        self._storage = storage
        self._study = None
        self._study_name: str | None = None
        self.breadth = 0  # extra knobs moved per trial, raised by the daemon on a plateau (`broaden`)

    def study(self, ruler_id: str):
        import optuna

        name = f"sweep:{ruler_id[:16]}"
        if self._study is None or self._study_name != name:
            if self._storage is None:
                self._storage = open_storage(self.config)
            self._study = optuna.create_study(storage=self._storage, study_name=name, direction="maximize",
                                              load_if_exists=True)
            self._study_name = name
        return self._study

    def run(self, ctx: AgentContext) -> AgentOutcome:
        import optuna

        started = time.perf_counter()
        toml_path = ctx.workspace / PIPELINE_TOML
        knobs = read_knobs(toml_path)
        if not knobs:
            return AgentOutcome(error=f"{toml_path.relative_to(ctx.worktree)} declares no [knobs.*] to sweep",
                                stop_reason="nothing_to_do", duration_s=time.perf_counter() - started)
        study = self.study(ctx.ruler_id)
        self._fail_stale_trials(study)
        distributions = {name: _distribution(k) for name, k in knobs.items()}
        current = {name: k.default for name, k in knobs.items()}
        if not study.trials and ctx.best_dev_quality is not None:  # the objective's gate: dev
            self._seed_with_incumbent(study, current, distributions, ctx.best_dev_quality)
        study.sampler = optuna.samplers.TPESampler(seed=ctx.number, n_startup_trials=8)
        space, focus_note = focused_space(knobs, ctx.focus)
        varied = sorted(random.Random(ctx.number).sample(sorted(space), min(KNOBS_PER_TRIAL + self.breadth, len(space))))
        trial = study.ask({name: distributions[name] for name in varied})
        trial.set_user_attr("experiment", ctx.number)
        proposal: dict[str, Any] = {**current, **trial.params}
        changes = {n: v for n, v in proposal.items() if v != current[n]}
        if changes:
            set_defaults(toml_path, changes)
        moved = ", ".join(describe_change(n, current[n], v) for n, v in changes.items()) or "no knob moved"
        hypothesis = f"sweep: {moved}"
        method = (f"Optuna TPE trial {trial.number} of study {study.study_name} over {len(knobs)} knobs "
                  f"({', '.join(knobs)}), varying {' and '.join(varied)} from the incumbent's values; proposal written as the knob defaults in agent_workspace/{PIPELINE_TOML}. "
                  f"Full proposal: {proposal}.{focus_note}")
        ctx.services.record_hypothesis(hypothesis, method, "inference")
        return AgentOutcome(hypothesis=hypothesis, method=method, lever="inference", cost_usd=0.0, turns=0,
                            duration_s=time.perf_counter() - started, stop_reason="done")

    def broaden(self, reason: str) -> None:
        """A plateau: move one more knob per trial from now on (broader exploration)."""
        self.breadth += 1
        log.info("sweep: %s; now moving up to %d knobs per trial", reason, KNOBS_PER_TRIAL + self.breadth)

    def on_result(self, number: int, dev_quality: float | None, status: str) -> None:
        """The daemon's verdict on experiment `number`: tell the study its dev-gate quality, or FAIL
        when it has none or the experiment is invalid/crashed (never a number for those)."""
        import optuna

        if self._study is None:
            return
        for trial in self._study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if trial.user_attrs.get("experiment") == number:
                if dev_quality is None or status in ("invalid", "crashed"):
                    self._study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
                else:
                    self._study.tell(trial.number, dev_quality)
                return

    @staticmethod
    def _fail_stale_trials(study) -> None:
        import optuna

        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            log.info("sweep: trial %s of experiment %s never finished; marking it failed",
                     trial.number, trial.user_attrs.get("experiment"))
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)

    @staticmethod
    def _seed_with_incumbent(study, current: dict, distributions: dict, quality: float) -> None:
        import optuna

        try:
            params = {n: v for n, v in current.items() if distributions[n]._contains(distributions[n].to_internal_repr(v))}
            if len(params) == len(current):
                study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=quality,
                                                          user_attrs={"experiment": "incumbent"}))
        except Exception as exc:  # a default outside its declared range: just don't seed
            log.info("sweep: incumbent knob values not added to the study (%s)", exc)
