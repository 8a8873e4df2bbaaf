"""`train drafts`: the best pipeline's own drafts of pool tasks through the real CLI, run sandboxed through
the (replay) runner as an evaluation runs it, judged by the proxy judge, resumable and cached; then
`train data pref` takes each task's worst draft as rejected."""

from __future__ import annotations

import json

import pytest

from loop.errors import InputError

from loop.runners.factory import open_runner
from loop.training.data import load_drafts
from loop.training.drafts import generate_drafts


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_drafts_greedy_and_sampled_judged_resumed_and_cached(cli, cli_env, tmp_path):
    out = tmp_path / "drafts.jsonl"
    first = cli("train", "drafts", "--out", str(out), "--n", "2", "--limit", "3", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["written"] == 6 and report["already"] == 0 and report["model_calls"] == 6
    rows = lines(out)
    assert sorted((r["id"], r["draw"]) for r in rows) == sorted(
        (i, d) for i in {r["id"] for r in rows} for d in ("greedy", "sample-1"))
    assert all(r["judge_id"] == report["judge_id"] and 0 <= r["score"] <= 1 and r["answer"] for r in rows)
    assert set(report["scores"]) == {r["id"] for r in rows}

    out.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))  # killed after two drafts
    resumed = json.loads(cli("train", "drafts", "--out", str(out), "--n", "2", "--limit", "3", "--json").stdout)
    assert resumed["already"] == 2 and resumed["written"] == 4
    assert resumed["model_calls"] == 0 and resumed["from_cache"] == 4  # the generation cache answered
    assert len(lines(out)) == 6
    again = json.loads(cli("train", "drafts", "--out", str(out), "--n", "2", "--limit", "3", "--json").stdout)
    assert again["written"] == 0 and again["already"] == 6 and len(lines(out)) == 6


class Recording:
    def __init__(self, client):
        self.client, self.samplings = client, []

    def probe(self):
        return self.client.probe()

    def call(self, request):
        self.samplings.append(request.sampling)
        return self.client.call(request)


def test_sampled_draws_reach_the_runner_with_their_seed(train_config, tmp_path):
    with open_runner(train_config) as client:
        recording = Recording(client)
        generate_drafts(train_config, tmp_path / "d.jsonl", 3, limit=1, runner=recording, progress=False)
    modes = [(s.mode, s.seed) for s in recording.samplings]
    assert modes[0][0] == "greedy" and modes[1:] == [("random", 1), ("random", 2)], modes


def test_the_worst_draft_is_rejected_and_a_broken_line_is_named(tmp_path):
    answer = lambda t: {"title": t, "questions": ["Where do you go?", "When do you leave?"]}  # noqa: E731
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "p1", "draw": "greedy", "answer": answer("good"), "score": 0.7},
        {"id": "p1", "draw": "sample-1", "answer": answer("bad"), "score": 0.2},
        {"id": "p1", "draw": "sample-2", "answer": None, "score": 0.0},  # invalid: no answer to reject
        {"id": "p2", "draw": "greedy", "answer": answer("only"), "score": 0.5}]))
    assert {i: a.title for i, a in load_drafts(path).items()} == {"p1": "bad", "p2": "only"}
    assert load_drafts(path, pick="first")["p1"].title == "good"
    path.write_text(path.read_text() + "{oops\n")
    with pytest.raises(InputError, match="not a drafts file") as raised:
        load_drafts(path)
    assert raised.value.line == 5 and raised.value.path == path
