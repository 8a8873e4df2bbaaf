"""The morning digest: what the loop did since a point in time, as markdown.

`since` defaults to 24 hours ago; a naive `since` is local time (the record itself is UTC). "Best at start" is the best kept quality recorded before `since`
under the same ruler as the best now; scores under different rulers are never compared, and the
digest says so when the night spans more than one ruler.

Every new best carries the sealed holdout's verdict (holdout quality, Goodhart gap and drift) and is
flagged "suspected overfit" when the holdout check says so (`loop.daemon.holdout`); the "Decisions"
section says how many keep tests the night ran and how many false keeps its null would expect.
The "Workers" section lists each worker on the record (what it is doing, last heartbeat), read as
`status` reads them (loop.daemon.workers.worker_views).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from loop.config import Config
from loop.db.models import Event, Experiment, TrainingRequest
from loop.daemon.keep import multiplicity
from loop.daemon.workers import WorkerView, worker_views
from loop.db.session import session_scope
from loop.schemas import DIMENSIONS

DEFAULT_WINDOW = timedelta(hours=24)
STATUSES = ("kept", "discarded", "invalid", "crashed", "running")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _q(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def _short(text: str | None, limit: int = 90) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "–"
    line = line.replace("|", "\\|")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _best(experiments: list[Experiment], ruler_id: str | None = None, model_line: str | None = None,
          any_line: bool = True) -> Experiment | None:
    kept = [e for e in experiments if e.status == "kept" and e.quality is not None
            and (ruler_id is None or e.ruler_id == ruler_id) and (any_line or e.model_line == model_line)]
    return max(kept, key=lambda e: (e.quality, e.number), default=None)


def _current_best(everything: list[Experiment]) -> Experiment | None:
    """The best inside the (ruler id, model line) of the newest kept experiment: never across lines."""
    newest = max((e for e in everything if e.status == "kept" and e.quality is not None), key=lambda e: e.number,
                 default=None)
    return None if newest is None else _best(everything, newest.ruler_id, newest.model_line, any_line=False)


def digest(config: Config, since: datetime | None = None) -> str:
    """The markdown digest of everything recorded since `since` (default: the last 24 hours)."""
    now = datetime.now(timezone.utc)
    since = since.astimezone(timezone.utc) if since is not None else now - DEFAULT_WINDOW  # naive = local time
    with session_scope(config) as session:
        everything = list(session.scalars(select(Experiment).order_by(Experiment.number)))
        events = [e for e in session.scalars(select(Event).order_by(Event.id)) if _utc(e.created_at) >= since]
        open_requests = list(session.scalars(
            select(TrainingRequest).where(TrainingRequest.status == "open").order_by(TrainingRequest.id)))
        answered = [r for r in session.scalars(select(TrainingRequest).where(
            TrainingRequest.adapter_sha256.is_not(None)).order_by(TrainingRequest.id))
            if r.answered_at is not None and _utc(r.answered_at) >= since]
    night = [e for e in everything if _utc(e.started_at) >= since]
    before = [e for e in everything if _utc(e.started_at) < since]

    lines = ["# autoresearch digest", "",
             f"{since.isoformat(timespec='minutes')} → {now.isoformat(timespec='minutes')}", ""]
    lines += _summary(night, before, everything)
    lines += _workers_section(worker_views(config))
    lines += _experiments_section(night)
    lines += _decisions_section(night, config.keep_confidence)
    lines += _failures_section(night)
    lines += _requests_section(open_requests)
    lines += _answered_section(answered, {e.number: e for e in everything})
    lines += _spend_section(night)
    lines += _model_lines_section(events)
    lines += _halts_section(events)
    return "\n".join(lines).rstrip() + "\n"


def _summary(night: list[Experiment], before: list[Experiment], everything: list[Experiment]) -> list[str]:
    counts = Counter(e.status for e in night)
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in STATUSES]
    lines = ["## Summary", "", f"- Experiments: **{len(night)}**" + (f" ({', '.join(parts)})" if parts else "")]
    best_now = _current_best(everything)
    rulers = sorted({e.ruler_id for e in night if e.ruler_id})
    ruler_id = best_now.ruler_id if best_now else (rulers[-1] if rulers else None)
    lines.append(f"- Ruler: `{ruler_id[:12] if ruler_id else 'unknown'}`")
    if len(rulers) > 1:
        lines.append(f"- **Warning:** the night spans {len(rulers)} rulers "
                     f"({', '.join(r[:12] for r in rulers)}); scores under different rulers are not comparable.")
    best_start = _best(before, best_now.ruler_id, best_now.model_line, any_line=False) if best_now else None
    if best_now is None:
        lines += ["- Best quality: none kept yet", ""]
        return lines
    delta = best_now.quality - best_start.quality if best_start else None
    start = f"{_q(best_start.quality)} (experiment {best_start.number:04d})" if best_start else "none"
    lines.append(f"- Best quality now: **{_q(best_now.quality)}** (experiment {best_now.number:04d}, "
                 f"gate {best_now.gate or '–'}); at start: {start}; change {_signed(delta)}")
    lines += ["", "| dimension | at start | now | change |", "|---|---|---|---|"]
    for dim in DIMENSIONS:
        now_v = (best_now.dims or {}).get(dim)
        start_v = (best_start.dims or {}).get(dim) if best_start else None
        change = now_v - start_v if now_v is not None and start_v is not None else None
        lines.append(f"| {dim} | {_q(start_v)} | {_q(now_v)} | {_signed(change)} |")
    return lines + [""]


def _workers_section(views: list[WorkerView]) -> list[str]:
    if not views:
        return []
    lines = ["## Workers", ""]
    for w in views:
        lines.append(f"- `{w.name}` on {w.host} (pid {w.pid}): {w.doing}; last heartbeat "
                     f"{w.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC")
    return lines + [""]


def _experiments_section(night: list[Experiment]) -> list[str]:
    bests = [e for e in night if e.status == "kept"]
    lines = ["## New bests", ""]
    if not bests:
        return lines + ["None tonight.", ""]
    lines += ["| # | quality | delta | holdout | Goodhart gap | drift | gate | lever | hypothesis |",
              "|---|---|---|---|---|---|---|---|---|"]
    for e in bests:
        flag = " **suspected overfit**" if (e.holdout_check or {}).get("suspected_overfit") else ""
        lines.append(f"| {e.number:04d} | {_q(e.quality)} | {_signed(e.delta)} | {_q(e.holdout_quality)}{flag} | "
                     f"{_signed(e.goodhart_gap)} | {_signed(e.goodhart_drift)} | {e.gate or '–'} | {e.lever} "
                     f"| {_short(e.hypothesis)} |")
    for e in bests:
        if (e.holdout_check or {}).get("suspected_overfit"):
            lines.append(f"\n- **Suspected overfit** in {e.number:04d}: {_short(e.holdout_check.get('reason'), 300)}")
    return lines + [""]


def _decisions_section(night: list[Experiment], confidence: float) -> list[str]:
    m = multiplicity((e.decision for e in night), confidence)
    return ["## Decisions", "", f"- Keep tests run: **{m.keep_tests}**; false keeps expected under the null at "
            f"{m.confidence:.1%} confidence: **{m.expected_false_keeps:.3f}** (the keep rule's own rate; the "
            f"confirmation round removes judge-draw luck, not case-sampling luck)",
            f"- Confirmation rounds on fresh draws: {m.confirmations} ({m.rejected_by_confirmation} rejected a "
            f"lucky first round); kept: {m.kept}", ""]


def _failures_section(night: list[Experiment]) -> list[str]:
    bad = [e for e in night if e.status in ("invalid", "crashed")]
    lines = ["## Invalid and crashed", ""]
    if not bad:
        return lines + ["None.", ""]
    lines += ["| # | status | reason |", "|---|---|---|"]
    lines += [f"| {e.number:04d} | {e.status} | {_short(e.reason, 160)} |" for e in bad]
    return lines + [""]


def _requests_section(open_requests: list[TrainingRequest]) -> list[str]:
    lines = ["## Open training requests", ""]
    if not open_requests:
        return lines + ["None.", ""]
    lines += ["| id | recipe | experiment | rationale | file |", "|---|---|---|---|---|"]
    for r in open_requests:
        exp = f"{r.experiment_number:04d}" if r.experiment_number is not None else "–"
        lines.append(f"| {r.id:04d} | {r.recipe} | {exp} | {_short(r.rationale)} | {r.path or '–'} |")
    return lines + ["", "Answer with `autoresearch requests --answer ID --text \"...\"`.", ""]


def _answered_section(answered: list[TrainingRequest], experiments: dict[int, Experiment]) -> list[str]:
    """Requests an adapter answered in the window: request → adapter → experiment → quality."""
    if not answered:
        return []
    lines = ["## Training requests answered by an adapter", "",
             "| id | recipe | adapter | experiment | status | quality |", "|---|---|---|---|---|---|"]
    for r in answered:
        exp = experiments.get(r.answer_experiment)
        quality = f"{exp.quality:.3f}" if exp is not None and exp.quality is not None else "–"
        lines.append(f"| {r.id:04d} | {r.recipe} | `{r.adapter_sha256[:12]}` | {r.answer_experiment:04d} | "
                     f"{exp.status if exp else '?'} | {quality} |")
    return lines + [""]


def _spend_section(night: list[Experiment]) -> list[str]:
    costs = [e.agent_cost_usd for e in night if e.agent_cost_usd is not None]
    turns = sum(e.agent_turns or 0 for e in night)
    by_agent = Counter(e.agent or "unknown" for e in night)
    agents = ", ".join(f"{n} {a}" for a, n in sorted(by_agent.items())) or "none"
    return ["## Agent spend", "",
            f"- ${sum(costs):.2f} over {len(costs)} agent runs, {turns} turns (experiments by agent: {agents})", ""]


def _halts_section(events: list[Event]) -> list[str]:
    halts = [e for e in events if e.kind == "halt"]
    if not halts:
        return []
    lines = ["## Halts", ""]
    lines += [f"- {_utc(e.created_at).isoformat(timespec='minutes')}: {e.message}" for e in halts]
    return lines + [""]


def _model_lines_section(events: list[Event]) -> list[str]:
    changes = [e for e in events if e.kind == "model_line"]
    if not changes:
        return []
    lines = ["## Model lines", ""]
    lines += [f"- {_utc(e.created_at).isoformat(timespec='minutes')}: {e.message}" for e in changes]
    return lines + ["", "Scores are compared only inside one model line.", ""]
