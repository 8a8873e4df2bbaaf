"""Several candidates, then choose: `pick` (the model names the best), `vote` (the medoid: the
candidate most similar to all others, a deterministic consensus), or `tournament` (pairwise,
single elimination, the model judging each pair)."""

from __future__ import annotations

import numpy as np

from .calls import ask_for_answer
from .chains import format_answer
from .output import QUESTIONS, choice_schema, response_json
from .prompts import load_prompt, render
from .sampling import sampling_for
from .tracing import traced_step


def generate_candidates(model, task: str, count: int, *, temperature: float, seed: int = 0, **ask) -> list[dict]:
    """`count` answers; sampled with distinct seeds (temperature > 0), else one greedy answer."""
    if temperature <= 0:
        count = 1  # greedy decoding would repeat the same answer
    return [ask_for_answer(model, task, sampling=sampling_for(temperature, seed + i), label=f"candidate {i + 1}",
                           **ask) for i in range(count)]


def pick(model, task: str, candidates: list[dict], *, max_output_tokens=None, adapter=None,
         instructions: str = "system") -> dict:
    if len(candidates) == 1:
        return candidates[0]
    letters = [chr(ord("A") + i) for i in range(len(candidates))]
    listing = "\n\n".join(f"Set {letter}:\n{format_answer(c)}" for letter, c in zip(letters, candidates))
    response = model.respond(render("pick", task=task, candidates=listing),
                             instructions=load_prompt(instructions), sampling={"mode": "greedy"},
                             schema=choice_schema(letters), max_output_tokens=max_output_tokens or 20,
                             adapter=adapter, label="pick")
    choice = (response_json(response) or {}).get("choice")
    return candidates[letters.index(choice)] if choice in letters else candidates[0]


def pairwise(model, task: str, a: dict, b: dict, *, max_output_tokens=None, adapter=None,
             instructions: str = "system") -> dict:
    response = model.respond(render("pairwise", task=task, a=format_answer(a), b=format_answer(b)),
                             instructions=load_prompt(instructions), sampling={"mode": "greedy"},
                             schema=choice_schema(["A", "B"]), max_output_tokens=max_output_tokens or 20,
                             adapter=adapter, label="pairwise")
    return b if (response_json(response) or {}).get("choice") == "B" else a


def tournament(model, task: str, candidates: list[dict], **kw) -> dict:
    pool = list(candidates)
    while len(pool) > 1:
        winners = [pairwise(model, task, pool[i], pool[i + 1], **kw) for i in range(0, len(pool) - 1, 2)]
        pool = winners + ([pool[-1]] if len(pool) % 2 else [])
    return pool[0]


def vote(candidates: list[dict], embed, model=None) -> dict:
    """The candidate whose questions are, on average, closest to every other candidate's."""
    if len(candidates) <= 2:
        return candidates[0]
    with traced_step("vote (medoid)", model, candidates=len(candidates)) as detail:
        centroids = []
        for c in candidates:
            vectors = embed(c["questions"] or [c["title"]])
            mean = np.asarray(vectors).mean(axis=0)
            centroids.append(mean / (np.linalg.norm(mean) or 1.0))
        sims = np.asarray(centroids) @ np.asarray(centroids).T
        best = int(np.argmax(sims.sum(axis=1)))
        detail["chosen"] = best + 1
    return candidates[best]


def best_of_n(model, task: str, count: int, method: str, *, temperature: float, seed: int = 0,
              embed=None, n: int = QUESTIONS, **ask) -> dict:
    cands = [c for c in generate_candidates(model, task, count, temperature=temperature, seed=seed, n=n, **ask)
             if len(c["questions"]) >= n] or [ask_for_answer(model, task, n=n, **ask)]
    judging = {"adapter": ask.get("adapter"), "instructions": ask.get("instructions", "system")}
    if method == "pick":
        return pick(model, task, cands, **judging)
    if method == "tournament":
        return tournament(model, task, cands, **judging)
    if method == "vote":
        return vote(cands, embed, model=model)
    raise ValueError(f"unknown selection method {method!r} (pick | vote | tournament)")
