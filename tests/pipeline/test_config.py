"""pipeline.toml loading: the shipped file is valid; malformed files name file and line."""

from __future__ import annotations

import sys

import pytest

from loop.errors import InputError

from .conftest import WORKSPACE

sys.path.insert(0, str(WORKSPACE))
from steps.config import load_pipeline_config  # noqa: E402


def test_shipped_config_is_the_greedy_single_call_baseline():
    cfg = load_pipeline_config(WORKSPACE)
    assert cfg["values"]["strategy"] == "single"
    assert cfg["values"]["temperature"] == 0.0
    assert set(cfg["knobs"]["strategy"]["choices"]) == {"single", "eight_then_trim", "draft_critique_revise", "best_of_n"}
    for name, knob in cfg["knobs"].items():
        assert knob["type"] in ("float", "int", "categorical"), name
    assert cfg["pipeline"]["max_output_tokens"] >= 1


def test_every_knob_has_a_comment(tmp_path):
    lines = (WORKSPACE / "pipeline.toml").read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith("[knobs."):
            assert lines[number - 1].startswith("#"), f"{line} has no comment above it"


def _write(tmp_path, text):
    (tmp_path / "pipeline.toml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text, line, words", [
    ("[pipeline]\nname = \"x\"\n\n[knobs.temperature]\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\ndefault = 3.0\n",
     4, "outside"),
    ("[pipeline]\n\n[knobs.strategy]\ntype = \"categorical\"\nchoices = [\"a\", \"b\"]\ndefault = \"c\"\n",
     3, "not one of the choices"),
    ("[pipeline]\n\n[knobs.n]\ntype = \"int\"\nlow = 0\nhigh = 5\ndefault = 1\ncolour = \"red\"\n", 8, "colour"),
    ("[pipeline]\n\n[knobs.n]\ntype = \"integer\"\nlow = 0\nhigh = 5\ndefault = 1\n", 4, "type"),
    ("[pipeline]\nmax_output_tokens = \"many\"\n", 2, "max_output_tokens"),
    ("[pipeline]\nname = \"x\n", 2, "not valid TOML"),
    ("[pipeline]\n[extra]\nx = 1\n", 2, "extra"),
])
def test_malformed_config_names_file_and_line(tmp_path, text, line, words):
    with pytest.raises(InputError) as info:
        load_pipeline_config(_write(tmp_path, text))
    assert info.value.path == tmp_path / "pipeline.toml"
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)
    assert f"pipeline.toml:{line}:" in str(info.value)


def test_missing_config_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="missing"):
        load_pipeline_config(tmp_path)
