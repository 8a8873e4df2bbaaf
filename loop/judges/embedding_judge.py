"""What the two embedding proxies (v1 `proxy.py`, v2 `proxy_v2.py`) share: the judge id from a digest of
their rule files, the lazily loaded embedder, and the contract's "a failure is recorded, never raised".
The scoring itself stays in each version's own files (which the digest covers)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from loop.embedder import Embedder, get_embedder
from loop.judges.base import error_judgement
from loop.schemas import Answer, Case, CaseJudgement

MODES = ("standard", "coverage-blind")


def rules_digest(names: tuple[str, ...]) -> str:
    """The first 10 hex digits of the sha256 over the named files of this folder, in order."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in names:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:10]


class EmbeddingJudge:
    """Base of the proxies. Subclasses set VERSION, RULE_FILES, LABEL and implement `_judge`.
    Thread-safe (pure functions over a thread-safe embedder)."""

    VERSION: int
    RULE_FILES: tuple[str, ...]
    LABEL: str  # names the judge in a failure message

    def __init__(self, embedder: Embedder | None = None, mode: str = "standard"):
        if mode not in MODES:
            raise ValueError(f"unknown judge mode {mode!r}")
        self.mode = mode
        self.judge_id = (f"proxy:minilm-l6-int8/{self.VERSION}+{rules_digest(self.RULE_FILES)}"
                         + ("" if mode == "standard" else f":{mode}"))
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def judge(self, case: Case, candidate: Answer) -> CaseJudgement:
        try:
            return self._judge(case, candidate)
        except Exception as exc:  # a judge failure is recorded, never raised
            return error_judgement(f"{self.LABEL} failed: {type(exc).__name__}: {exc}", judge_calls=1)

    def _judge(self, case: Case, candidate: Answer) -> CaseJudgement:
        raise NotImplementedError
