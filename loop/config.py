"""One config object for the whole daemon. Loaded from `autoresearch.toml` (optional) at the repo
root, then overridden by environment variables. Every field says what it is for.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from loop.errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = "autoresearch.toml"


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # --- where things live -------------------------------------------------------------------
    repo: Path = Field(default=REPO_ROOT)  # the git repository under research (holds ruler/ and agent_workspace/)
    database_url: str | None = None  # SQLAlchemy URL; None = sqlite file db/autoresearch.sqlite in the repo
    # --- the ruler -----------------------------------------------------------------------------
    judge: Literal["auto", "proxy", "proxy-v1", "local", "anthropic", "panel"] = "auto"  # auto = anthropic with credentials, else proxy (v2); see the judges block
    judge_model: str = "claude-sonnet-4-6"  # the official judge's model id (part of the ruler id)
    panel_judge_models: list[str] = Field(default_factory=list)  # judge = "panel": 2+ model ids, majority verdict
    judge_mode: Literal["standard", "coverage-blind"] = "standard"  # analyses only; a separate ruler id
    judge_concurrency: int = Field(default=16, ge=1, le=64)  # judge requests in flight at once
    judge_max_retries: int = Field(default=4, ge=0, le=10)  # retries on 429/5xx/timeouts/malformed replies
    judge_timeout_s: float = Field(default=60.0, gt=0)  # per judge request
    anthropic_base_url: str | None = None  # a compatible server instead of the cloud (tests use 127.0.0.1)
    # --- the runner ----------------------------------------------------------------------------
    runner: Literal["auto", "llama", "apple", "apple-mock", "cloud", "replay"] = "auto"  # auto = apple on a capable Mac, else llama; apple-mock = fm-runner --backend mock on the Apple path
    model: str = "qwen1.5b"  # portable model name from loop.models.REGISTRY (smollm2 | qwen0.5b | qwen1.5b)
    runner_timeout_s: float = Field(default=120.0, gt=0)  # per model call
    case_timeout_s: float = Field(default=300.0, gt=0)  # per pipeline case (all its model calls)
    fm_runner_path: Path | None = None  # the compiled Swift fm-runner; None = native/.build/release/fm-runner
    sandbox: Literal["auto", "bwrap", "sandbox-exec", "none"] = "auto"  # how pipelines are confined
    # --- the loop ------------------------------------------------------------------------------
    agent: Literal["auto", "claude", "sweep"] = "auto"  # auto = claude when credentials exist, else sweep
    agent_model: str = "claude-sonnet-4-6"  # model the research agent runs on
    research_branch: str = "research"  # kept experiments advance this branch
    max_turns: int = Field(default=40, ge=1)  # per-iteration agent turn cap
    max_agent_seconds: float = Field(default=1800.0, gt=0)  # per-iteration agent wall-time cap
    max_agent_usd: float = Field(default=2.0, gt=0)  # per-iteration agent dollar cap
    budget_usd: float = Field(default=25.0, gt=0)  # dollar budget for one `run` (agent + judge dollars)
    max_experiments: int | None = None  # stop after this many experiments in one `run`
    max_consecutive_failures: int = Field(default=5, ge=1)  # invalid/crashed in a row before halting
    plateau: int = Field(default=25, ge=1)  # experiments without a new best before halting
    keep_policy: Literal["paired", "greedy"] = "paired"  # paired bootstrap (default) or any new best
    full_gate_margin: float = Field(default=0.03, ge=0)  # run the full gate when dev is within this of the best
    bootstrap_samples: int = Field(default=2000, ge=100)  # resamples in the paired keep test
    keep_confidence: float = Field(default=0.975, gt=0.5, lt=1)  # share of resamples showing a gain (0.975: the 95% interval excludes 0)
    window: str | None = None  # run only inside "HH:MM-HH:MM" (e.g. "22:00-07:00"); None = always
    interval_s: float = Field(default=5.0, ge=0)  # pause between iterations
    # --- notifications -------------------------------------------------------------------------
    supervisor: str | None = None  # who writes on the dashboard (labels); None = the OS user
    webhook_url: str | None = None  # JSON POST on new best / invalid / training request / halt
    desktop_notifications: bool = True  # notify-send / osascript where available
    # --- apple: confinement ---
    unconfined: bool = False  # run pipelines unconfined where no sandbox works; only `--unconfined` on eval/run sets it
    # --- night-c: a whole night, every night ---
    plateau_policy: Literal["halt", "continue"] = "continue"  # on a plateau: stop, or file one training request and go on
    generation_cache_max: int = Field(default=20000, ge=1)  # cached generations kept (least recently used evicted)
    verdict_cache_max: int = Field(default=50000, ge=1)  # cached judge verdicts kept (least recently used evicted)
    trace_retention_days: float = Field(default=14.0, gt=0)  # traces of discarded experiments compacted after this
    log_max_bytes: int = Field(default=10_000_000, ge=10_000)  # daemon.log rotates past this size
    log_backups: int = Field(default=5, ge=1)  # rotated daemon.log files kept (daemon.log.1 … .N)
    vacuum_growth: float = Field(default=0.5, gt=0)  # VACUUM the SQLite file once it grew by this share since the last
    # --- apple: the judge drift check (loop/daemon/drift.py) ---
    drift_check_every: int = Field(default=10, ge=0)  # iterations between two judge drift checks (0 = only when a run window opens)
    # --- adapters: the content-addressed adapter store ---
    adapter_store: Path | None = None  # directory of stored adapters (relative = to the repo); None = .autoresearch/adapters
    # --- judges: the offline and local judges ---
    # `judge = "proxy"` is proxy v2 (MiniLM, template-proof); "proxy-v1" the first proxy, kept so its
    # record stays readable; "local" the frozen judge prompts through a llama.cpp model (below).
    local_judge_model: str = "qwen1.5b"  # the local LLM judge's model (a loop.models.REGISTRY name; part of its judge id)
    local_judge_max_tokens: int = Field(default=700, ge=16, le=4096)  # per local judge reply
    local_judge_timeout_s: float = Field(default=900.0, gt=0)  # per local judge request (a ~2k-token prompt on CPU)
    # --- errors: a judge error is never a score ---
    judge_case_retries: int = Field(default=3, ge=0, le=20)  # rounds re-judging only the failed cases of an evaluation
    judge_case_backoff_s: float = Field(default=5.0, ge=0)  # pause before the first such round (doubles each round)
    judge_wait_initial_s: float = Field(default=30.0, gt=0)  # daemon: first wait while the judge is unreachable
    judge_wait_max_s: float = Field(default=600.0, gt=0)  # daemon: the wait doubles up to this cap
    judge_wait_notify_after_s: float = Field(default=900.0, ge=0)  # daemon: notify once after waiting this long
    # --- workers: several daemons on one record (loop/daemon/workers.py, leases.py) ---
    worker: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # this daemon's worker name (`run --worker`); None = <host>-<pid>
    shared_limits: bool = True  # judge concurrency and budget held in the record, shared by its workers (judge_slots.py, shared_budget.py)
    worker_lease_s: float = Field(default=60.0, gt=0)  # a claim unrenewed this long is recovered by another worker (heartbeat every quarter of it)
    research_remote: str | None = None  # the shared git remote of the research line (URL or path, relative = to the repo); None = this repository only (loop/daemon/remote.py)

    @field_validator("judge_wait_max_s")
    @classmethod
    def _wait_cap_above_start(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("judge_wait_initial_s")
        if initial is not None and value < initial:
            raise ValueError(f"must be at least judge_wait_initial_s ({initial:g})")
        return value

    @field_validator("research_remote")
    @classmethod
    def _remote_is_a_location(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value != value.strip() or value.startswith("-")):
            raise ValueError("must be a git URL or a path (no surrounding spaces, not an option)")
        return value

    @property
    def research_remote_url(self) -> str | None:
        """`research_remote` as git takes it: a URL (`scheme://`, `host:path`) as written, a path resolved."""
        value = self.research_remote
        if value is None or "://" in value or re.match(r"^[^/]+:", value):
            return value
        return str((self.repo / value).resolve())

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL; `postgresql://` and `postgres://` mean the psycopg (3) driver."""
        return sqlalchemy_url(self.database_url or f"sqlite:///{self.repo / 'db' / 'autoresearch.sqlite'}")

    @property
    def ruler_dir(self) -> Path:
        return self.repo / "ruler"

    @property
    def workspace_dir(self) -> Path:
        return self.repo / "agent_workspace"

    @property
    def has_anthropic_credentials(self) -> bool:
        return bool(os.environ.get("ANTHROPIC_API_KEY") or self.anthropic_base_url)

    @property
    def resolved_judge(self) -> str:
        if self.judge != "auto":
            return self.judge
        return "anthropic" if self.has_anthropic_credentials else "proxy"

    @property
    def resolved_agent(self) -> str:
        if self.agent != "auto":
            return self.agent
        return "claude" if self.has_anthropic_credentials else "sweep"


def sqlalchemy_url(url: str) -> str:
    """A database URL as SQLAlchemy takes it: a bare PostgreSQL scheme gets the installed driver
    (psycopg 3; SQLAlchemy's own default for `postgresql://` is psycopg2, not a dependency)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


ENV_OVERRIDES = {
    "DATABASE_URL": "database_url",
    "ANTHROPIC_BASE_URL": "anthropic_base_url",
    "AUTORESEARCH_JUDGE": "judge",
    "AUTORESEARCH_JUDGE_MODEL": "judge_model",
    "AUTORESEARCH_RUNNER": "runner",
    "AUTORESEARCH_MODEL": "model",
    "AUTORESEARCH_AGENT": "agent",
    "AUTORESEARCH_SANDBOX": "sandbox",
    "AUTORESEARCH_WORKER": "worker",
    "AUTORESEARCH_SHARED_LIMITS": "shared_limits",
    "AUTORESEARCH_RESEARCH_REMOTE": "research_remote",
}


def load_config(repo: Path | None = None, **overrides) -> Config:
    """Read `autoresearch.toml` from the repo (if present), apply env vars, then explicit overrides."""
    repo = Path(repo or os.environ.get("AUTORESEARCH_REPO") or REPO_ROOT).resolve()
    path = repo / CONFIG_FILE
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InputError(path, f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    if "unconfined" in data:  # a deliberate, per-command choice: never a standing setting
        raise InputError(path, "setting `unconfined`: not allowed in the config file; pass --unconfined "
                         "to `autoresearch eval` or `autoresearch run`", line=_line_of(path, "unconfined"))
    data["repo"] = repo
    for env, field in ENV_OVERRIDES.items():
        if os.environ.get(env):
            data[field] = os.environ[env]
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Config(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(path, f"setting `{field}`: {first['msg']}", line=_line_of(path, field)) from None


def toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    """tomllib (3.11) only puts the line in the message: '... (at line 2, column 1)'."""
    found = re.search(r"at line (\d+)", str(exc))
    return int(found.group(1)) if found else None


def _line_of(path: Path, field: str) -> int | None:
    if not path.exists():
        return None
    key = field.split(".")[0]
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip().startswith(key) and "=" in line:
            return number
    return None
