"""Typed ORM models of the record. Every score row carries the ruler id it was measured under.

Schema changes go through an Alembic migration in `db/migrations/versions/`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Ruler(Base):
    """One version of the measuring stick: file hashes + judge model + judge mode."""

    __tablename__ = "rulers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    judge_id: Mapped[str] = mapped_column(String(200))  # e.g. "proxy:minilm-l6-int8/1" or "anthropic:claude-sonnet-4-6"
    judge_mode: Mapped[str] = mapped_column(String(40), default="standard")
    files: Mapped[dict] = mapped_column(JSON)  # relative path -> sha256
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Experiment(Base):
    """One iteration of the loop (or an interactive adapter evaluation)."""

    __tablename__ = "experiments"
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent: Mapped[int | None] = mapped_column(Integer, nullable=True)  # incumbent experiment number
    parent_commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    branch: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|kept|discarded|invalid|crashed
    step: Mapped[str] = mapped_column(String(30), default="claimed")  # state-machine step reached
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    hypothesis: Mapped[str | None] = mapped_column(Text, nullable=True)
    method: Mapped[str | None] = mapped_column(Text, nullable=True)
    lever: Mapped[str] = mapped_column(String(20), default="inference")  # inference|sft|orpo|dpo, derived
    operator: Mapped[str] = mapped_column(String(20), default="autonomous")  # autonomous|interactive
    agent: Mapped[str | None] = mapped_column(String(40), nullable=True)  # claude|sweep|adapter
    gate: Mapped[str | None] = mapped_column(String(10), nullable=True)  # highest gate reached
    quality: Mapped[float | None] = mapped_column(Float, nullable=True)
    delta: Mapped[float | None] = mapped_column(Float, nullable=True)
    dims: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    wins: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ties: Mapped[int | None] = mapped_column(Integer, nullable=True)
    losses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ruler_id: Mapped[str | None] = mapped_column(ForeignKey("rulers.id"), nullable=True, index=True)
    judge_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    runner_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    runner_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    agent_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_turns: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_tokens: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    agent_denials: Mapped[list | None] = mapped_column(JSON, nullable=True)
    agent_claimed_quality: Mapped[float | None] = mapped_column(Float, nullable=True)
    durations: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # step -> seconds
    diff: Mapped[str | None] = mapped_column(Text, nullable=True)
    # leaks: worktree files left out of the commit (never scored) as "ignored: path" / "untracked: path"
    outside_commit: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # leaks: images in the committed workspace, [{path, kind, size, sha256}] (read by the guard as binaries)
    workspace_binaries: Mapped[list | None] = mapped_column(JSON, nullable=True)
    trace_svg: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # --- night-b: decisions on fresh draws, holdout, model lines (migration 0003_night_b) ---
    decision: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # keep rule rounds: first, confirm (loop.daemon.keep.KeepDecision)
    holdout_quality: Mapped[float | None] = mapped_column(Float, nullable=True)  # sealed holdout, baseline and kept only
    goodhart_gap: Mapped[float | None] = mapped_column(Float, nullable=True)  # ruler quality - holdout quality
    goodhart_drift: Mapped[float | None] = mapped_column(Float, nullable=True)  # gap - the gap of the line's baseline
    holdout_check: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # vs the previous best (loop.daemon.holdout.HoldoutCheck)
    model_line: Mapped[str | None] = mapped_column(String(64), nullable=True)  # loop.model_line.line_key
    model_identity: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # backend, model, variant, OS build, adapter
    # night-c: the step a stop interrupted (status stays `running`); the next start resumes from it
    resume_step: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # record_1: the lever the agent claimed (`lever` is derived by the daemon from the committed workspace)
    lever_claimed: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # record_1: the judge's tokens and dollars over all of this experiment's evaluations (agent's included)
    judge_input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    judge_output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    judge_cache_read_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    judge_cache_write_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    judge_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    # workers_1: the worker that ran it (`run --worker NAME`), and its claim's lease: renewed by that
    # worker's heartbeat while the experiment is unfinished, null once released (done, suspended, closed)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    evaluations: Mapped[list["Evaluation"]] = relationship(back_populates="experiment")


class Evaluation(Base):
    """One scoring of one workspace on one gate under one ruler."""

    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_number: Mapped[int | None] = mapped_column(ForeignKey("experiments.number"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20), default="official")  # official|agent|noise|reference|manual|holdout
    gate: Mapped[str] = mapped_column(String(10))  # dev|full|holdout
    ruler_id: Mapped[str] = mapped_column(ForeignKey("rulers.id"))
    judge_id: Mapped[str] = mapped_column(String(200))
    workspace_hash: Mapped[str] = mapped_column(String(64))
    runner_backend: Mapped[str | None] = mapped_column(String(40), nullable=True)
    runner_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    runner_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    quality: Mapped[float | None] = mapped_column(Float, nullable=True)
    pairwise: Mapped[float | None] = mapped_column(Float, nullable=True)
    rubric: Mapped[float | None] = mapped_column(Float, nullable=True)
    dims: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    wins: Mapped[int] = mapped_column(Integer, default=0)
    ties: Mapped[int] = mapped_column(Integer, default=0)
    losses: Mapped[int] = mapped_column(Integer, default=0)
    judge_errors: Mapped[int] = mapped_column(Integer, default=0)
    model_calls: Mapped[int] = mapped_column(Integer, default=0)
    judge_calls: Mapped[int] = mapped_column(Integer, default=0)
    wall_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    confinement: Mapped[str | None] = mapped_column(String(20), nullable=True)  # bwrap|sandbox-exec|none (apple)
    # share of judged cases whose two orders disagree (LLM judges; null for the symmetric proxies)
    position_flip_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # --- night-b (migration 0003_night_b) ---
    subject_experiment: Mapped[int | None] = mapped_column(Integer, nullable=True)  # whose outputs a re-judging judged
    model_line: Mapped[str | None] = mapped_column(String(64), nullable=True)  # loop.model_line.line_key
    model_identity: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the runner's model identity
    # record_1: what this evaluation's judging cost (zero for cached verdicts and the proxy/local judges)
    judge_input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    judge_output_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    judge_cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    judge_cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    judge_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    experiment: Mapped[Experiment | None] = relationship(back_populates="evaluations")
    cases: Mapped[list["CaseResult"]] = relationship(back_populates="evaluation", cascade="all, delete-orphan")


class CaseResult(Base):
    """One case of one evaluation: the candidate, its scores, both verdicts, the reasoning, the trace."""

    __tablename__ = "case_results"
    __table_args__ = (UniqueConstraint("evaluation_id", "case_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(40))
    task: Mapped[str] = mapped_column(Text)
    candidate: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {title, questions}
    invalid_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    atomicity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    specificity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    coverage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    naturalness: Mapped[int | None] = mapped_column(Integer, nullable=True)
    non_redundancy: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict_candidate_first: Mapped[str | None] = mapped_column(String(10), nullable=True)
    verdict_gold_first: Mapped[str | None] = mapped_column(String(10), nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(10), nullable=True)
    reasoning: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    judge_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    gold_leak: Mapped[bool] = mapped_column(Boolean, default=False)
    trace: Mapped[list | None] = mapped_column(JSON, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    from_cache: Mapped[bool] = mapped_column(Boolean, default=False)

    evaluation: Mapped[Evaluation] = relationship(back_populates="cases")


class GenerationCacheEntry(Base):
    """A pipeline's answer for one task, reusable when the whole pipeline decoded deterministically."""

    __tablename__ = "generation_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    invalid_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    trace: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # night-c: last read or write, for least-recently-used eviction past the configured size
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class VerdictCacheEntry(Base):
    """A judge's finding keyed by (ruler id, judge id, task, candidate hash)."""

    __tablename__ = "verdict_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    judgement: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # night-c: last read or write, for least-recently-used eviction past the configured size
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class TrainingRequest(Base):
    """A manual-training request raised by the agent, answered by a human."""

    __tablename__ = "training_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_number: Mapped[int | None] = mapped_column(ForeignKey("experiments.number"), nullable=True)
    recipe: Mapped[str] = mapped_column(String(10))  # sft|orpo
    rationale: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|answered|declined
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    adapter_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the adapter that answered it
    answer_experiment: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the experiment evaluating it


class Event(Base):
    """A notification-worthy event (new best, invalid, training request, halt), kept for the digest."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    experiment_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HumanLabel(Base):
    """A person's verdict on one stored candidate against gold (the dashboard's labelling view): the two
    sets were shown as A and B in random order, authorship hidden. Labels on ruler cases are for judge
    calibration only and never leave the record."""

    __tablename__ = "human_labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    candidate: Mapped[dict] = mapped_column(JSON)  # {title, questions}, as stored in case_results
    candidate_hash: Mapped[str] = mapped_column(String(64), index=True)  # loop.judges.human.candidate_hash
    source: Mapped[str] = mapped_column(String(10), default="ruler")  # ruler (calibration only) | pool
    shown_first: Mapped[str] = mapped_column(String(10))  # which set was A: candidate | gold
    pick: Mapped[str] = mapped_column(String(4))  # A | tie | B, as the person chose
    verdict: Mapped[str] = mapped_column(String(10))  # candidate | tie | gold (the pick, unblinded)
    dims: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the candidate's 1-5 scores, if given
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SteeringNote(Base):
    """The supervisor's steering note (migration steer_1): shown at the top of the agent's iteration prompt
    until it was shown to `for_experiments` experiments (None = until dropped) or dropped; `focus` (lever
    families of loop.supervisor.families) narrows what the agent is asked to try."""

    __tablename__ = "steering_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    focus: Mapped[list] = mapped_column(JSON, default=list)  # family names, table order
    for_experiments: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shown_to: Mapped[list] = mapped_column(JSON, default=list)  # experiment numbers whose agent got the note
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    dropped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dropped_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ExperimentFeedback(Base):
    """The supervisor's comment on one experiment (migration steer_1), shown beside it in the agent's log."""

    __tablename__ = "experiment_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_number: Mapped[int] = mapped_column(ForeignKey("experiments.number"), index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Worker(Base):
    """One worker (`autoresearch run --worker NAME`): where it runs and its last heartbeat. A name is held
    by one live process at a time (loop.daemon.workers.register); `stopped_at` is set on a clean exit."""

    __tablename__ = "workers"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JudgeSlot(Base):
    """One of the judge's shared concurrency slots (loop/daemon/judge_slots.py): free when `holder` is None
    or `held_until` has passed (its holder died); slots 0..judge_concurrency-1 exist."""

    __tablename__ = "judge_slots"
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(100), nullable=True)
    held_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BudgetLedger(Base):
    """The dollars of one night across every worker on the record (loop/daemon/shared_budget.py)."""

    __tablename__ = "budget_ledger"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # the research branch
    limit_usd: Mapped[float] = mapped_column(Float)
    spent_usd: Mapped[float] = mapped_column(Float, default=0.0)
    largest_usd: Mapped[float] = mapped_column(Float, default=0.0)  # the dearest experiment settled so far
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # the lock's write


class BudgetHold(Base):
    """One worker's reservation for the experiment it is running, released when the experiment settles."""

    __tablename__ = "budget_holds"
    worker: Mapped[str] = mapped_column(String(100), primary_key=True)
    ledger: Mapped[str] = mapped_column(String(100))
    usd: Mapped[float] = mapped_column(Float)
    held_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
