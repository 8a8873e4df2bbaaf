"""`autoresearch train data | drafts | lora | export-apple | register`: the manual training track, from a
training request to a registered, evaluated adapter. `data` builds SFT/preference examples from the
training pool (leak-checked against ruler and holdout); `drafts` collects the best pipeline's own
answers (the rejected side); `lora` trains a LoRA on the portable model, SFT or ORPO/DPO (optional
`[train]` dependencies, CPU torch, trl) and converts it to a GGUF LoRA; `export-apple` writes the SFT
data for Apple's adapter training toolkit; `register` checks, stores and evaluates an adapter and
answers the request."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from loop.commands.common import config_or_exit, err, fail
from loop.commands.ruler import REPO
from loop.errors import InputError

app = typer.Typer(help="The manual training track: request → data → LoRA → GGUF adapter → registered, "
                       "request answered.", no_args_is_help=True)
REQUEST = typer.Option(..., "--request", help="The training request this answers (see `autoresearch requests`).")
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@app.command("data")
def data_command(
    kind: str = typer.Argument(..., help="sft (task → gold answer) or pref (gold chosen, own draft rejected)."),
    request: int = REQUEST,
    out: Path = typer.Option(..., "--out", help="Directory for train.jsonl, eval.jsonl and data_card.json."),
    limit: int = typer.Option(None, "--limit", help="Use only the first N pool tasks."),
    eval_share: float = typer.Option(0.1, "--eval-share", help="Share of examples held out as eval."),
    drafts: Path = typer.Option(None, "--drafts", help="pref only: the pipeline's drafts (JSONL)."),
    as_json: bool = JSON,
    repo: Path = REPO,
) -> None:
    """Build training examples from the training pool, rendered by the pipeline's own guided call; every
    example is checked against ruler and holdout and refused by name when it is a near-copy."""
    from loop.training.data import build
    from loop.training.pin import evaluated_workspace, research_tip

    if kind not in ("sft", "pref"):
        fail(f"data kind {kind!r}: use sft or pref")
    config = config_or_exit(repo)
    log = (lambda _m: None) if as_json else (lambda m: err.print(m, highlight=False))
    try:
        # rendered by the pipeline the adapter will be evaluated with (the research tip's), so the prompt
        # pin checked at registration holds for an honest run
        with evaluated_workspace(config) as workspace:
            card = build(config, kind, request, out, workspace=workspace, commit=research_tip(config),
                         limit=limit, eval_share=eval_share, drafts=drafts, log=log)
    except (InputError, LookupError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        typer.echo(card.model_dump_json(indent=2))
        return
    typer.echo(f"{kind} data for request {request}: {card.counts['train']} train, {card.counts['eval']} eval, "
               f"{card.counts['refused']} refused → {out}")


@app.command("lora")
def lora_command(
    data: Path = typer.Option(..., "--data", help="A data directory from `train data sft|pref`."),
    out: Path = typer.Option(..., "--out", help="Run directory (checkpoints, peft adapter, adapter.gguf)."),
    recipe: str = typer.Option(None, "--recipe", help="sft | orpo | dpo. Default: sft for sft data; for pref "
                               "data the request's recipe if orpo/dpo, else orpo (no reference model: half "
                               "DPO's forward passes, and half its memory without a LoRA)."),
    rank: int = typer.Option(8, "--rank", help="LoRA rank."),
    alpha: int = typer.Option(16, "--alpha", help="LoRA alpha (scale = alpha / rank)."),
    steps: int = typer.Option(60, "--steps", help="Optimiser steps (one example each)."),
    lr: float = typer.Option(2e-4, "--lr", help="Learning rate."),
    seed: int = typer.Option(0, "--seed", help="Seed for order and initialisation."),
    max_tokens: int = typer.Option(768, "--max-tokens", help="Cut examples longer than this."),
    beta: float = typer.Option(0.1, "--beta", help="orpo: weight of the odds-ratio term; dpo: KL strength."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check data, model and dependencies; train nothing."),
    as_json: bool = JSON,
    repo: Path = REPO,
) -> None:
    """LoRA on CPU on the portable model's own GGUF (dequantised by transformers): SFT (peft), or preference
    training with trl, ORPO by default (no reference model) or DPO (a reference: the base with the LoRA
    off, so twice the forward passes). Loss on the answer tokens only. Then conversion to a GGUF LoRA for
    the llama runner. The first real run installs the training extra (pyproject `train`: CPU-only torch,
    peft, trl)."""
    from loop import models
    from loop.training import deps
    from loop.training.data import read_card
    from loop.training.lora import PREFERENCE_DEFAULT, RECIPES, LoraSettings, read_examples

    if recipe is not None and recipe not in RECIPES:
        fail(f"--recipe {recipe}: unknown recipe; use {' | '.join(RECIPES)}")
    config = config_or_exit(repo)
    try:
        card = read_card(data)
        if recipe is None:
            recipe = "sft" if card.kind == "sft" else card.recipe if card.recipe in ("orpo", "dpo") \
                else PREFERENCE_DEFAULT
        if (recipe == "sft") != (card.kind == "sft"):
            raise InputError(data / "data_card.json", f"{card.kind} data cannot train recipe {recipe}: build "
                             f"{'sft' if recipe == 'sft' else 'pref'} data with `autoresearch train data`")
        if recipe == "sft":
            examples = read_examples(data)
        else:
            from loop.training.preference import read_pairs

            examples = read_pairs(data)
        settings = LoraSettings(recipe=recipe, rank=rank, alpha=alpha, steps=steps, learning_rate=lr, seed=seed,
                                max_tokens=max_tokens, beta=beta)
        base = models.model_path(config.model)
    except (InputError, models.ModelFileError, ValueError) as exc:
        fail(str(exc))
    plan = {"recipe": recipe, "request": card.request, "examples": len(examples), "base_model": str(base),
            "settings": settings.model_dump(), "missing_dependencies": deps.missing(), "out": str(out),
            "dry_run": dry_run}
    if dry_run:
        typer.echo(json.dumps(plan, indent=2) if as_json else
                   f"would train {recipe} LoRA r{rank}/α{alpha} for {steps} steps on {len(examples)} examples of "
                   f"request {card.request}, base {base.name}; missing dependencies: "
                   f"{', '.join(plan['missing_dependencies']) or 'none'}")
        return
    say = lambda m: err.print(m, highlight=False)  # noqa: E731
    try:
        deps.ensure(log=say)
        from loop.training.run import train_and_convert

        run = train_and_convert(config, card, data, out, base, settings, log=say, progress=not as_json)
    except (InputError, deps.DependencyError, RuntimeError) as exc:
        fail(str(exc))
    typer.echo(run.model_dump_json(indent=2) if as_json else
               f"trained {run.train.steps} steps, final loss {run.train.final_loss:.4f}, "
               f"{run.train.s_per_step:.1f} s/step; GGUF LoRA {run.gguf} ({run.conversion_s:.1f} s), metadata "
               f"{run.sidecar}; register it with `autoresearch train register {run.gguf} --request {card.request}`")


@app.command("drafts")
def drafts_command(
    out: Path = typer.Option(..., "--out", help="The drafts file (JSONL); a rerun resumes it."),
    n: int = typer.Option(4, "--n", help="Drafts per task: one greedy, n-1 sampled (seeds 1..n-1)."),
    limit: int = typer.Option(None, "--limit", help="Use only the first N pool tasks."),
    as_json: bool = JSON,
    repo: Path = REPO,
) -> None:
    """The current best pipeline's own drafts of training-pool tasks, run as an evaluation runs it (sandboxed,
    through the runner, generation cache), each judged by the proxy judge; `train data pref --drafts FILE`
    takes each task's worst draft as rejected. Resumable: drafts already in the file are kept."""
    from loop.training.drafts import generate_drafts
    from loop.training.pin import evaluated_workspace

    if n < 1:
        fail("--n must be at least 1 (one greedy draft per task)")
    config = config_or_exit(repo)
    try:
        with evaluated_workspace(config) as workspace:  # the current best pipeline: the research tip's
            report = generate_drafts(config, out, n, limit=limit, workspace=workspace, progress=not as_json)
    except (InputError, LookupError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    worst = sorted(report.scores.values())
    typer.echo(f"{report.written} new drafts ({report.already} already in {out}, {report.from_cache} from the "
               f"cache, {report.model_calls} model calls, {report.invalid} invalid) for {report.tasks} pool tasks; "
               f"worst-draft proxy score median {worst[len(worst) // 2]:.2f}" if worst else "no draft scored")


@app.command("register")
def register_command(
    path: Path = typer.Argument(..., help="A GGUF LoRA file or an .fmadapter directory."),
    request: int = REQUEST,
    recipe: str = typer.Option(None, "--recipe", help="sft | orpo | dpo (else read from <adapter>.json)."),
    data: Path = typer.Option(None, "--data", help="The data directory it was trained on: its card pins the prompt."),
    queue: bool = typer.Option(False, "--queue", help="Queue it in adapters/inbox/ for a running daemon instead."),
    as_json: bool = JSON,
    repo: Path = REPO,
) -> None:
    """Check the adapter (format, metadata, base model, prompt pin), store it, evaluate it as an interactive
    experiment (lever = its recipe) and answer the request with the experiment and its quality. Bad input
    changes nothing."""
    from loop.training.closing import AdapterNotScored
    from loop.training.register import register_for_request

    config = config_or_exit(repo)
    try:
        answer = register_for_request(config, path, request, recipe=recipe, data_dir=data, queue=queue)
    except (InputError, LookupError, AdapterNotScored) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        typer.echo(json.dumps(answer.__dict__, indent=2))
        return
    typer.echo(f"request {request:04d}: {answer.answer} (prompt pin {answer.pin})")


@app.command("export-apple")
def export_apple_command(
    data: Path = typer.Option(..., "--data", help="A data directory from `train data sft`."),
    out: Path = typer.Option(..., "--out", help="Directory for train.jsonl, valid.jsonl and TRAIN.md."),
    name: str = typer.Option(None, "--adapter-name", help="The .fmadapter name (letters, digits, underscores)."),
    as_json: bool = JSON,
    repo: Path = REPO,
) -> None:
    """The SFT data in the Apple adapter training toolkit's JSONL format, and TRAIN.md with the toolkit's
    commands and the base model the adapter will be locked to (probed from the runner)."""
    from loop.runners.factory import open_runner
    from loop.training.apple_export import export_apple

    config = config_or_exit(repo)
    try:
        runner = open_runner(config)
        try:
            probe = runner.probe()
        finally:
            runner.close()
        done = export_apple(data, out, probe, adapter_name=name)
    except (InputError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({**done.__dict__, "out": str(done.out), "train_md": str(done.train_md)}, indent=2))
        return
    typer.echo(f"{done.counts['train.jsonl']} train, {done.counts['valid.jsonl']} eval examples → {out}; "
               f"{done.train_md} (locked to {done.base_model})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="train")
