"""Every training example checked against the ruler and the holdout with the guard's own checks:
the task is not a (near-)copy of a ruler/holdout task, the answer holds no gold text by the guard's
lexical match over normalised text (`loop.daemon.guard`'s gold index: runs of a gold question, whole
gold questions, ruler/holdout task names) and is not a surface copy of any gold answer
(`loop.sandbox.leak.gold_leak`). A refused example is named with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loop.daemon.guard import gold_index
from loop.ruler_files import load_cases
from loop.sandbox.leak import gold_leak
from loop.schemas import Answer, Case
from loop.textnorm import normalise

NEAR_DUPLICATE_TASK = 0.9  # cosine between task one-liners (as the training-pool test uses)


@dataclass(frozen=True)
class Refusal:
    example_id: str
    reason: str


class HeldOutCheck:
    def __init__(self, ruler_dir: Path, embedder=None):
        self.index = gold_index(ruler_dir)
        self.held: list[Case] = []
        for name in ("tasks.jsonl", "holdout.jsonl"):
            if (Path(ruler_dir) / name).exists():
                self.held += load_cases(Path(ruler_dir) / name)
        self.embedder = embedder
        self._task_vectors = embedder.embed([c.task for c in self.held]) if embedder is not None else None
        self._tasks = {normalise(c.task): c.id for c in self.held}

    def problem(self, task: str, answer: Answer) -> str | None:
        """Why this example may not be trained on, or None."""
        same = self._tasks.get(normalise(task))
        if same:
            return f"its task is the held-out task {same}"
        if self.embedder is not None:
            from loop.embedder import cosine_matrix

            sims = cosine_matrix(self.embedder.embed([task]), self._task_vectors)[0]
            best = int(sims.argmax())
            if sims[best] >= NEAR_DUPLICATE_TASK:
                return f"its task is a near-duplicate of held-out task {self.held[best].id} (cosine {sims[best]:.2f})"
        hits = self.index.lexical_hits("\n".join([answer.title, *answer.questions]))
        if hits:
            return f"its answer holds {hits[0].how} of held-out case {hits[0].case_id}"
        for case in self.held:
            leak = gold_leak(answer, case.gold)
            if leak:
                return f"its answer is a near-copy of the gold of {case.id}: {leak}"
        return None
