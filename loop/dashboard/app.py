"""The dashboard's Starlette application: pages, two small JSON endpoints, the diagram, local assets.

    app = create_app(database_url, ruler_dir)

Routes: `/` (overview, `?ruler=ID`), `/api/data` (points, costs, requests, the cloud ceiling references; ETag = a fingerprint of the
record, `If-None-Match` answers 304 so polling every few seconds is cheap), `/api/matrix` (the per-task
heatmap, `?first=&last=`), `/experiments/N` (`?evaluation=ID`, with the supervisor's panel), `/label`
(the labelling view), the supervisor's writes (`POST /experiments/N/feedback`, `/steering`, `/steering/ID/drop`; `supervisor.py`),
every write under the one `writes.WriteGuard`, `/tiles` (the tile wall, `loop.dashboard.tiles_page`), `/experiments/N/diagram.svg` (the stored
trace SVG under a script-blocking CSP; the page shows it through <img>), `/static/*` (plotly.js from the
plotly package itself, our JS/CSS). No page ever shows a stack trace: a missing SQLite file is a 404
page, an unopenable database a 503 page naming it and the driver's error.
"""

from __future__ import annotations

import logging
from pathlib import Path

import plotly
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from loop.dashboard import detail as details
from loop.dashboard import queries
from loop.dashboard.experiment_page import experiment_page
from loop.dashboard.labels import LabelView
from loop.dashboard.pages import empty_page, error_page, missing_database_page, overview_page, unavailable_database_page
from loop.dashboard.supervisor import SupervisorView
from loop.dashboard.source import DatabaseMissing, DatabaseUnavailable, Source, describe, open_source
from loop.dashboard.tiles_page import tiles_page
from loop.dashboard.workers_panel import read_workers, workers_panel
from loop.dashboard.writes import WriteGuard
from loop.report.shape import AdapterCatalog
from loop.report.tile_query import read_tiles

log = logging.getLogger("loop.dashboard")
STATIC_DIR = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PAGE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'")
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={"Content-Security-Policy": PAGE_CSP,
                                                           "X-Content-Type-Options": "nosniff",
                                                           "Cache-Control": "no-store"})


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise HTTPException(400, f"`{name}` must be a whole number, not {raw!r}") from None


class Dashboard:
    """Route handlers bound to one record and one ruler directory (sync: Starlette runs them in threads)."""

    def __init__(self, source: Source, ruler_dir: Path, supervisor: SupervisorView | None = None,
                 adapters: AdapterCatalog | None = None):
        self.source, self.ruler_dir, self.supervisor = source, ruler_dir, supervisor
        self.adapters = adapters or AdapterCatalog(None)

    def connect(self):
        if self.source.sqlite_path is not None and not self.source.sqlite_path.is_file():
            raise DatabaseMissing(self.source.where)
        return self.source.engine.connect()

    def _ruler(self, conn, request: Request) -> tuple[list[dict], str | None]:
        rulers = queries.rulers(conn)
        wanted = request.query_params.get("ruler") or None
        if wanted is not None and wanted not in {r["id"] for r in rulers}:
            raise HTTPException(404, f"No experiment was scored under ruler {wanted!r}.")
        return rulers, wanted or (rulers[0]["id"] if rulers else None)

    def overview(self, request: Request) -> Response:
        with self.connect() as conn:
            if queries.experiment_count(conn) == 0:
                return _html(empty_page(self.source.where))
            rulers, current = self._ruler(conn, request)
            workers = workers_panel(read_workers(conn))
        return _html(overview_page(rulers, current, self.source.where, workers))

    def data(self, request: Request) -> Response:
        with self.connect() as conn:
            rulers, current = self._ruler(conn, request)
            state = queries.record_state(conn, current)
            headers = {"ETag": state.etag, "Cache-Control": "no-cache"}
            if request.headers.get("if-none-match") == state.etag:
                return Response(status_code=304, headers=headers)
            payload = {"ruler": current, "rulers": rulers, "count": state.experiments,
                       "points": queries.points(conn, current),
                       "costs": {"total_usd": round(state.total_cost_usd, 4),
                                 "judge_total_usd": round(state.total_judge_usd, 4), **queries.night_cost(conn)},
                       "decisions": queries.night_decisions(conn, current),
                       "model_changes": queries.model_changes(conn),
                       "judge_drifts": queries.judge_drifts(conn),
                       "references": queries.ceiling_references(conn, current),
                       "requests": queries.training_requests(conn)}
        return JSONResponse(payload, headers=headers)

    def matrix(self, request: Request) -> Response:
        first, last = _int(request, "first"), _int(request, "last")
        with self.connect() as conn:
            _rulers, current = self._ruler(conn, request)
            payload = queries.matrix(conn, current, first, last)
        return JSONResponse(payload, headers={"Cache-Control": "no-store"})

    def experiment(self, request: Request) -> Response:
        number = request.path_params["number"]
        with self.connect() as conn:
            found = details.experiment_detail(conn, number, _int(request, "evaluation"))
        if found is None:
            raise HTTPException(404, f"There is no experiment #{number} in this record.")
        found.gold, found.gold_error = details.load_gold(self.ruler_dir)
        return _html(experiment_page(found, self.supervisor.panel(number) if self.supervisor else ""))

    def tiles(self, request: Request) -> Response:
        first, last = _int(request, "first"), _int(request, "last")
        with self.connect() as conn:
            rulers, current = self._ruler(conn, request)
            tiles = read_tiles(conn, current, self.adapters, first=first, last=last)
        return _html(tiles_page(rulers, current, self.source.where, tiles, first, last))

    def diagram(self, request: Request) -> Response:
        number = request.path_params["number"]
        with self.connect() as conn:
            svg = details.trace_svg(conn, number)
        if not svg:
            raise HTTPException(404, f"Experiment #{number} has no process diagram.")
        return Response(svg, media_type="image/svg+xml", headers={
            "Content-Security-Policy": SVG_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    def plotly_js(self, request: Request) -> Response:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, title: str, message: str, page: str | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": title, "detail": message}, status_code=status)
    return _html(page or error_page(title, message), status)


async def _on_http(request: Request, exc: HTTPException) -> Response:
    titles = {404: "Not found", 400: "Bad request", 403: "Refused", 405: "Method not allowed"}
    message = exc.detail if exc.detail and exc.detail != "Not Found" else f"Nothing lives at {request.url.path}."
    return _error(request, exc.status_code, titles.get(exc.status_code, "Error"), message)


async def _on_missing(request: Request, exc: DatabaseMissing) -> Response:
    return _error(request, 404, "No database here", str(exc), missing_database_page(exc.where))


async def _on_unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
    return _error(request, 503, "The database cannot be opened", f"{exc.where}: {exc.error}",
                  unavailable_database_page(exc.where, exc.error))


def create_app(database_url: str, ruler_dir: Path, *, allowed_hosts: list[str] | None = None,
               supervisor: str | None = None, adapter_store: Path | None = None,
               workspace: Path | None = None, drafts: Path | None = None) -> Starlette:
    """The dashboard for the record at `database_url`; gold sets are read from `ruler_dir`; writes (labels)
    are signed by `supervisor` (the config's), else the OS user; the tile wall reads adapter metadata
    (training recipes) from `adapter_store`; `/label?mode=pool` shows the `drafts` file's training-pool
    drafts against the pool of `workspace`."""
    source = open_source(database_url)
    guard = WriteGuard(supervisor)  # one set of write rules for every page that writes
    board = Dashboard(source, Path(ruler_dir), SupervisorView(database_url, guard, Path(ruler_dir)),
                      AdapterCatalog(adapter_store))
    labels = LabelView(board, database_url, Path(ruler_dir), guard, workspace=workspace, drafts=drafts)

    async def on_sql_error(request: Request, exc: SQLAlchemyError) -> Response:
        return await _on_unavailable(request, DatabaseUnavailable(source.where, describe(exc)))

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("dashboard error on %s", request.url.path)
        return _error(request, 500, "Something went wrong", f"{type(exc).__name__} while serving {request.url.path}; "
                      "the details are in the dashboard's log.")

    routes = [
        Route("/", board.overview),
        Route("/api/data", board.data),
        Route("/api/matrix", board.matrix),
        Route("/experiments/{number:int}", board.experiment),
        Route("/tiles", board.tiles),
        Route("/label", labels.page, methods=["GET"]),
        Route("/label", labels.submit, methods=["POST"]),
        Route("/experiments/{number:int}/feedback", board.supervisor.feedback, methods=["POST"]),
        Route("/steering", board.supervisor.steer, methods=["POST"]),
        Route("/steering/{note:int}/drop", board.supervisor.drop, methods=["POST"]),
        Route("/experiments/{number:int}/diagram.svg", board.diagram),
        Route("/static/plotly.min.js", board.plotly_js),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={
        HTTPException: _on_http, DatabaseMissing: _on_missing, DatabaseUnavailable: _on_unavailable,
        SQLAlchemyError: on_sql_error, Exception: on_crash})
    app.state.source = source
    return app
