"""The knob schema: what one `[knobs.NAME]` table of a pipeline.toml may say, declared once.

Both readers use this one declaration: the pipeline loader (`agent_workspace/steps/config.py`, which
the sandboxed pipeline imports from the product) and the sweep agent (`loop/daemon/agents/
pipeline_knobs.py`, which never imports the workspace). So a knob the sweep accepts always loads.

    type = "float" | "int" | "categorical"
    low, high      numeric knobs: the range (int knobs: integers), low <= high
    log            numeric knobs: search on a log scale (needs low > 0)
    step           numeric knobs: the grid step (> 0; int knobs: an integer)
    choices        categorical knobs: the non-empty list of values
    default        the current value (the sweep rewrites it): inside the range / one of the choices
    help           a note for people
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

KNOB_TYPES = ("float", "int", "categorical")


class KnobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None
    default: Any
    help: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "KnobSpec":
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical knob needs a non-empty `choices` list")
            if self.low is not None or self.high is not None or self.log or self.step is not None:
                raise ValueError("a categorical knob takes `choices`, not `low`/`high`/`log`/`step`")
            if self.default not in self.choices:
                raise ValueError(f"default {self.default!r} is not one of the choices {self.choices}")
            return self
        if self.choices is not None:
            raise ValueError(f"a {self.type} knob takes `low`/`high`, not `choices`")
        if self.low is None or self.high is None or self.low > self.high:
            raise ValueError("needs numeric `low` <= `high`")
        if self.type == "int" and not all(float(v).is_integer() for v in (self.low, self.high)):
            raise ValueError("an int knob needs integer `low`/`high`")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale knob needs `low` > 0")
        if self.step is not None and (self.step <= 0 or (self.type == "int" and not float(self.step).is_integer())):
            raise ValueError("`step` must be > 0 (an integer for an int knob)")
        if isinstance(self.default, bool) or not isinstance(self.default, (int, float)):
            raise ValueError(f"default {self.default!r} is not a number")
        if self.type == "int" and not isinstance(self.default, int):
            raise ValueError(f"default {self.default!r} of an int knob is not an integer")
        if not self.low <= self.default <= self.high:
            raise ValueError(f"default {self.default} is outside [{self.low}, {self.high}]")
        return self
