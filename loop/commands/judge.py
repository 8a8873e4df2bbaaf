"""`autoresearch judge case` (probe a judge on one candidate set) and `autoresearch judge agree`
(agreement per rubric dimension and for the verdict, Cohen's kappa: two judges on the stored candidates,
a judge against the human labels, or every stored rater pair). Neither writes to the record."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError

from loop.commands.common import config_or_exit, err, fail
from loop.commands.ruler import REPO
from loop.errors import InputError
from loop.schemas import DIMENSIONS, Answer, Case

app = typer.Typer(help="Probe and compare the judges.", no_args_is_help=True)
JUDGE_CHOICE = typer.Option(None, "--judge", help="proxy | proxy-v1 | local | anthropic | panel (default: the config's).")


def load_candidate(path: Path) -> Answer:
    """A candidate file: one JSON object {"title", "questions": [7 strings]}. InputError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", line=exc.lineno) from None
    try:
        answer = Answer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(path, f"field `{where}`: {first['msg']} (expected {{\"title\", \"questions\"}})",
                         line=_line_of(text, str(first["loc"][0]) if first["loc"] else None)) from None
    problem = answer.shape_problem()
    if problem:
        raise InputError(path, f"the candidate has {problem}", line=_line_of(text, "questions"))
    return answer


def _line_of(text: str, key: str | None) -> int | None:
    if key:
        for number, line in enumerate(text.splitlines(), 1):
            if f'"{key}"' in line:
                return number
    return 1


def find_case(ruler_dir: Path, case_id: str) -> Case:
    from loop.ruler_files import gate_cases

    for gate in ("full", "holdout"):
        for case in gate_cases(ruler_dir, gate):
            if case.id == case_id:
                return case
    known = [c.id for c in gate_cases(ruler_dir, "full")]
    raise InputError(ruler_dir / "tasks.jsonl", f"no case with id {case_id!r}; ruler ids run {known[0]}..{known[-1]}"
                     " (holdout ids are in holdout.jsonl)")


@app.command("case")
def case_command(
    case_id: str = typer.Option(..., "--case", help="A ruler case id, e.g. r01."),
    candidate: Path = typer.Option(..., "--candidate", help="JSON file with title and seven questions."),
    judge: str = JUDGE_CHOICE,
    as_json: bool = typer.Option(False, "--json", help="Print the judgement as JSON."),
    repo: Path = REPO,
) -> None:
    """Judge one candidate set for one ruler case: dimensions, both verdicts, reasoning, contribution."""
    from loop.judges import make_judge
    from ruler.scoring import is_scored, pairwise_score, rubric_score, MODE_DIMENSIONS

    config = config_or_exit(repo, judge=judge)
    try:
        answer = load_candidate(candidate)
        case = find_case(config.ruler_dir, case_id)
    except InputError as exc:
        fail(str(exc))
    judge_obj = make_judge(config)
    try:
        judgement = judge_obj.judge(case, answer)
    finally:
        getattr(judge_obj, "close", lambda: None)()
    if judgement.error:
        fail(f"judge {judge_obj.judge_id} failed on {case_id}: {judgement.error}", code=1)
    contribution = None
    if is_scored(judgement):
        dims = MODE_DIMENSIONS[judge_obj.mode]
        contribution = 0.5 * pairwise_score(judgement.verdict) + 0.5 * rubric_score(judgement.dims, dims)
    payload = {
        "case": case_id, "judge_id": judge_obj.judge_id,
        "dims": judgement.dims.model_dump() if judgement.dims else None,
        "verdict": judgement.verdict, "verdict_candidate_first": judgement.verdict_candidate_first,
        "verdict_gold_first": judgement.verdict_gold_first, "reasoning": judgement.reasoning,
        "failure_notes": judgement.failure_notes, "quality_contribution": contribution,
    }
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"case {case_id} · {case.task} · judge {judge_obj.judge_id}")
    typer.echo("  " + "  ".join(f"{d} {getattr(judgement.dims, d)}" for d in DIMENSIONS))
    typer.echo(f"  verdict {judgement.verdict} (candidate first: {judgement.verdict_candidate_first}, "
               f"gold first: {judgement.verdict_gold_first})")
    typer.echo(f"  quality contribution {contribution:.3f}")
    typer.echo(f"  reasoning: {judgement.reasoning}")
    if judgement.failure_notes:
        typer.echo(f"  failure notes: {judgement.failure_notes}")


@app.command("agree")
def agree_command(
    a: str = typer.Option(None, "--a", help="First judge (proxy | proxy-v1 | local | anthropic | panel)."),
    b: str = typer.Option(None, "--b", help="Second judge, or `human`: the people's labels (/label)."),
    stored: bool = typer.Option(False, "--stored", help="Re-judge nothing: every pair of raters in the record "
                                "(each judge id's stored judgements, and the human labels)."),
    experiments: str = typer.Option(None, "--experiments", help="Experiment numbers, e.g. 3,5,7-9 (default: all)."),
    limit: int = typer.Option(None, "--limit", help="At most this many stored candidates (the newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    repo: Path = REPO,
) -> None:
    """Agreement per rubric dimension and for the verdict (raw, Cohen's kappa, bootstrap 95 % interval):
    two judges re-judging the stored candidates; a judge re-judging the labelled ones against the people
    (`--b human`); or, with --stored, every pair of raters as the record holds them."""
    from loop.judges import JUDGES
    from loop.judges.agreement import BOOTSTRAP_SAMPLES, agree, parse_numbers, render_agreement
    from loop.judges.rater_agreement import HUMAN, agree_with_people, render_pairs, stored_agreement

    if stored:
        if a or b or experiments:
            fail("--stored compares every rater in the record; it takes no --a, --b or --experiments")
        config = config_or_exit(repo)
        from loop.db.session import session_scope

        try:
            with session_scope(config) as db:
                pairs = stored_agreement(db.connection(), samples=BOOTSTRAP_SAMPLES)
        except InputError as exc:
            fail(str(exc))
        typer.echo(json.dumps([p.model_dump(mode="json") for p in pairs], indent=2) if as_json else render_pairs(pairs))
        return
    if not a or not b:
        fail("name two raters with --a and --b (or use --stored)")
    if a == HUMAN:
        a, b = b, a
    for name, value in (("--a", a), ("--b", b)):
        if value not in JUDGES and not (name == "--b" and value == HUMAN):
            fail(f"{name} {value!r} is not a judge; known: {', '.join(JUDGES)} (and `{HUMAN}` for the labels)")
    if b == HUMAN and experiments:
        fail("--experiments does not apply against the human labels: the labelled candidates are re-judged")
    config = config_or_exit(repo)
    try:
        if b == HUMAN:
            report = agree_with_people(config, a, limit=limit, samples=BOOTSTRAP_SAMPLES)
        else:
            numbers = parse_numbers(experiments) if experiments else None
            report = agree(config, a, b, experiments=numbers, limit=limit)
    except InputError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        typer.echo(render_agreement(report))
    if report.errors:
        err.print(f"[yellow]{report.errors} candidate(s) left out: a judge failed on them[/]")


@app.command("export-pairs")
def export_pairs_command(
    out: Path = typer.Option(..., "--out", help="The JSONL file to write (the row shape of `train data pref`)."),
    drafts: Path = typer.Option(None, "--drafts", help="Training-pool drafts (JSONL, as `train drafts` writes): "
                                "those every --judge finds better than the pool's gold become judge pairs."),
    judges: list[str] = typer.Option(None, "--judge", help="A judge for the drafts (repeat for several; all must "
                                     "agree). Default: the config's."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and render every pair; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    repo: Path = REPO,
) -> None:
    """Preference pairs for the training track: people's labels on training-pool drafts (not ties), and
    drafts the judges find better than the pool's gold. Labels on ruler cases never leave the record, and a
    pair that is a near-copy of ruler/holdout text is refused by name (the guard's own check)."""
    from loop.judges import JUDGES, make_judge
    from loop.judges.pairs import export_pairs

    for name in judges or []:
        if name not in JUDGES:
            fail(f"--judge {name!r} is not a judge; known: {', '.join(JUDGES)}")
    if judges and drafts is None:
        fail("--judge judges drafts: pass --drafts FILE too")
    config = config_or_exit(repo)
    if drafts is not None and not Path(drafts).is_file():
        fail(f"{drafts}: file not found")
    built = [make_judge(config, name) for name in (judges or [None])] if drafts is not None else []
    log = (lambda _m: None) if as_json else (lambda m: err.print(m, highlight=False))
    try:
        report = export_pairs(config, out, drafts=drafts, judges=built, dry_run=dry_run, log=log)
    except InputError as exc:
        fail(str(exc))
    finally:
        for judge in built:
            getattr(judge, "close", lambda: None)()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(f"{'would write' if dry_run else 'wrote'} {report.human + report.judge} pair(s) "
                   f"({report.human} human, {report.judge} judge) → {out}; {report.ties} tie label(s) skipped, "
                   f"{report.drafts_judged} draft(s) judged, {len(report.refused)} refused")
        for r in report.refused:
            typer.echo(f"  refused {r.id}: {r.reason}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="judge")
