"""`autoresearch train register PATH --request N`: answer a training request with an adapter.

Checks come first and change nothing when they fail (`check_registration`): the request exists and is
open, the adapter is a GGUF file (magic) or an `.fmadapter` directory whose `metadata.json`, adapter name
and base-model signature pass (`fmadapter.py`), the recipe is known (flag or the sidecar
`<adapter>.json`), the base model it was trained on is the configured runner's model, and the pipeline
it will be evaluated with still sends the prompt its data was rendered with (`pin.py`). Then
`closing.py` stores it, writes its pointer into a new experiment's workspace, evaluates that
`interactive` experiment (lever = the recipe) and answers the request with the experiment and its
quality. With `queue=True` (a daemon is running) a copy and its sidecar go into `adapters/inbox/`
instead; the daemon evaluates it and answers the request the same way.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from loop.adapters.digest import format_of
from loop.adapters.register import DropMetadata, base_model_of, check_gguf, read_drop_metadata, sidecar_path
from loop.errors import InputError


@dataclass(frozen=True)
class RequestAnswer:
    request: int
    recipe: str
    sha256: str
    experiment: int | None  # the interactive experiment that evaluated it (None when queued)
    status: str | None  # that experiment's status
    quality: float | None
    queued: str | None  # the inbox copy the daemon will evaluate (queue=True)
    pin: str  # "checked" or why not
    answer: str


@dataclass(frozen=True)
class Checked:
    metadata: DropMetadata
    card: dict | None
    pin: str


def open_request(config, request_id: int):
    from loop.daemon.requests import list_requests

    for view in list_requests(config):
        if view.id == request_id:
            if view.status != "open":
                raise LookupError(f"training request {request_id} is already {view.status}")
            return view
    raise LookupError(f"no training request {request_id} in the record (see `autoresearch requests --all`)")


def check_registration(config, source: Path, request_id: int, *, recipe: str | None = None,
                       data_dir: Path | None = None, runner_signature: str | None = None) -> Checked:
    """Every check, nothing changed: InputError/LookupError naming the file (and line) otherwise."""
    from loop.training.data import CARD, DataCard, read_card
    from loop.training.fmadapter import validate_fmadapter
    from loop.training.pin import check_pin

    source = Path(source)
    if not source.exists():
        raise InputError(source, "no adapter file or .fmadapter directory there")
    open_request(config, request_id)
    metadata = read_drop_metadata(source, recipe)
    trained_for = (metadata.model_extra or {}).get("request")
    if trained_for is not None and trained_for != request_id:
        raise InputError(sidecar_path(source), f"the adapter was trained for training request {trained_for}, "
                                               f"not {request_id}")
    if format_of(source) == "fmadapter":
        validate_fmadapter(source, runner_signature)
    else:
        check_gguf(source)
    expected = base_model_of(config)
    if metadata.base_model and metadata.base_model.sha256 and expected.sha256 \
            and metadata.base_model.sha256 != expected.sha256:
        raise InputError(sidecar_path(source), f"the adapter was trained on base model sha256 "
                         f"{metadata.base_model.sha256[:12]}…, but the runner's model {expected.name} is "
                         f"{expected.sha256[:12]}…: it cannot be used here")
    if data_dir is not None:
        card, card_path = read_card(data_dir), Path(data_dir) / CARD
    elif isinstance((metadata.model_extra or {}).get("data_card"), dict):
        card, card_path = DataCard.model_validate(metadata.model_extra["data_card"]), sidecar_path(source)
    else:
        return Checked(metadata, None, "not checked: no data card (pass --data DIR)")
    if card.request != request_id:
        raise InputError(card_path, f"the data card is for training request {card.request}, not {request_id}")
    check_pin(config, card, card_path)
    return Checked(metadata, card.model_dump(mode="json"), "checked")


def queue_for_daemon(config, source: Path, request_id: int, checked: Checked) -> Path:
    """A copy and its sidecar into `adapters/inbox/` (the sidecar first: the watcher refuses an adapter
    without one); the daemon evaluates it and answers the request (`closing.answer_from_experiment`)."""
    from loop.daemon.watchers import inbox_dir

    inbox = inbox_dir(config.repo)
    inbox.mkdir(parents=True, exist_ok=True)
    queued = inbox / Path(source).name
    extra = checked.metadata.model_dump(mode="json", exclude_none=True)
    sidecar = {**extra, "recipe": checked.metadata.recipe, "request": request_id}
    if checked.card:
        sidecar["data_card"] = checked.card
    sidecar_path(queued).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    if Path(source).resolve() != queued.resolve():
        shutil.copytree(source, queued) if Path(source).is_dir() else shutil.copyfile(source, queued)
    return queued


def runner_signature(config, resources=None) -> str | None:
    """The base-model signature prefix the runner's probe reports (Apple), or None."""
    if resources is not None:
        return resources.runner.probe().base_model_signature
    from loop.runners.factory import open_runner

    runner = open_runner(config)
    try:
        return runner.probe().base_model_signature
    finally:
        runner.close()


def register_for_request(config, source: Path, request_id: int, *, recipe: str | None = None,
                         data_dir: Path | None = None, queue: bool = False, resources=None) -> RequestAnswer:
    from loop.adapters.digest import adapter_digest
    from loop.training.closing import evaluate_adapter

    signature = runner_signature(config, resources) if format_of(source) == "fmadapter" else None
    checked = check_registration(config, source, request_id, recipe=recipe, data_dir=data_dir,
                                 runner_signature=signature)
    if queue:
        queued = queue_for_daemon(config, source, request_id, checked)
        return RequestAnswer(request=request_id, recipe=checked.metadata.recipe, sha256=adapter_digest(source).sha256,
                             experiment=None, status=None, quality=None, queued=str(queued), pin=checked.pin,
                             answer="queued for the daemon: it answers the request when it has evaluated it")
    if not (Path(config.repo) / ".git").exists():
        raise InputError(config.repo, "not a git repository: registration evaluates the adapter as an experiment "
                                      "on the research branch (`autoresearch init` first), or queue it for a "
                                      "running daemon with --queue")
    extra = {"request": request_id, **({"data_card": checked.card} if checked.card else {})}
    if resources is not None:
        closed = evaluate_adapter(resources, source, request_id, checked.metadata, extra)
    else:
        from loop.daemon.resources import Resources

        with Resources(config) as own:
            closed = evaluate_adapter(own, source, request_id, checked.metadata, extra)
    return RequestAnswer(request=request_id, recipe=checked.metadata.recipe, sha256=closed.sha256,
                         experiment=closed.experiment, status=closed.status, quality=closed.quality, queued=None,
                         pin=checked.pin, answer=closed.answer)
