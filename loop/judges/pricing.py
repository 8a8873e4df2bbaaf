"""Dollars per million tokens of the Anthropic models: the one price table of the project.

The agent's dollars come from the Claude Agent SDK itself (`total_cost_usd` of its result message);
the official judge's dollars are computed here from the usage each API reply reports. Prompt-cache
writes cost 1.25 × the input price (5-minute cache), cache reads 0.1 ×. A model not in the table
is priced as the most expensive one (a budget must never be under-counted), with a warning.
The proxy and local judges cost nothing.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from loop.schemas import JudgeUsage

log = logging.getLogger(__name__)


class Price(BaseModel):
    input_per_mtok: float
    output_per_mtok: float
    cache_write_factor: float = 1.25
    cache_read_factor: float = 0.10

    def cost(self, usage: JudgeUsage) -> float:
        """Dollars of `usage` (its own `cost_usd` ignored)."""
        dollars = (usage.input_tokens * self.input_per_mtok
                   + usage.cache_creation_tokens * self.input_per_mtok * self.cache_write_factor
                   + usage.cache_read_tokens * self.input_per_mtok * self.cache_read_factor
                   + usage.output_tokens * self.output_per_mtok) / 1_000_000
        return round(dollars, 8)


# model id prefix -> price; the longest matching prefix wins
PRICES: dict[str, Price] = {
    "claude-opus-4-5": Price(input_per_mtok=5.0, output_per_mtok=25.0),
    "claude-opus-4-6": Price(input_per_mtok=5.0, output_per_mtok=25.0),
    "claude-opus-4": Price(input_per_mtok=15.0, output_per_mtok=75.0),
    "claude-sonnet-4": Price(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-3-7-sonnet": Price(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-haiku-4": Price(input_per_mtok=1.0, output_per_mtok=5.0),
    "claude-3-5-haiku": Price(input_per_mtok=0.8, output_per_mtok=4.0),
}
FREE = Price(input_per_mtok=0.0, output_per_mtok=0.0)


def price_of(model: str) -> Price:
    matches = [prefix for prefix in PRICES if model.startswith(prefix)]
    if matches:
        return PRICES[max(matches, key=len)]
    dearest = max(PRICES.values(), key=lambda p: p.output_per_mtok)
    log.warning("no price known for model %r: priced as the dearest model ($%.2f/$%.2f per Mtok)", model,
                dearest.input_per_mtok, dearest.output_per_mtok)
    return dearest


def usage_of(reply_usage, price: Price) -> JudgeUsage:
    """A `JudgeUsage` (with dollars) from an Anthropic reply's `usage` object."""
    usage = JudgeUsage(input_tokens=getattr(reply_usage, "input_tokens", 0) or 0,
                       output_tokens=getattr(reply_usage, "output_tokens", 0) or 0,
                       cache_read_tokens=getattr(reply_usage, "cache_read_input_tokens", 0) or 0,
                       cache_creation_tokens=getattr(reply_usage, "cache_creation_input_tokens", 0) or 0)
    return usage.model_copy(update={"cost_usd": price.cost(usage)})
