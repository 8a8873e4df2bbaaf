"""A trace stripped to its bare structure, and the tile that draws it."""

from __future__ import annotations

import re

from loop.adapters.store import AdapterStore
from loop.report.shape import AdapterCatalog, Shape, shape_of
from loop.report.tiles import MAX_MARKS, MAX_ROWS, Tile, tile_html

SHA_A, SHA_B = "ab" * 32, "cd" * 32


def model(label, ok=True):
    return {"kind": "model", "label": label, "ok": ok, "latency_ms": 10.0}


def adapter(label, sha):
    return {"kind": "adapter", "label": label, "ok": True, "adapter": {"path": "x.gguf", "format": "gguf-lora",
                                                                       "sha256": sha}}


def stages(shape: Shape) -> list[tuple]:
    return [(s.kind, s.label, s.count, s.failed) for s in shape.stages]


def test_consecutive_calls_of_one_label_are_one_stage_and_failures_are_counted():
    trace = [model("candidate"), model("candidate", ok=False), model("candidate"), model("pick"),
             {"kind": "step", "label": "dedupe"}, {"kind": "mystery"}, model("candidate")]
    assert stages(shape_of(trace)) == [("model", "candidate", 3, 1), ("model", "pick", 1, 0),
                                       ("step", "dedupe", 1, 0), ("step", "step", 1, 0), ("model", "candidate", 1, 0)]
    assert shape_of(trace).counts() == {"model": 5, "step": 2}
    assert shape_of(None).empty and shape_of([]).empty


def test_training_stages_come_from_adapter_metadata_and_only_where_present(tmp_path):
    AdapterStore(tmp_path).put_metadata(SHA_A, {"recipe": "orpo", "steps": 40, "final_loss": 0.5, "request": 3})
    catalog = AdapterCatalog(tmp_path)
    trace = [adapter("draft", SHA_A), adapter("draft", SHA_A), adapter("revise", SHA_B), adapter("draft", SHA_A)]
    shape = shape_of(trace, catalog)
    assert stages(shape) == [("training", "orpo", 1, 0), ("adapter", "draft", 2, 0), ("adapter", "revise", 1, 0),
                             ("adapter", "draft", 1, 0)]
    assert shape.stages[0].adapter == SHA_A and "request 3" in shape.stages[0].detail
    assert stages(shape_of(trace, AdapterCatalog(None)))[0] == ("adapter", "draft", 2, 0)  # no store: no recipe


def test_a_tile_draws_a_mark_per_call_up_to_its_limits():
    trace = [model("candidate")] * (MAX_MARKS + 3) + [model(f"step {i}") for i in range(MAX_ROWS + 2)]
    html = tile_html(Tile(7, "kept", "inference", 0.5, "a <b>bold</b> idea", shape_of(trace)), "/experiments/7")
    first = re.search(r'<g class="stage model" data-kind="model" data-label="candidate" data-count="(\d+)".*?</g>', html)
    assert first.group(1) == str(MAX_MARKS + 3)
    assert first.group(0).count('class="mark model"') == MAX_MARKS and ">+3 " in first.group(0)
    assert html.count('<g class="stage') == MAX_ROWS and "… 3 more stages" in html
    assert "<b>" not in html and 'href="/experiments/7"' in html and 'data-status="kept"' in html
