"""The two evaluation caches, both in the record's database.

- generations: (workspace hash, runner backend/model/version, task) -> answer + trace, stored only
  when every model call of the pipeline decoded greedily (deterministic);
- verdicts: (ruler id, judge id, owner, task, candidate hash) -> the judge's finding; judge errors are never
  cached. The owner keeps the agent's draws apart from the daemon's: verdicts made while the agent works
  on its iteration (kind `agent`) are the agent's and are never read by an official decision; the
  confirmation round and the noise floor take fresh draws and are never cached (`verdict_owner`).

Both are bounded: every read and write stamps `last_used_at`, and `evict` deletes the least recently
used rows past the configured size (`generation_cache_max`, `verdict_cache_max`; the daemon's
maintenance calls it between iterations).
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from loop.db.models import GenerationCacheEntry, VerdictCacheEntry, utcnow
from loop.db.session import session_scope
from loop.runners.protocol import Backend
from loop.schemas import Answer, CaseJudgement


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def generation_key(workspace_hash: str, backend: Backend, task: str) -> str:
    """Everything that identifies the model: a variant or base-model signature (Apple) is part of the key
    where the runner reports one, so another model under the same OS build is never served old answers."""
    parts = [workspace_hash, backend.name, backend.model, backend.model_version, backend.os_build, task]
    if backend.model_variant or backend.base_model_signature:
        parts += [backend.model_variant, backend.base_model_signature]
    return _key("gen/1", *parts)


def draft_key(workspace_hash: str, backend: Backend, task: str, sampling: dict) -> str:
    """A sampled training draft (`train drafts`): the generation key plus the forced sampling (its seed),
    so a resumed run gets the same draws back without a model call."""
    return _key("draft/1", generation_key(workspace_hash, backend, task), sampling)


def candidate_hash(answer: Answer) -> str:
    return _key(answer.title, answer.questions)


VERDICT_OWNERS = {"official": "official", "holdout": "official", "reference": "official", "agent": "agent",
                  "manual": "manual"}
"""Evaluation kind -> whose verdict cache it reads and fills; kinds not listed (`confirm`, `noise`) draw fresh."""


def verdict_owner(kind: str) -> str | None:
    """The verdict-cache owner for an evaluation kind, or None when its verdicts must be fresh draws."""
    return VERDICT_OWNERS.get(kind)


def verdict_key(ruler_id: str, judge_id: str, task: str, answer: Answer, owner: str = "official") -> str:
    return _key("verdict/2", ruler_id, judge_id, owner, task, candidate_hash(answer))


class EvalCache:
    def __init__(self, db_url: str, enabled: bool = True):
        self.db_url = db_url
        self.enabled = enabled

    def get_generation(self, key: str) -> GenerationCacheEntry | None:
        if not self.enabled:
            return None
        with session_scope(self.db_url) as db:
            row = db.get(GenerationCacheEntry, key)
            if row is not None:
                row.last_used_at = utcnow()
            return row

    def put_generation(self, key: str, answer: Answer | None, invalid_reason: str | None, trace: list[dict]) -> None:
        if self.enabled:
            self._put(GenerationCacheEntry(key=key, answer=answer.model_dump() if answer else None,
                                           invalid_reason=invalid_reason, trace=trace))

    def get_verdict(self, key: str) -> CaseJudgement | None:
        if not self.enabled:
            return None
        with session_scope(self.db_url) as db:
            row = db.get(VerdictCacheEntry, key)
            if row is None:
                return None
            row.last_used_at = utcnow()
            return CaseJudgement.model_validate(row.judgement)

    def put_verdict(self, key: str, judgement: CaseJudgement) -> None:
        if self.enabled and judgement.error is None:
            self._put(VerdictCacheEntry(key=key, judgement=judgement.model_dump(mode="json")))

    def _put(self, row) -> None:
        row.last_used_at = utcnow()
        try:
            with session_scope(self.db_url) as db:
                db.merge(row)
        except IntegrityError:
            pass  # a concurrent writer stored the same key first: same content by construction


def evict(db_url: str, table, keep: int) -> int:
    """Delete the least recently used rows of a cache table beyond the newest `keep`; returns how many."""
    with session_scope(db_url) as db:
        total = db.scalar(select(func.count()).select_from(table)) or 0
        if total <= keep:
            return 0
        used = func.coalesce(table.last_used_at, table.created_at)
        stale = select(table.key).order_by(used.asc()).limit(total - keep)
        return db.execute(delete(table).where(table.key.in_(stale.scalar_subquery()))).rowcount or 0


def evict_caches(db_url: str, max_generations: int, max_verdicts: int) -> dict[str, int]:
    """Bound both caches; returns rows evicted per cache."""
    return {"generations": evict(db_url, GenerationCacheEntry, max_generations),
            "verdicts": evict(db_url, VerdictCacheEntry, max_verdicts)}
