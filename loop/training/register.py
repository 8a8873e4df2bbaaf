"""`autoresearch train register PATH --request N`: answer a training request with an adapter.

Checks come first and change nothing when they fail: the request exists and is open, the adapter is a
GGUF file (magic) or an `.fmadapter` directory with well-formed `metadata.json`, the recipe is known
(flag or the sidecar `<adapter>.json`), and the base model it was trained on (sidecar `base_model.sha256`)
is the configured runner's model. Then the adapter goes into the content-addressed store with its
metadata (recipe, request, data card), a copy and its sidecar are queued in `adapters/inbox/` (the daemon
evaluates it as an `interactive` experiment whose lever is the recipe), and the request is answered
naming the adapter's sha256.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from loop.adapters.digest import format_of
from loop.adapters.register import base_model_of, check_fmadapter, check_gguf, read_drop_metadata, sidecar_path
from loop.adapters.store import AdapterStore, StoredAdapter, store_root
from loop.errors import InputError


@dataclass(frozen=True)
class RequestAnswer:
    request: int
    recipe: str
    sha256: str
    stored: str
    queued: str  # the inbox copy the daemon will evaluate
    answer: str


def open_request(config, request_id: int):
    from loop.daemon.requests import list_requests

    for view in list_requests(config):
        if view.id == request_id:
            if view.status != "open":
                raise LookupError(f"training request {request_id} is already {view.status}")
            return view
    raise LookupError(f"no training request {request_id} in the record (see `autoresearch requests --all`)")


def register_for_request(config, source: Path, request_id: int, *, recipe: str | None = None,
                         card: dict | None = None) -> RequestAnswer:
    from loop.daemon.requests import answer_request
    from loop.daemon.watchers import inbox_dir

    source = Path(source)
    if not source.exists():
        raise InputError(source, "no adapter file or .fmadapter directory there")
    open_request(config, request_id)
    metadata = read_drop_metadata(source, recipe)
    trained_for = (metadata.model_extra or {}).get("request")
    if trained_for is not None and trained_for != request_id:
        raise InputError(sidecar_path(source), f"the adapter was trained for training request {trained_for}, "
                                               f"not {request_id}")
    check_fmadapter(source) if format_of(source) == "fmadapter" else check_gguf(source)
    expected = base_model_of(config)
    if metadata.base_model and metadata.base_model.sha256 and expected.sha256 \
            and metadata.base_model.sha256 != expected.sha256:
        raise InputError(sidecar_path(source), f"the adapter was trained on base model sha256 "
                         f"{metadata.base_model.sha256[:12]}…, but the runner's model {expected.name} is "
                         f"{expected.sha256[:12]}…: it cannot be used here")
    store = AdapterStore(store_root(config))
    stored: StoredAdapter = store.put(source)
    extra = metadata.model_dump(mode="json", exclude_none=True)
    meta = {**(store.metadata(stored.digest.sha256) or {}), **extra, "recipe": metadata.recipe,
            "request": request_id, "base_model": (metadata.base_model or expected).model_dump(mode="json")}
    if card:
        meta["data_card"] = card
    store.put_metadata(stored.digest.sha256, meta)
    inbox = inbox_dir(config.repo)
    inbox.mkdir(parents=True, exist_ok=True)
    queued = inbox / source.name
    # the sidecar first: the inbox watcher refuses an adapter that arrives without one
    sidecar_path(queued).write_text(json.dumps({**extra, "recipe": metadata.recipe, "request": request_id},
                                               indent=2) + "\n", encoding="utf-8")
    if source.resolve() != queued.resolve():
        shutil.copytree(source, queued) if source.is_dir() else shutil.copyfile(source, queued)
    text = (f"{metadata.recipe} adapter {stored.digest.sha256} ({stored.digest.format}, {stored.digest.size} "
            f"bytes) stored in {store.root}; queued as adapters/inbox/{source.name} for evaluation as an "
            f"interactive experiment")
    answer_request(config, request_id, text)
    return RequestAnswer(request=request_id, recipe=metadata.recipe, sha256=stored.digest.sha256,
                         stored=str(stored.path), queued=str(queued), answer=text)
