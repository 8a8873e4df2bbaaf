"""Proxy v2: the judge sanity suite (ladders of our own tasks, >= 90 % of pairs ordered), and the
specific ways v1 could be fooled (task echoes, repeated frames, shared entity words, no second signal)."""

from __future__ import annotations

import re

import pytest

from loop.config import Config
from loop.judges import make_judge
from loop.judges.proxy_v2 import ProxyV2Judge
from loop.runners.replay_server import generic_answer
from loop.schemas import Answer, Case
from tests.support.judge_ladders import RUNGS, TASKS, ladder_pairs, ladders
from ruler.scoring import pairwise_score, rubric_score

LADDER_GATE = 0.90


def contribution(judgement) -> float:
    """A case's contribution to quality: 0.5 x pairwise + 0.5 x rubric (the frozen formula, one case)."""
    return 0.5 * pairwise_score(judgement.verdict) + 0.5 * rubric_score(judgement.dims)


def test_sanity_suite_orders_at_least_90_percent_of_ladder_pairs():
    judge = ProxyV2Judge()
    scores = {ladder.case.id: {rung: contribution(judge.judge(ladder.case, ladder.sets[rung])) for rung in RUNGS}
              for ladder in ladders()}
    right, total, wrong = ladder_pairs(scores)
    assert total == 15 * len(TASKS)
    assert right / total >= LADDER_GATE, f"{right}/{total} ordered; wrong: {wrong}"


def test_ladder_tasks_are_not_ruler_tasks(project_copy):
    from loop.ruler_files import load_cases

    ruler = {c.task.lower() for name in ("tasks.jsonl", "holdout.jsonl") for c in load_cases(project_copy / "ruler" / name)}
    assert not ruler & {t["task"].lower() for t in TASKS}


def test_echoing_the_task_string_cannot_max_out_specificity_or_naturalness():
    judge = ProxyV2Judge()
    for ladder in ladders():
        template = Answer.model_validate(generic_answer(ladder.case.task))
        dims = judge.judge(ladder.case, template).dims
        assert dims.specificity <= 2, (ladder.case.task, dims)
        assert dims.naturalness <= 3, (ladder.case.task, dims)


def test_shared_entity_words_alone_do_not_cover_gold():
    case = ladders()[1].case  # "Plan a cycling holiday in Portugal"
    entity_only = Answer(title="Portugal", questions=[
        "Is Portugal a member of the European Union?", "What language do people speak in Portugal?",
        "Have you ever watched cycling on television?", "Is Portugal warmer than Spain?",
        "Who won the last big cycling race in Portugal?", "What is the capital of Portugal?",
        "Do you like Portuguese music?"])
    v2 = ProxyV2Judge().judge(case, entity_only)
    assert v2.dims.coverage <= 2, v2
    assert v2.verdict == "gold"


def test_pairwise_can_find_a_candidate_better_than_gold():
    task = TASKS[0]
    weak_gold = Answer(title=task["title"], questions=task["gold"][:5] + [
        "Is there anything else I should know?", "What are your goals?"])
    stronger = Answer(title=task["title"], questions=task["gold"][:5] + task["gold"][5:])
    case = Case(id="x", task=task["task"], gold=weak_gold)
    judge = ProxyV2Judge()
    judgement = judge.judge(case, stronger)
    assert judgement.verdict == judgement.verdict_candidate_first == judgement.verdict_gold_first == "candidate"
    assert judge.judge(case, weak_gold).verdict == "tie"  # gold against itself


def test_pairwise_is_a_second_signal_not_the_rubric_mean():
    """Two candidates with the same rubric dims can get different verdicts (and vice versa): the
    verdict compares the sets' questions, it is not computed from the five numbers."""
    judge = ProxyV2Judge()
    seen: dict[tuple, set[str]] = {}
    for ladder in ladders():
        for rung in RUNGS:
            j = judge.judge(ladder.case, ladder.sets[rung])
            seen.setdefault(tuple(j.dims.model_dump().values()), set()).add(j.verdict)
    assert any(len(verdicts) > 1 for verdicts in seen.values()), seen


def test_invisible_characters_change_nothing():
    ladder = ladders()[0]
    clean = ladder.sets["independent"]
    dirty = Answer(title=clean.title, questions=[q.replace(" ", " \u200b", 2) + "\u200d" for q in clean.questions])
    judge = ProxyV2Judge()
    assert judge.scores(ladder.case, dirty) == judge.scores(ladder.case, clean)


def test_deterministic_and_symmetric():
    ladder = ladders()[2]
    first, second = ProxyV2Judge(), ProxyV2Judge()
    for rung in RUNGS:
        a, b = first.judge(ladder.case, ladder.sets[rung]), second.judge(ladder.case, ladder.sets[rung])
        assert a == b
        assert a.verdict_candidate_first == a.verdict_gold_first
        margin = first.margin(ladder.case, ladder.sets[rung], ladder.case.gold)
        assert first.margin(ladder.case, ladder.case.gold, ladder.sets[rung]) == pytest.approx(-margin, abs=1e-12)


def test_default_proxy_is_v2_and_v1_stays_loadable():
    v2 = make_judge(Config(judge="proxy")).judge_id
    v1 = make_judge(Config(judge="proxy-v1")).judge_id
    assert re.fullmatch(r"proxy:minilm-l6-int8/2\+[0-9a-f]{10}", v2)
    assert re.fullmatch(r"proxy:minilm-l6-int8/1\+[0-9a-f]{10}", v1)
    assert make_judge(Config(judge="proxy", judge_mode="coverage-blind")).judge_id == v2 + ":coverage-blind"
