"""Every evaluation records the confinement its pipeline ran under, and where no sandbox works an
evaluation refuses to run unconfined unless the user passes --unconfined (issue 9, item 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from loop.cli import app
from loop.config import load_config
from loop.db.models import Evaluation
from loop.db.session import session_scope
from loop.errors import InputError
from loop.evaluate import evaluate
from loop.sandbox import confine


@pytest.fixture
def no_bwrap(monkeypatch):
    monkeypatch.setattr(confine, "_bwrap_works", lambda: (False, "bwrap cannot create a sandbox here: no userns"))
    monkeypatch.setattr(confine.platform, "system", lambda: "Linux")


def _evaluations(config) -> int:
    with session_scope(config) as db:
        return db.scalar(select(func.count()).select_from(Evaluation))


def test_an_evaluation_records_its_confinement(eval_config):
    report = evaluate(eval_config, "dev", progress=False)
    assert report.confinement == "bwrap"
    with session_scope(eval_config) as db:
        assert db.get(Evaluation, report.evaluation_id).confinement == "bwrap"


def test_without_a_sandbox_nothing_runs_or_is_recorded_unless_unconfined(eval_config, no_bwrap):
    with pytest.raises(confine.UnconfinedRefused, match="--unconfined"):
        evaluate(eval_config, "dev", progress=False)
    assert _evaluations(eval_config) == 0
    unconfined = eval_config.model_copy(update={"unconfined": True})
    report = evaluate(unconfined, "dev", progress=False)
    with session_scope(eval_config) as db:
        assert db.get(Evaluation, report.evaluation_id).confinement == "none"


def test_eval_command_refuses_with_how_to_fix_and_what_is_lost(eval_config, no_bwrap):
    result = CliRunner().invoke(app, ["eval", "--gate", "dev", "--json", "--repo", str(eval_config.repo)],
                                env={"DATABASE_URL": eval_config.db_url, "AUTORESEARCH_JUDGE": "proxy",
                                     "AUTORESEARCH_RUNNER": "replay"})
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "refusing to run the pipeline unconfined" in text and "--unconfined" in text
    assert "kernel.unprivileged_userns_clone=1" in text
    assert _evaluations(eval_config) == 0


def test_unconfined_cannot_be_a_standing_setting(tmp_path):
    (tmp_path / "autoresearch.toml").write_text('runner = "replay"\nunconfined = true\n')
    with pytest.raises(InputError) as error:
        load_config(tmp_path)
    assert error.value.path == tmp_path / "autoresearch.toml" and error.value.line == 2
    assert "--unconfined" in str(error.value)


def test_the_experiment_page_shows_the_confinement():
    from loop.dashboard.experiment_page import _confinement

    assert "UNCONFINED" in _confinement("none")
    assert "bwrap" in _confinement("bwrap") and "UNCONFINED" not in _confinement("bwrap")
    assert "not recorded" in _confinement(None)
