"""The shipped pipeline, evaluated through the real harness on `runner = "apple-mock"` (the compiled
fm-runner mock on the Apple code path): the dev gate scores every case with zero schema refusals. A
pipeline whose schema steps outside the dialect gets one clear error naming the keyword and its path,
and nothing is recorded as a score."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from loop.config import load_config
from loop.db.models import CaseResult, Evaluation, GenerationCacheEntry
from loop.db.session import session_scope, upgrade
from loop.errors import InputError
from loop.evaluate import evaluate
from loop.ruler_files import gate_cases
from loop.ruler_lock import write_lock

from .conftest import REPO

BINARY = REPO / "native" / ".build" / "release" / "fm-runner"
pytestmark = [
    pytest.mark.needs_swift,
    pytest.mark.skipif(not BINARY.is_file(), reason=f"fm-runner is not built ({BINARY}); run `make native`"),
]


@pytest.fixture
def apple_mock_config(project_copy: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("AUTORESEARCH_RUNNER", raising=False)
    write_lock(project_copy / "ruler")
    (project_copy / "autoresearch.toml").write_text(f'runner = "apple-mock"\nfm_runner_path = "{BINARY}"\n')
    config = load_config(project_copy, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", judge="proxy")
    assert config.runner == "apple-mock"  # read from the config file, as a user would set it
    upgrade(config)
    return config


def rows(config, model) -> int:
    with session_scope(config) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_shipped_pipeline_scores_every_dev_case_on_fm_runner(apple_mock_config):
    report = evaluate(apple_mock_config, "dev", progress=False, kind="manual")
    assert report.backend.name == "mock" and report.backend.dialect == "mock"
    cases = gate_cases(apple_mock_config.ruler_dir, "dev")
    assert len(report.outcomes) == len(cases) == 10
    calls = [e for o in report.outcomes for e in o.trace if e.get("kind") in ("model", "adapter")]
    refusals = [e["error"] for e in calls if "unsupported_schema" in (e.get("error") or "")]
    assert refusals == [], refusals
    assert [o.invalid_reason for o in report.outcomes] == [None] * len(cases)
    assert all(e["ok"] for e in calls) and len(calls) == report.model_calls == len(cases)
    assert report.summary.quality > 0
    assert rows(apple_mock_config, Evaluation) == 1


OUTSIDE_THE_DIALECT = '''
def generate(task, model):
    schema = {"type": "object", "properties": {"title": {"type": "string", "format": "date"},
              "questions": {"type": "array", "items": {"type": "string"}, "minItems": 7, "maxItems": 7}},
              "required": ["title", "questions"]}
    return model.respond(f"Task: {task}", schema=schema).json_
'''


def test_a_schema_keyword_outside_the_dialect_is_a_clear_error_and_no_score(apple_mock_config):
    pipeline = apple_mock_config.workspace_dir / "pipeline.py"
    pipeline.write_text(OUTSIDE_THE_DIALECT)
    with pytest.raises(InputError) as info:
        evaluate(apple_mock_config, "dev", progress=False, kind="manual")
    message = str(info.value)
    assert info.value.path == pipeline
    assert "keyword 'format' at properties.title is not in the mock schema dialect" in message
    assert "before sending" in message
    assert rows(apple_mock_config, Evaluation) == 0
    assert rows(apple_mock_config, CaseResult) == 0
    assert rows(apple_mock_config, GenerationCacheEntry) == 0, "a refusal is not cached as a generation"
