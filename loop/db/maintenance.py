"""Keeping the record bounded over many nights: cache eviction, trace compaction, VACUUM.

`maintain(config)` runs at daemon start and every few iterations (`runloop.MAINTENANCE_EVERY`):
- both evaluation caches keep their `*_cache_max` most recently used rows (`loop.eval_cache.evict`);
- the per-case traces of `discarded` experiments finished more than `trace_retention_days` ago are
  compacted: each event keeps its kind, names, timings and counts, and loses its long texts (prompts,
  replies); kept, invalid and crashed experiments keep their full traces, and so does everything recent;
- a SQLite file is VACUUMed once it has grown by `vacuum_growth` (a share) since the last VACUUM.

What maintenance remembers between runs (the file size after the last VACUUM, the experiments whose
traces are done) is in `<repo>/.autoresearch/maintenance.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from loop.config import Config
from loop.db.models import CaseResult, Evaluation, Experiment
from loop.db.session import engine_for, session_scope

SHORT_TEXT = 80  # a trace string longer than this is content, dropped by compaction


@dataclass
class MaintenanceReport:
    evicted: dict[str, int] = field(default_factory=dict)
    traces_compacted: int = 0  # case results whose trace was compacted
    vacuumed: tuple[int, int] | None = None  # file bytes before, after

    def lines(self) -> list[str]:
        out = [f"evicted {n} least recently used {name}" for name, n in self.evicted.items() if n]
        if self.traces_compacted:
            out.append(f"compacted the traces of {self.traces_compacted} cases of old discarded experiments")
        if self.vacuumed:
            out.append(f"vacuumed the database: {self.vacuumed[0]:,} → {self.vacuumed[1]:,} bytes")
        return out


def state_path(config: Config) -> Path:
    return config.repo / ".autoresearch" / "maintenance.json"


def _load_state(config: Config) -> dict:
    try:
        return json.loads(state_path(config).read_text())
    except (OSError, ValueError):
        return {}


def _save_state(config: Config, state: dict) -> None:
    path = state_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(path)


def maintain(config: Config, now: datetime | None = None) -> MaintenanceReport:
    from loop.eval_cache import evict_caches

    state = _load_state(config)
    report = MaintenanceReport()
    report.evicted = evict_caches(config.db_url, config.generation_cache_max, config.verdict_cache_max)
    report.traces_compacted = compact_traces(config, state, now or datetime.now(timezone.utc))
    report.vacuumed = vacuum_if_grown(config, state)
    _save_state(config, state)
    return report


def compact_event(event: dict) -> dict:
    kept = {k: v for k, v in event.items()
            if isinstance(v, (bool, int, float)) or v is None or (isinstance(v, str) and len(v) <= SHORT_TEXT)}
    kept["compacted"] = True
    return kept


def compact_traces(config: Config, state: dict, now: datetime) -> int:
    """Compact the traces of discarded experiments older than the retention; returns cases compacted."""
    cutoff = now - timedelta(days=config.trace_retention_days)
    through = int(state.get("traces_compacted_through", -1))
    compacted = 0
    with session_scope(config) as db:
        old = db.scalar(select(func.max(Experiment.number)).where(
            Experiment.finished_at.is_not(None), Experiment.finished_at < cutoff))
        if old is None or old <= through:
            return 0
        rows = db.scalars(select(CaseResult).join(Evaluation).join(Experiment).where(
            Experiment.number > through, Experiment.number <= old, Experiment.status == "discarded",
            Experiment.finished_at < cutoff, CaseResult.trace.is_not(None)))
        for row in rows:
            row.trace = [compact_event(e) if isinstance(e, dict) else e for e in row.trace]
            compacted += 1
        for experiment in db.scalars(select(Experiment).where(
                Experiment.number > through, Experiment.number <= old, Experiment.status == "discarded",
                Experiment.finished_at < cutoff)):
            experiment.trace_svg = None
    state["traces_compacted_through"] = old
    return compacted


def sqlite_file(config: Config) -> Path | None:
    url = config.db_url
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def vacuum_if_grown(config: Config, state: dict) -> tuple[int, int] | None:
    """VACUUM when the file grew by `vacuum_growth` since the last one (the first call only measures)."""
    path = sqlite_file(config)
    if path is None or not path.exists():
        return None
    size = path.stat().st_size
    baseline = state.get("db_bytes_at_vacuum")
    if baseline is None or size < baseline:
        state["db_bytes_at_vacuum"] = size
        return None
    if size < baseline * (1 + config.vacuum_growth):
        return None
    with engine_for(config.db_url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    after = path.stat().st_size
    state["db_bytes_at_vacuum"] = after
    return size, after
