"""The dashboard's write rules, one policy for every page that changes the record (labels now; the
supervisor's edits of issue 13 later):

- same origin only: a write must carry an `Origin` header equal to the page's own origin (scheme and
  Host, which TrustedHostMiddleware already limits to loopback names on a loopback bind);
- a per-page CSRF token: each rendered form gets a fresh single-use token, bound to what the page
  showed (its `context`), redeemed once by the write; unknown, reused or stale tokens are refused;
- the author comes from the config (`supervisor = "name"`) or, without one, the OS user, never from
  the request.

A refusal is a `WriteRefused` with a typed reason; nothing is written. `read_form` reads a posted form
(bounded in size) for any of the writing views.
"""

from __future__ import annotations

import getpass
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any

from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.requests import Request

MAX_FORM_BYTES = 16_384
TOKEN_TTL_S = 3600.0
MAX_TOKENS = 512  # the oldest tokens are forgotten beyond this (a page left open that long is re-rendered)


class Refusal(str, Enum):
    NO_ORIGIN = "no Origin header: writes are accepted only from the dashboard's own pages"
    CROSS_ORIGIN = "the request comes from another origin"
    NO_TOKEN = "no CSRF token in the form"
    UNKNOWN_TOKEN = "the CSRF token is unknown, already used or expired: reload the page"


class WriteRefused(Exception):
    def __init__(self, reason: Refusal, detail: str = ""):
        super().__init__(reason.value + (f" ({detail})" if detail else ""))
        self.reason = reason


@dataclass(frozen=True)
class Issued:
    context: Any  # what the page showed, handed back to the write that redeems the token
    at: float


class PageTokens:
    """Single-use CSRF tokens, each bound to one rendered page's context. Thread-safe."""

    def __init__(self, ttl_s: float = TOKEN_TTL_S, limit: int = MAX_TOKENS):
        self.ttl_s, self.limit = ttl_s, limit
        self._issued: OrderedDict[str, Issued] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, context: Any) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._issued[token] = Issued(context, time.monotonic())
            while len(self._issued) > self.limit:
                self._issued.popitem(last=False)
        return token

    def redeem(self, token: str | None) -> Any:
        if not token:
            raise WriteRefused(Refusal.NO_TOKEN)
        with self._lock:
            issued = self._issued.pop(token, None)
        if issued is None or time.monotonic() - issued.at > self.ttl_s:
            raise WriteRefused(Refusal.UNKNOWN_TOKEN)
        return issued.context


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if not origin:
        raise WriteRefused(Refusal.NO_ORIGIN)
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin.rstrip("/") != own:
        raise WriteRefused(Refusal.CROSS_ORIGIN, f"{origin} is not {own}")


def resolve_author(supervisor: str | None) -> str:
    """`supervisor` from the config, else the OS user."""
    if supervisor and supervisor.strip():
        return supervisor.strip()
    return getpass.getuser()


class WriteGuard:
    """`guard.token(context)` when rendering a form; `context = guard.admit(request, form)` before writing."""

    def __init__(self, supervisor: str | None = None, tokens: PageTokens | None = None):
        self.author = resolve_author(supervisor)
        self.tokens = tokens or PageTokens()

    def token(self, context: Any) -> str:
        return self.tokens.issue(context)

    def admit(self, request: Request, form: dict[str, str]) -> Any:
        check_origin(request)  # before the token: a cross-origin post must not burn a page's token
        return self.tokens.redeem(form.get("csrf"))


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, list[str]]:
    """A posted urlencoded form, every field's values in order; a larger body is a 400, nothing read."""
    body = await request.body()
    if len(body) > max_bytes:
        raise HTTPException(400, "the form is too large")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
