"""The frozen judge prompt templates render as intended in both judge modes."""

from __future__ import annotations

import pytest

from loop.judges.prompts import PROMPTS_DIR, render, template
from loop.schemas import Answer


@pytest.mark.parametrize("name", ["system", "rubric_and_verdict", "verdict_only"])
def test_files_carry_the_frozen_banner_which_is_not_sent(name):
    raw = (PROMPTS_DIR / f"{name}.md").read_text()
    assert raw.startswith("<!--") and "FROZEN" in raw.split("-->")[0]
    for mode in ("standard", "coverage-blind"):
        text = template(name, mode)
        assert "FROZEN" not in text and "<!--" not in text


def test_coverage_sections_follow_the_mode():
    standard, blind = template("system", "standard"), template("system", "coverage-blind")
    assert "## coverage" in standard and "out of scope" not in standard
    assert "## coverage" not in blind and "coverage is out of scope" in blind
    assert len(standard) > 4500  # long enough to pass the prompt-cache minimum (~1024 tokens)
    assert "coverage," in template("rubric_and_verdict", "standard")
    assert "coverage," not in template("rubric_and_verdict", "coverage-blind")
    with pytest.raises(ValueError):
        template("system", "lenient")


def test_render_fills_placeholders_once_and_literally():
    a = Answer(title="A {set_b} {x}", questions=[f"Question {i} about {{task}}?" for i in range(7)])
    b = Answer(title="B", questions=[f"Other {i}?" for i in range(7)])
    text = render("verdict_only", "standard", task="Plan {set_a}", set_a=a, set_b=b)
    assert "Task: Plan {set_a}" in text
    assert "Title: A {set_b} {x}" in text and "7. Question 6 about {task}?" in text
    assert text.index("Set A:") < text.index("Title: A") < text.index("Set B:") < text.index("Title: B")
