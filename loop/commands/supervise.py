"""`autoresearch steer | feedback | prompt`: the supervisor's seat.

    steer "TEXT" [--for N] [--focus FAMILY ...]   leave a note at the top of the agent's iteration prompt
    steer --list [--all] [--json]                 the active notes (--all: expired and dropped too)
    steer --drop ID [--dry-run]                   withdraw a note (kept in the record, marked dropped)
    feedback N "TEXT"                             a comment on experiment N, beside it in the agent's log
    prompt [--json]                               the next iteration's prompt, exactly as the agent gets it

The author is `supervisor` from the config, else the OS user (the dashboard's rule). Bad input (an empty
text, an unknown focus, an experiment or note that does not exist) is one error line and changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError

from loop.commands.common import config_or_exit, err, fail
from loop.commands.ruler import REPO
from loop.supervisor.families import FAMILIES, help_table, knobs_of

out = Console(soft_wrap=True)
FOCUS_HELP = "A lever family to focus on (repeat it, or comma-separate): " + ", ".join(FAMILIES) + "."


def _author(config) -> str:
    from loop.dashboard.writes import resolve_author

    return resolve_author(config.supervisor)


def _record_guard(fn):
    """Run `fn()`, turning bad input and an unmigrated record into one error line."""
    from loop.supervisor.store import SupervisorInputError

    try:
        return fn()
    except SupervisorInputError as exc:
        fail(escape(str(exc)))
    except OperationalError as exc:
        fail(f"the record is not ready ({escape(str(exc.orig))}); run `autoresearch init` first")


def _notes_table(notes) -> Table:
    from loop.supervisor.store import when

    table = Table("id", "state", "left", "focus", "author", "written", "text", title="Steering notes")
    for n in notes:
        colour = {"active": "green", "expired": "dim", "dropped": "red"}[n.state]
        table.add_row(str(n.id), f"[{colour}]{n.state}[/]", "until dropped" if n.left is None else str(n.left),
                      ", ".join(n.focus) or "—", escape(n.author), when(n.created_at), escape(n.text))
    return table


def steer_command(
    text: str = typer.Argument(None, help="The note the research agent reads at the top of its prompt."),
    for_n: int = typer.Option(None, "--for", help="Show the note to N experiments, then let it expire "
                              "(default: until dropped)."),
    focus: list[str] = typer.Option(None, "--focus", help=FOCUS_HELP),
    list_notes: bool = typer.Option(False, "--list", help="List the active notes."),
    show_all: bool = typer.Option(False, "--all", help="With --list: expired and dropped notes too."),
    drop: int = typer.Option(None, "--drop", help="Withdraw note ID."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --drop: say what would be dropped, change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    repo: Path = REPO,
) -> None:
    from loop.supervisor import store

    modes = [name for name, on in (("TEXT", text is not None), ("--list", list_notes), ("--drop", drop is not None))
             if on]
    if len(modes) > 1:
        fail(f"give one of TEXT, --list, --drop (not {' and '.join(modes)})")
    if (for_n is not None or focus) and (list_notes or drop is not None):
        fail("--for and --focus go with a new note's TEXT")
    config = config_or_exit(repo)
    if list_notes:
        notes = _record_guard(lambda: store.list_notes(config, include_inactive=show_all))
        if as_json:
            typer.echo(json.dumps([n.public() for n in notes], indent=1))
        else:
            out.print(_notes_table(notes) if notes else "No active steering notes." if not show_all
                      else "No steering notes.")
        return
    if drop is not None:
        note = _record_guard(lambda: store.drop_note(config, drop, author=_author(config), dry_run=dry_run))
        if as_json:
            typer.echo(json.dumps({**note.public(), "dry_run": dry_run}, indent=1))
        else:
            err.print(f"{'would drop' if dry_run else 'dropped'} steering note {note.id}: {escape(note.text)}",
                      highlight=False)
        return
    if text is None:
        fail("the steering note is empty: write what the agent should read (or use --list / --drop ID)")
    note = _record_guard(lambda: store.add_note(config, text, author=_author(config), for_experiments=for_n,
                                                focus=focus))
    if note.focus and config.resolved_agent == "sweep" and not knobs_of(note.focus):
        err.print(f"[yellow]warning:[/] the sweep agent has no knobs in {', '.join(note.focus)}; it will search "
                  "every knob (only the claude agent can follow this focus)", highlight=False)
    if as_json:
        typer.echo(json.dumps(note.public(), indent=1))
    else:
        span = "until dropped" if note.for_experiments is None else f"for {note.for_experiments} experiment(s)"
        focus_text = f", focus {', '.join(note.focus)}" if note.focus else ""
        err.print(f"steering note {note.id} by {escape(note.author)} {span}{focus_text}", highlight=False)


def feedback_command(
    number: int = typer.Argument(..., help="The experiment number."),
    text: str = typer.Argument(None, help="Your comment on its hypothesis or result."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    repo: Path = REPO,
) -> None:
    """Attach a comment to experiment N: the agent sees it beside that experiment in its log."""
    from loop.supervisor import store

    config = config_or_exit(repo)
    view = _record_guard(lambda: store.add_feedback(config, number, text, author=_author(config)))
    if as_json:
        typer.echo(json.dumps(view.model_dump(mode="json"), indent=1))
    else:
        err.print(f"feedback {view.id} on experiment {view.experiment_number:04d} by {escape(view.author)}",
                  highlight=False)


def prompt_command(
    as_json: bool = typer.Option(False, "--json", help="The prompt and what it was built from, as JSON."),
    repo: Path = REPO,
) -> None:
    """Print the next iteration's full prompt exactly as the agent will get it (nothing is written)."""
    from loop.supervisor.context import NoAgentPrompt, next_prompt

    config = config_or_exit(repo)
    try:
        found = _record_guard(lambda: next_prompt(config))
    except NoAgentPrompt as exc:
        fail(escape(str(exc)), code=1)
    if as_json:
        payload = {"number": found.number, "agent": found.agent, "prompt": found.prompt,
                   "steering": [n.public() for n in found.inputs.steering],
                   "focus": sorted({f for n in found.inputs.steering for f in n.focus})}
        typer.echo(json.dumps(payload, indent=1))
        return
    if found.agent != "claude":
        err.print(f"note: the configured agent is {found.agent}; it reads no prompt (the sweep honours the focus)",
                  highlight=False)
    typer.echo(found.prompt, nl=False)


STEER_HELP = ("Leave a steering note for the research agent (or --list, --drop ID).\n\n"
              "The note sits at the top of every iteration prompt until it was shown to --for N experiments "
              "or is dropped. A --focus restricts what the agent is asked to try; the sweep narrows its "
              "search space to that family's knobs.\n\nLever families:\n\n"
              + "\n\n".join(f"  {line}" for line in help_table().splitlines()))


def register(app: typer.Typer) -> None:
    app.command("steer", help=STEER_HELP)(steer_command)
    app.command("feedback")(feedback_command)
    app.command("prompt")(prompt_command)
