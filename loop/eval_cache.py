"""The two evaluation caches, both in the record's database.

- generations: (workspace hash, runner backend/model/version, task) -> answer + trace, stored only
  when every model call of the pipeline decoded greedily (deterministic);
- verdicts: (ruler id, judge id, owner, task, candidate hash) -> the judge's finding; judge errors are never
  cached. The owner keeps the agent's draws apart from the daemon's: verdicts made while the agent works
  on its iteration (kind `agent`) are the agent's and are never read by an official decision; the
  confirmation round and the noise floor take fresh draws and are never cached (`verdict_owner`).
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.exc import IntegrityError

from loop.db.models import GenerationCacheEntry, VerdictCacheEntry
from loop.db.session import session_scope
from loop.runners.protocol import Backend
from loop.schemas import Answer, CaseJudgement


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def generation_key(workspace_hash: str, backend: Backend, task: str) -> str:
    return _key("gen/1", workspace_hash, backend.name, backend.model, backend.model_version, backend.os_build, task)


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
            return db.get(GenerationCacheEntry, key)

    def put_generation(self, key: str, answer: Answer | None, invalid_reason: str | None, trace: list[dict]) -> None:
        if self.enabled:
            self._put(GenerationCacheEntry(key=key, answer=answer.model_dump() if answer else None,
                                           invalid_reason=invalid_reason, trace=trace))

    def get_verdict(self, key: str) -> CaseJudgement | None:
        if not self.enabled:
            return None
        with session_scope(self.db_url) as db:
            row = db.get(VerdictCacheEntry, key)
            return CaseJudgement.model_validate(row.judgement) if row else None

    def put_verdict(self, key: str, judgement: CaseJudgement) -> None:
        if self.enabled and judgement.error is None:
            self._put(VerdictCacheEntry(key=key, judgement=judgement.model_dump(mode="json")))

    def _put(self, row) -> None:
        try:
            with session_scope(self.db_url) as db:
                db.merge(row)
        except IntegrityError:
            pass  # a concurrent writer stored the same key first: same content by construction
