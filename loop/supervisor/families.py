"""The focus vocabulary: the step library's lever families, each mapped to the `[knobs.NAME]` of
`agent_workspace/pipeline.toml` that pull it. This table is the one source of that mapping: `steer
--help` lists it, `steer --focus` validates against it, the sweep narrows its search space with it,
and the Claude agent is told the knobs of its focus.

A family without knobs (`prompt`, `adapters`: wording and adapters are edited, not swept) is still a
valid focus for the Claude agent; the sweep cannot narrow to it and searches every knob, saying so in
its method (and `steer` warns when the sweep is the configured agent).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    lever: str  # what the family changes, for people and for the agent's prompt
    knobs: tuple[str, ...]  # the pipeline.toml knobs that belong to it


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("decoding", "greedy vs sampling, temperature (steps/sampling.py)", ("temperature",)),
    Family("prompt", "the wording of the instructions and templates (prompts/*.md, steps/prompts.py)", ()),
    Family("schema", "schema-forced output: exactly 7, array or one topic per slot (steps/output.py)",
           ("schema_style",)),
    Family("chains", "the strategy: single call, draft -> critique -> revise, 8-then-trim (steps/chains.py)",
           ("strategy",)),
    Family("candidates", "n candidates, then pick / vote / tournament (steps/candidates.py)",
           ("n_candidates", "selection")),
    Family("retrieval", "similar training-pool tasks as few-shot examples (steps/retrieval.py)", ("n_examples",)),
    Family("cleanup", "near-duplicate removal, over-generate-and-prune (steps/cleanup.py)",
           ("dedupe_threshold", "overgenerate")),
    Family("adapters", "a LoRA adapter from the manual track (steps/adapters.py, training requests)", ()),
)}


class UnknownFocus(ValueError):
    def __init__(self, name: str):
        super().__init__(f"unknown focus {name!r}: the lever families are {', '.join(FAMILIES)}")
        self.name = name


def parse_focus(values: list[str] | tuple[str, ...] | None) -> list[str]:
    """Family names from `--focus a --focus b` or `--focus a,b`: checked, deduplicated, in table order."""
    wanted = {part.strip().lower() for value in values or () for part in str(value).split(",") if part.strip()}
    for name in sorted(wanted):
        if name not in FAMILIES:
            raise UnknownFocus(name)
    return [name for name in FAMILIES if name in wanted]


def knobs_of(focus: list[str] | tuple[str, ...]) -> set[str]:
    """Every knob of the given families."""
    return {knob for name in focus for knob in FAMILIES[name].knobs}


def help_table() -> str:
    """One line per family: name, its knobs, what it changes (for `steer --help`)."""
    return "\n".join(f"{f.name:<10} knobs: {', '.join(f.knobs) or '(none: edited, not swept)'} — {f.lever}"
                     for f in FAMILIES.values())
