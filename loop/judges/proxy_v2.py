"""Proxy v2: the offline judge a template cannot fool. Deterministic, MiniLM embeddings, its own ruler id
("proxy:minilm-l6-int8/2+<hash of its rule files>"); v1 (`loop.judges.proxy`) stays loadable as
`proxy-v1`, so its scores in the record keep their meaning.

Every text passes `proxy_v2_text._prepare` once. Before any semantic comparison a question loses any
task string pasted into it (`unpasted`: a verbatim run of 3+ task words, stop words included, as
templates paste "plan a trip to paris") and then the task's own content words (*masked*), so what counts
is what a question asks beyond naming the task: a template echo ("What is the budget for task: Write a
will?") is read as the generic question it is ("What is the budget for task?").
Per set (candidate, and gold by the same rules), each dimension is a score x in 0..1, reported as 1 + round(4x):
- atomicity: v1's rule (one ask per question);
- specificity: cosine of each masked question to the task less its closeness to generic planning
  questions; echoing the task string adds nothing, because the echoed words are masked;
- coverage: gold questions matched ONE TO ONE by the set's masked questions (soft, by cosine): shared
  entity words are masked on both sides and one question cannot cover several gold questions;
- naturalness: form checks less a repeated frame and a pasted task string (`proxy_v2_rules`);
- non_redundancy: pairwise closeness of the set's questions, the mean of their closeness with the task's
  words (pasted task runs out) and without them (masked): two questions that share only the task's nouns
  ("Where is the dinner being hosted?", "When is the dinner being hosted?") are not thereby one ask, and
  a rewording that keeps the ask is close both ways.
Questions about another task (low relevance to this one) count as nothing on every per-question dimension.
The pairwise verdict is `proxy_v2_pairwise`: a comparison between the two sets' questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loop.embedder import cosine_matrix
from loop.judges import proxy_v2_pairwise as pairwise
from loop.judges.embedding_judge import EmbeddingJudge
from loop.judges.proxy_rules import GENERIC_QUESTIONS as GENERIC_V1
from loop.judges.proxy_rules import is_atomic, to_dim
from loop.judges.proxy_v2_rules import framed, naturalness_per_question
from loop.judges.proxy_v2_text import _prepare, content_stems, echo_run, mask_task_words, strip_echo, unpasted
from loop.schemas import DIMENSIONS, Answer, Case, CaseJudgement, DimScores, Verdict

VERSION = 2
RULE_FILES = ("proxy_v2.py", "proxy_v2_text.py", "proxy_v2_rules.py", "proxy_v2_pairwise.py", "proxy_rules.py")
COVER_LOW, COVER_HIGH = 0.35, 0.60  # masked cosine: below LOW no cover, above HIGH a full cover
RELEVANT_LOW, RELEVANT_HIGH = 0.15, 0.35  # raw cosine of a question to the task's domain: off-topic .. on-topic
GENERIC_LOW, GENERIC_HIGH = 0.40, 0.60  # closeness to a generic planning question (generic is not off-topic)
SPEC_LOW, SPEC_HIGH = -0.05, 0.30  # masked domain cosine less GENERIC_WEIGHT x generic closeness
GENERIC_WEIGHT = 0.35
DISTINCT_LOW, DISTINCT_HIGH = 0.50, 0.75  # masked cosine to an earlier question of the set: new .. a repeat
DISTINCT_ASKS_FLOOR = 2.0  # a set of this many distinct asks (or fewer) has non_redundancy 1
GENERIC_QUESTIONS = GENERIC_V1 + (
    "What are the risks?", "What resources do you have?", "Who makes the decision?",
    "What is your deadline?", "How much money can you spend?", "What result do you want?",
    "Who else needs to be consulted?", "Are there any limitations?", "Anything else you want to add?",
    "What are your priorities?", "What do you want to achieve?", "Do you have any questions?",
)


def _ramp(x: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (x - low) / (high - low)))


@dataclass(frozen=True)
class SetFeatures:
    """What proxy v2 knows about one set of questions for one task."""

    questions: list[str]
    masked: np.ndarray  # embeddings of the task-masked questions
    relevance: list[float]  # 0..1 per question: about this task's domain
    on_topic: list[float]  # 0..1 per question: about this task, or at least a generic planning question
    atomicity: list[float]
    specificity: list[float]
    naturalness: list[float]
    distinct: list[float]  # 0..1 per question: new within its own set (first of near-duplicates keeps 1)

    @property
    def non_redundancy(self) -> float:
        asks = sum(self.distinct)
        return _ramp(asks, DISTINCT_ASKS_FLOOR, len(self.distinct)) * float(np.mean(self.on_topic))

    def value(self, on_topic: list[float]) -> list[float]:
        """Per-question usefulness for the pairwise comparison (a product: one fault sinks a question).
        `on_topic` comes from the reference domain, so an off-topic set cannot redefine the task."""
        return [o * s * (0.5 + 0.5 * n) * (0.5 + 0.5 * a) * d for o, s, n, a, d in
                zip(on_topic, self.specificity, self.naturalness, self.atomicity, self.distinct)]


class ProxyV2Judge(EmbeddingJudge):
    """Thread-safe (pure functions over a thread-safe embedder)."""

    VERSION = VERSION
    RULE_FILES = RULE_FILES
    LABEL = "proxy v2 judge"

    # --- features ---------------------------------------------------------------------------------
    def features(self, case: Case, answer: Answer, others: tuple[Answer, ...] = ()) -> SetFeatures:
        """Per-question facts of `answer`. The task's domain is the task plus the gold questions, or
        (for the pairwise comparison, symmetric in the two sets) the task plus `others`."""
        task = _prepare(case.task)
        task_stems = frozenset(content_stems(task))
        questions = [_prepare(q) for q in answer.questions if _prepare(q)] or ["?"]
        emb = self.embedder
        raw = emb.embed(questions).astype(np.float64)
        masked = emb.embed([mask_task_words(unpasted(q, task), task_stems) for q in questions]).astype(np.float64)
        unechoed = emb.embed([strip_echo(q, task) for q in questions]).astype(np.float64)
        reference = [q for s in (others or (case.gold,)) for q in s.questions]
        domain_raw, domain_masked = self._domain(task, reference, task_stems)
        generic = emb.embed(list(GENERIC_QUESTIONS)).astype(np.float64)
        to_generic = cosine_matrix(masked, generic).max(axis=1)
        relevance = [_ramp(float(x), RELEVANT_LOW, RELEVANT_HIGH) for x in raw @ domain_raw]
        on_topic = [max(r, _ramp(float(g), GENERIC_LOW, GENERIC_HIGH)) for r, g in zip(relevance, to_generic)]
        specificity = [_ramp(float(t - GENERIC_WEIGHT * g), SPEC_LOW, SPEC_HIGH)
                       for t, g in zip(masked @ domain_masked, to_generic)]
        atomicity = [is_atomic(q) * o for q, o in zip(questions, on_topic)]
        naturalness = [n * o for n, o in zip(naturalness_per_question(questions, task), on_topic)]
        # a repeat is alike with the task's words AND without them: sharing the task's nouns is not one ask
        sims = (0.5 * (cosine_matrix(unechoed, unechoed) + cosine_matrix(masked, masked))).astype(np.float64)
        distinct = [1.0 if i == 0 else 1.0 - _ramp(float(sims[i, :i].max()), DISTINCT_LOW, DISTINCT_HIGH)
                    for i in range(len(questions))]
        return SetFeatures(questions, masked, relevance, on_topic, atomicity, specificity, naturalness, distinct)

    def _domain(self, task: str, reference: list[str], task_stems: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors of the task's domain: the task plus the mean of the reference questions, raw and
        masked. A question near it is about this task; the masked one measures what is asked beyond naming it."""
        gold = [_prepare(q) for q in reference]
        emb = self.embedder
        task_vec = emb.embed([task]).astype(np.float64)[0]
        raw = task_vec + emb.embed(gold).astype(np.float64).mean(axis=0)
        masked = task_vec + emb.embed([mask_task_words(q, task_stems) for q in gold]).astype(np.float64).mean(axis=0)
        return raw / np.linalg.norm(raw), masked / np.linalg.norm(masked)

    def scores(self, case: Case, answer: Answer) -> dict[str, float]:
        """Continuous 0..1 score per dimension of `answer` for `case` (gold is the coverage reference)."""
        return self._scores(self.features(case, answer), self.features(case, case.gold))

    def _scores(self, mine: SetFeatures, gold: SetFeatures) -> dict[str, float]:
        sims = cosine_matrix(gold.masked, mine.masked).astype(np.float64)
        pairs = pairwise.match(sims, COVER_LOW)
        covered = sum(_ramp(s, COVER_LOW, COVER_HIGH) * mine.on_topic[c] for _, c, s in pairs)
        return {
            "atomicity": float(np.mean([a * (0.5 + 0.5 * d) for a, d in zip(mine.atomicity, mine.distinct)])),
            "specificity": float(np.mean([s * d for s, d in zip(mine.specificity, mine.distinct)])),
            "coverage": covered / len(gold.questions),
            "naturalness": float(np.mean([n * (0.5 + 0.5 * d) for n, d in zip(mine.naturalness, mine.distinct)])),
            "non_redundancy": mine.non_redundancy,
        }

    def margin(self, case: Case, set_a: Answer, set_b: Answer) -> float:
        """The pairwise margin of set A over set B for this case's task (>0: A better)."""
        both = (set_a, set_b)
        return self._margin(self.features(case, set_a, both), self.features(case, set_b, both),
                            self.features(case, set_a).on_topic, self.features(case, set_b).on_topic)

    def _margin(self, a: SetFeatures, b: SetFeatures, on_topic_a: list[float], on_topic_b: list[float]) -> float:
        return pairwise.margin(a.value(on_topic_a), b.value(on_topic_b),
                               cosine_matrix(a.masked, b.masked).astype(np.float64))

    def compare(self, case: Case, set_a: Answer, set_b: Answer) -> str:
        """"A", "B" or "tie"."""
        return pairwise.verdict(self.margin(case, set_a, set_b))

    # --- the judgement ----------------------------------------------------------------------------
    def _judge(self, case: Case, candidate: Answer) -> CaseJudgement:
        mine = self.features(case, candidate)
        gold = self.features(case, case.gold)
        cand = self._scores(mine, gold)
        if self.mode == "coverage-blind":
            cand_dims = {**cand, "coverage": sum(v for d, v in cand.items() if d != "coverage") / 4}
        else:
            cand_dims = cand
        both = (candidate, case.gold)
        mine_pw, gold_pw = self.features(case, candidate, both), self.features(case, case.gold, both)
        margin = self._margin(mine_pw, gold_pw, mine.on_topic, gold.on_topic)
        first = pairwise.verdict(margin)
        second = pairwise.verdict(self._margin(gold_pw, mine_pw, gold.on_topic, mine.on_topic))
        cand_first: Verdict = {"A": "candidate", "B": "gold", "tie": "tie"}[first]
        gold_first: Verdict = {"A": "gold", "B": "candidate", "tie": "tie"}[second]
        verdict: Verdict = cand_first if cand_first == gold_first else "tie"
        reasoning = (
            f"proxy v2 scores (0..1) {', '.join(f'{d} {cand[d]:.2f}' for d in DIMENSIONS)}; "
            f"pairwise margin {margin:+.3f} (tie within {pairwise.PAIR_TIE})"
        )
        return CaseJudgement(
            dims=DimScores(**{d: to_dim(cand_dims[d]) for d in DIMENSIONS}),
            verdict_candidate_first=cand_first, verdict_gold_first=gold_first, verdict=verdict,
            reasoning=reasoning, failure_notes=_failure_notes(case.task, mine, gold, cand), judge_calls=1,
        )


def _failure_notes(task: str, mine: SetFeatures, gold: SetFeatures, scores: dict[str, float]) -> str:
    """What the set does poorly, in counts and kinds, never quoting gold."""
    notes = []
    sims = cosine_matrix(gold.masked, mine.masked).astype(np.float64)
    matched = {g for g, _, s in pairwise.match(sims, COVER_LOW) if s >= COVER_HIGH}
    missed = len(gold.questions) - len(matched)
    if missed:
        notes.append(f"misses {missed} of {len(gold.questions)} decision-critical unknowns")
    off_topic = sum(o < 0.5 for o in mine.on_topic)
    if off_topic:
        notes.append(f"{off_topic} question(s) not about this task")
    echoes = sum(echo_run(q, task) for q in mine.questions)
    if echoes:
        notes.append(f"{echoes} question(s) paste the task text")
    frames = sum(framed(mine.questions))
    if frames:
        notes.append(f"{frames} question(s) share a repeated template frame")
    compound = sum(is_atomic(q) == 0.0 for q in mine.questions)
    if compound:
        notes.append(f"{compound} compound question(s)")
    dupes = sum(d < 0.5 for d in mine.distinct)
    if dupes:
        notes.append(f"{dupes} near-duplicate question(s)")
    if scores["specificity"] < 0.5:
        notes.append("mostly generic questions that ignore the task's particulars")
    return "; ".join(notes)
