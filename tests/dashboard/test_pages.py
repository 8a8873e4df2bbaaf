"""The dashboard over real HTTP (uvicorn on 127.0.0.1): pages, data endpoints, and the empty, error
and not-found states. No browser needed."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

from sqlalchemy import func, select

from loop.dashboard.queries import contribution
from loop.db.models import CaseResult, Evaluation, Experiment
from loop.db.session import session_scope, upgrade
from tests.support.dashboard_records import RULER_NEW, RULER_OLD

from .webget import get


def db_status_counts(url: str, ruler_id: str) -> dict[str, int]:
    with session_scope(url) as db:
        rows = db.execute(select(Experiment.status, func.count()).where(
            (Experiment.ruler_id == ruler_id) | Experiment.ruler_id.is_(None)).group_by(Experiment.status)).all()
    return dict(rows)


def test_data_endpoint_matches_the_record_and_answers_304_until_it_changes(record, serve):
    server = serve(record.url, record.ruler_dir)
    status, headers, text = get(server.url + "/api/data")
    assert status == 200
    data = json.loads(text)
    assert data["ruler"] == RULER_NEW  # the newest ruler is the default
    shown = {}
    for s in data["points"]["status"]:
        shown[s] = shown.get(s, 0) + 1
    assert shown == db_status_counts(record.url, RULER_NEW)
    assert data["points"]["number"] == sorted(data["points"]["number"])
    assert {r["status"] for r in data["requests"]} == {"open", "answered"}
    (answered,) = [r for r in data["requests"] if r["status"] == "answered"]  # request → adapter → experiment
    with session_scope(record.url) as db:
        evaluated = db.get(Experiment, answered["answer_experiment"])
        assert (answered["adapter"], answered["answer_status"], answered["answer_quality"]) == \
            ("ab" * 32, evaluated.status, evaluated.quality) and evaluated.quality is not None
    assert data["costs"]["total_usd"] > 0

    again, _, body = get(server.url + "/api/data", {"If-None-Match": headers["etag"]})
    assert (again, body) == (304, "")
    with session_scope(record.url) as db:
        db.add(Experiment(number=41, status="kept", ruler_id=RULER_NEW, quality=0.93, lever="orpo",
                          operator="interactive", finished_at=datetime.now(timezone.utc)))
    status, changed, text = get(server.url + "/api/data", {"If-None-Match": headers["etag"]})
    assert status == 200 and changed["etag"] != headers["etag"]
    assert json.loads(text)["points"]["number"][-1] == 41


def test_the_ruler_selector_keeps_other_rulers_apart(record, serve):
    server = serve(record.url, record.ruler_dir)
    data = json.loads(get(server.url + f"/api/data?ruler={RULER_OLD}")[2])
    numbers = data["points"]["number"]
    with session_scope(record.url) as db:
        new = set(db.scalars(select(Experiment.number).where(Experiment.ruler_id == RULER_NEW)))
    assert numbers and not new & set(numbers)
    status, _, text = get(server.url + "/?ruler=" + "f" * 64)
    assert status == 404 and "No experiment was scored under ruler" in text
    page = get(server.url + "/")[2]
    assert "kept apart" in page and 'id="ruler-select"' in page


def test_overview_serves_every_asset_locally(record, serve):
    server = serve(record.url, record.ruler_dir)
    status, headers, page = get(server.url + "/")
    assert status == 200 and "script-src 'self'" in headers["content-security-policy"]
    assert '<script src="/static/plotly.min.js">' in page and "https://" not in page
    status, headers, js = get(server.url + "/static/plotly.min.js")
    assert status == 200 and len(js) > 1_000_000 and "javascript" in headers["content-type"]
    assert get(server.url + "/static/dashboard.js")[0] == 200
    assert get(server.url + "/static/dashboard.css")[0] == 200


def test_matrix_cells_are_contribution_minus_the_incumbents_same_case(record, serve):
    server = serve(record.url, record.ruler_dir)
    m = json.loads(get(server.url + "/api/matrix")[2])
    assert len(m["cases"]) == 30 and len(m["z"]) == 30
    col = next(i for i, p in enumerate(m["parent"]) if p is not None and m["status"][i] == "discarded")
    number, parent = m["x"][col], m["parent"][col]

    def case_value(exp: int, case_id: str) -> float:
        with session_scope(record.url) as db:
            eval_id = db.scalar(select(func.max(Evaluation.id)).where(Evaluation.experiment_number == exp,
                                                                        Evaluation.gate == "full"))
            c = db.scalars(select(CaseResult).where(CaseResult.evaluation_id == eval_id,
                                                   CaseResult.case_id == case_id)).one()
            return contribution(c.verdict, (c.atomicity, c.specificity, c.coverage, c.naturalness, c.non_redundancy))

    for row in (0, 17):
        expected = case_value(number, m["cases"][row]) - case_value(parent, m["cases"][row])
        assert abs(m["z"][row][col] - expected) < 1e-3
    window = json.loads(get(server.url + "/api/matrix?first=20&last=25")[2])
    assert window["x"] and min(window["x"]) >= 20 and max(window["x"]) <= 25
    assert get(server.url + "/api/matrix?first=abc")[0] == 400


def test_experiment_page_shows_reasoning_gold_escaped_diff_and_a_sandboxed_diagram(record, serve):
    server = serve(record.url, record.ruler_dir)
    number = max(record.generated.reasoning)
    status, _, page = get(server.url + f"/experiments/{number}")
    assert status == 200
    assert record.generated.reasoning[number] in page
    assert "What is your budget for &#x27;Plan a trip to Paris&#x27;?" in page  # gold from ruler/tasks.jsonl
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page and "<b>not bold</b>" not in page
    assert '<span class="add">+default = 0.0</span>' in page and '<span class="del">-default = 0.7</span>' in page
    assert f'<img class="diagram" src="/experiments/{number}/diagram.svg"' in page
    assert "<script>document.title" not in page  # the SVG is never inlined
    status, headers, svg = get(server.url + f"/experiments/{number}/diagram.svg")
    assert status == 200 and headers["content-type"] == "image/svg+xml"
    assert "default-src 'none'" in headers["content-security-policy"] and "script" not in \
        headers["content-security-policy"]


def test_experiment_page_without_a_readable_ruler_says_why(record, serve, tmp_path):
    server = serve(record.url, tmp_path / "no-ruler-here")
    status, _, page = get(server.url + f"/experiments/{max(record.generated.reasoning)}")
    assert status == 200 and "file not found" in page


def test_unknown_experiment_and_path_are_404_pages_without_a_traceback(record, serve):
    server = serve(record.url, record.ruler_dir)
    for path, text in (("/experiments/99999", "There is no experiment #99999"),
                       ("/experiments/abc", "Nothing lives at /experiments/abc"),
                       ("/experiments/99999/diagram.svg", "has no process diagram")):
        status, headers, page = get(server.url + path)
        assert status == 404 and text in page and "Traceback" not in page, path
        assert headers["content-type"].startswith("text/html")


def test_empty_record_shows_how_to_start(tmp_path, ruler_dir, serve):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    upgrade(url)
    server = serve(url, ruler_dir)
    status, _, page = get(server.url + "/")
    assert status == 200 and "No experiments yet" in page and "autoresearch run" in page
    data = json.loads(get(server.url + "/api/data")[2])
    assert data["count"] == 0 and data["points"]["number"] == []


def test_a_file_that_is_not_a_database_is_a_503_naming_it(tmp_path, ruler_dir, serve):
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    server = serve(f"sqlite:///{path}", ruler_dir)
    for route in ("/", "/experiments/1"):
        status, _, page = get(server.url + route)
        assert status == 503 and str(path) in page and "file is not a database" in page, route
        assert "Traceback" not in page and 'File "' not in page
    status, _, text = get(server.url + "/api/data")
    assert status == 503 and json.loads(text)["error"] == "The database cannot be opened"


def test_a_database_without_the_schema_says_to_run_init(tmp_path, ruler_dir, serve):
    path = tmp_path / "blank.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE unrelated (x)").connection.close()
    server = serve(f"sqlite:///{path}", ruler_dir)
    status, _, page = get(server.url + "/")
    assert status == 503 and "no such table" in page and "autoresearch init" in page


def test_a_missing_database_path_is_a_404_and_is_not_created(tmp_path, ruler_dir, serve):
    path = tmp_path / "nowhere" / "record.sqlite"
    server = serve(f"sqlite:///{path}", ruler_dir)
    status, _, page = get(server.url + "/")
    assert status == 404 and str(path) in page and "autoresearch init" in page
    assert not path.exists() and not path.parent.exists()


def test_the_dashboard_cannot_write_the_record(record, serve):
    server = serve(record.url, record.ruler_dir)
    engine = server.app.state.source.engine
    with engine.connect() as conn:
        try:
            conn.exec_driver_sql("DELETE FROM experiments")
        except Exception as exc:  # sqlite3: attempt to write a readonly database
            assert "readonly" in str(exc)
        else:
            raise AssertionError("a write went through")


def test_foreign_host_headers_are_refused_on_loopback(record, serve):
    server = serve(record.url, record.ruler_dir)
    assert get(server.url + "/", {"Host": "evil.example:80"})[0] == 400


def test_judge_dollars_and_the_claimed_lever_are_shown(record, serve):
    with session_scope(record.url) as db:
        numbers = sorted(db.scalars(select(Experiment.number).where(Experiment.ruler_id == RULER_NEW)))[-2:]
        for number, cost in zip(numbers, (0.125, 0.5)):
            row = db.get(Experiment, number)
            row.judge_cost_usd, row.judge_input_tokens, row.judge_output_tokens = cost, 4000, 300
            row.judge_cache_read_tokens, row.lever, row.lever_claimed = 9000, "inference", "orpo"
    server = serve(record.url, record.ruler_dir)
    data = json.loads(get(server.url + "/api/data")[2])
    assert data["costs"]["judge_total_usd"] == 0.625
    assert data["costs"]["night_judge_usd"] == 0.625  # both are among the night's newest experiments
    points = dict(zip(data["points"]["number"], data["points"]["judge_cost"]))
    assert (points[numbers[0]], points[numbers[1]]) == (0.125, 0.5)
    page = get(server.url + f"/experiments/{numbers[1]}")[2]
    assert "$0.5000 (tokens in 4000, out 300, cache read 9000)" in page
    assert "the agent claimed orpo" in page
