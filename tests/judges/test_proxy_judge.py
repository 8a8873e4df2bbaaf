"""The offline proxy judge: deterministic, symmetric, sensible on obvious cases."""

from __future__ import annotations

import re


from loop.config import Config
from loop.embedder import Embedder
from loop.judges import make_judge
from loop.judges.proxy import ProxyJudge, to_dim
from loop.schemas import Answer



def test_same_inputs_same_floats_across_calls_and_embedders(case, good):
    first, second = ProxyJudge(Embedder()), ProxyJudge(Embedder())
    a, b = first.scores(case, good), second.scores(case, good)
    assert a == b  # exact float equality, bit for bit
    assert first.scores(case, good) == a
    assert first.judge(case, good) == second.judge(case, good)


def test_gold_against_itself_is_a_tie_with_full_coverage(case):
    judgement = ProxyJudge().judge(case, case.gold)
    assert judgement.verdict == judgement.verdict_candidate_first == judgement.verdict_gold_first == "tie"
    assert judgement.dims.coverage == 5
    assert judgement.error is None and judgement.failure_notes == ""


def test_unrelated_candidate_loses_with_lower_coverage(case, good, unrelated):
    judge = ProxyJudge()
    bad, good = judge.judge(case, unrelated), judge.judge(case, good)
    assert bad.verdict == "gold"
    assert bad.dims.coverage < good.dims.coverage
    assert bad.dims.specificity < good.dims.specificity
    assert "misses" in bad.failure_notes and "of 7 decision-critical unknowns" in bad.failure_notes
    for question in case.gold.questions:  # failure notes never quote gold
        assert question not in bad.failure_notes


def test_paraphrased_gold_covers_most_topics(case, good):
    scores = ProxyJudge().scores(case, good)
    assert scores["coverage"] >= 5 / 7
    assert ProxyJudge().judge(case, good).verdict == "tie"  # a close paraphrase of gold is no loss


def test_orders_agree_because_the_rule_is_symmetric(case, good, unrelated):
    judge = ProxyJudge()
    for candidate in (good, unrelated, case.gold):
        j = judge.judge(case, candidate)
        assert j.verdict_candidate_first == j.verdict_gold_first
        flipped = {"A": "B", "B": "A", "tie": "tie"}[judge.compare(case, case.gold, candidate)]
        assert judge.compare(case, candidate, case.gold) == flipped


def test_form_problems_lower_atomicity_naturalness_and_redundancy(case, good):
    messy = Answer(
        title="Paris",
        questions=[
            "1. budget",
            "What is your budget and when do you want to go?",
            "What is your budget for the trip?",
            "What's your budget for this trip?",
            "dates",
            "Who is coming with you, and where will you stay?",
            "Any must-see museums?",
        ],
    )
    judge = ProxyJudge()
    j = judge.judge(case, messy)
    assert j.dims.atomicity <= 4 and j.dims.naturalness <= 4 and j.dims.non_redundancy <= 3
    assert "compound" in j.failure_notes and "near-duplicate" in j.failure_notes
    assert judge.judge(case, good).dims.atomicity == 5


def test_to_dim_mapping():
    assert [to_dim(x) for x in (0.0, 0.1249, 0.125, 0.5, 0.875, 1.0, 2.0, -1.0)] == [1, 1, 2, 3, 5, 5, 5, 1]


def test_make_judge_builds_proxy_and_mode_suffix():
    assert re.fullmatch(r"proxy:minilm-l6-int8/1\+[0-9a-f]{10}", make_judge(Config(judge="proxy-v1")).judge_id)
    blind = make_judge(Config(judge="proxy", judge_mode="coverage-blind"))
    assert blind.judge_id.endswith(":coverage-blind") and blind.mode == "coverage-blind"
