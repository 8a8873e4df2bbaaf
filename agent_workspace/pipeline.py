"""The MUTABLE pipeline: `generate(task, model) -> {"title", "questions"}`.

`model` is the only door to a language model (`model.respond(prompt, instructions=, sampling=,
schema=, max_output_tokens=, adapter=, label=)`). Knob values come from pipeline.toml; the strategy
knob switches between the step library's recipes. The shipped baseline is strategy = "single":
one greedy call with guided output forcing a title and exactly 7 questions.
"""

from __future__ import annotations

import functools
from pathlib import Path

from steps import cleanup, embedding
from steps.adapters import adapter_from
from steps.calls import ask_for_answer
from steps.candidates import best_of_n
from steps.chains import draft_critique_revise
from steps.config import load_pipeline_config
from steps.output import QUESTIONS
from steps.retrieval import format_examples, similar_tasks
from steps.sampling import sampling_for

WORKSPACE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def config() -> dict:
    return load_pipeline_config(WORKSPACE)


def generate(task: str, model) -> dict:
    cfg = config()
    settings, knobs = cfg["pipeline"], cfg["values"]
    common = {"style": knobs["schema_style"], "max_output_tokens": settings["max_output_tokens"],
              "adapter": adapter_from(settings, WORKSPACE), "instructions": settings["instructions"],
              "max_chars": settings["max_chars"] or None,
              "examples": format_examples(similar_tasks(task, knobs["n_examples"], model=model))}
    sampling = sampling_for(knobs["temperature"], settings["seed"])
    strategy = knobs["strategy"]
    if strategy == "single":
        return ask_for_answer(model, task, sampling=sampling, **common)
    if strategy == "eight_then_trim":
        answer = ask_for_answer(model, task, n=knobs["overgenerate"], sampling=sampling, **common)
        answer["questions"] = cleanup.prune(answer["questions"], QUESTIONS, topics=settings["topics"],
                                            threshold=knobs["dedupe_threshold"], model=model)
        return answer
    if strategy == "draft_critique_revise":
        return draft_critique_revise(model, task, sampling=sampling, critique_tokens=settings["critique_tokens"],
                                     **common)
    if strategy == "best_of_n":
        return best_of_n(model, task, knobs["n_candidates"], knobs["selection"],
                         temperature=knobs["temperature"], seed=settings["seed"], embed=embedding.embed, **common)
    raise ValueError(f"pipeline.toml: unknown strategy {strategy!r}")
