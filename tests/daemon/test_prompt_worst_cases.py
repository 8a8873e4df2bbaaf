"""The iteration prompt shows the incumbent's own answers on its worst cases with the judge's notes, and
never gold: no gold question or title of ruler/ (tasks and holdout) appears in it, and a note or feedback
quoting gold is refused before the agent could read it."""

from __future__ import annotations

import json
import re

from loop.daemon import experiments
from loop.daemon.gitrecord import GitRecord
from loop.judges import make_judge
from loop.ruler_files import load_cases, ruler_id


def gold_strings(ruler_dir) -> list[str]:
    """Every gold question, and every gold title that is more than words of its task, of the ruler and holdout
    (a title such as "Birthday Party" for "plan a birthday party" is the task's own words, not gold's)."""
    found = []
    for name in ("tasks.jsonl", "holdout.jsonl"):
        for case in load_cases(ruler_dir / name):
            found += list(case.gold.questions)
            if squash(case.gold.title) not in squash(case.task):
                found.append(case.gold.title)
    return found


def squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def quoted_gold(prompt: str, golds: list[str]) -> list[str]:
    flat = squash(prompt)
    return [g for g in golds if squash(g) in flat]


def test_the_prompt_shows_the_incumbents_answers_and_notes_and_no_gold(repo_copy, h):
    config = h.config_for(repo_copy)
    done = h.cli(repo_copy, "prompt")
    assert done.returncode == 0, done.stderr
    prompt = done.stdout
    rid = ruler_id(config.ruler_dir, make_judge(config).judge_id)
    incumbent = experiments.incumbent(config, rid, GitRecord(repo_copy).research_tip())
    assert len(incumbent.worst) == experiments.WORST_CASES
    lowest = sorted(incumbent.scores.values())[:experiments.WORST_CASES]
    assert [c.score for c in incumbent.worst] == [round(s, 3) for s in lowest]
    section = prompt[prompt.index("## Where the current best fails"):]
    for case in incumbent.worst:
        block = section[section.index(f"### {case.case_id}: {case.task}"):]
        assert f"Score {case.score:.3f}" in block.splitlines()[2]
        assert f"The judge's notes: {' '.join(case.failure_notes.split())}" in block
        assert f"The current best answered: **{case.answer.title}**" in block
        for number, question in enumerate(case.answer.questions, 1):
            assert f"\n{number}. {question}\n" in block
    golds = gold_strings(config.ruler_dir)
    assert len(golds) >= 30 * 7
    assert quoted_gold(prompt, golds) == []
    # the check itself sees a gold question when one is there
    assert quoted_gold(prompt + "\n" + golds[3].upper(), golds) == [golds[3]]


def test_a_note_or_feedback_quoting_gold_is_refused_and_nothing_is_stored(repo_copy, h):
    config = h.config_for(repo_copy)
    question = load_cases(config.ruler_dir / "tasks.jsonl")[4].gold.questions[2]
    for args in (("steer", f"Ask this: {question}"), ("feedback", "1", f"It should have asked {question}")):
        done = h.cli(repo_copy, *args)
        assert done.returncode == 2 and "quotes gold text" in done.stderr, done.stderr
    assert json.loads(h.cli(repo_copy, "steer", "--list", "--all", "--json").stdout) == []
    assert h.cli(repo_copy, "prompt").stdout.count("supervisor's feedback") == 0
