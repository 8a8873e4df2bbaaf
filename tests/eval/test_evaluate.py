"""The harness end to end through real subprocess runners, the sandboxed pipeline and the proxy judge."""

from __future__ import annotations


from sqlalchemy import func, select

from loop.db.models import CaseResult, Evaluation
from loop.db.session import session_scope
from loop.evaluate import evaluate
from loop.ruler_files import gate_cases

from .conftest import write_answers


def test_full_gate_is_scored_and_recorded(eval_config):
    report = evaluate(eval_config, "full", progress=False)
    s = report.summary
    assert len(report.outcomes) == 30 and s.scored_cases == 30 and s.judge_errors == 0
    assert s.wins + s.ties + s.losses == 30
    assert 0.0 <= s.quality <= 1.0
    assert abs(s.quality - (0.5 * s.pairwise + 0.5 * s.rubric)) < 1e-9
    assert report.model_calls >= 30 and report.judge_calls >= 30
    with session_scope(eval_config) as db:
        row = db.get(Evaluation, report.evaluation_id)
        assert row.quality == s.quality and row.ruler_id == report.ruler_id
        assert db.scalar(select(func.count()).select_from(CaseResult)
                         .where(CaseResult.evaluation_id == row.id)) == 30


def test_repeat_evaluation_makes_no_model_or_judge_calls(eval_config):
    first = evaluate(eval_config, "dev", progress=False)
    again = evaluate(eval_config, "dev", progress=False)
    assert first.model_calls > 0 and first.judge_calls > 0
    assert again.model_calls == 0 and again.judge_calls == 0
    assert again.summary == first.summary
    assert all(o.from_cache for o in again.outcomes)


def test_changed_workspace_misses_the_cache(eval_config):
    evaluate(eval_config, "dev", progress=False)
    prompts = eval_config.workspace_dir / "pipeline.toml"
    prompts.write_text(prompts.read_text() + "\n# a change\n")
    again = evaluate(eval_config, "dev", progress=False)
    assert again.model_calls > 0


def test_six_questions_score_as_a_loss_with_reason(eval_config, text_pipeline, tmp_path, monkeypatch):
    cases = gate_cases(eval_config.ruler_dir, "dev")
    short = cases[0]
    answers = {c.task: c.gold.model_dump() for c in cases[1:3]}
    answers[short.task] = {"title": "Short", "questions": [f"Question {i}?" for i in range(6)]}
    monkeypatch.setenv("AUTORESEARCH_REPLAY_ANSWERS", str(write_answers(tmp_path / "answers.json", answers)))
    report = evaluate(eval_config, "dev", workspace=text_pipeline, progress=False)
    bad = next(o for o in report.outcomes if o.case_id == short.id)
    assert bad.invalid_reason.endswith("6 questions, expected 7")
    assert bad.judgement.verdict == "gold" and bad.judgement.dims.mean() == 1.0
    copied = [o for o in report.outcomes if o.task in answers and o.case_id != short.id]
    assert copied and all(o.gold_leak and o.invalid_reason.startswith("gold leak") for o in copied)
    with session_scope(eval_config) as db:
        row = db.scalar(select(CaseResult).where(CaseResult.evaluation_id == report.evaluation_id,
                                                 CaseResult.case_id == short.id))
        assert row.invalid_reason.endswith("6 questions, expected 7") and row.coverage == 1
