"""Decoding presets. Greedy was found better and less noisy for this feature; sampling is for
candidates that must differ (best_of_n)."""

from __future__ import annotations

GREEDY = {"mode": "greedy"}
PRESETS = {
    "greedy": GREEDY,
    "focused": {"mode": "random", "temperature": 0.3, "top_p": 0.9},
    "balanced": {"mode": "random", "temperature": 0.7, "top_p": 0.95},
    "creative": {"mode": "random", "temperature": 1.0, "top_p": 0.98},
}


def sampling_for(temperature: float, seed: int = 0, top_p: float | None = 0.95) -> dict:
    """temperature 0 -> greedy; otherwise random sampling, seeded so a run is repeatable."""
    if temperature <= 0:
        return dict(GREEDY)
    sampling = {"mode": "random", "temperature": round(float(temperature), 4), "seed": int(seed)}
    if top_p is not None:
        sampling["top_p"] = top_p
    return sampling


def preset(name: str, seed: int = 0) -> dict:
    chosen = dict(PRESETS[name])
    if chosen["mode"] == "random":
        chosen["seed"] = seed
    return chosen
