"""Dashboard at scale: 10,000 experiments with 30 case results each (built once, bulk inserts, in a temp
dir), served by uvicorn on 127.0.0.1; median wall time of the data endpoint (target <= 300 ms), of a
304 revalidation, of the heatmap endpoint, of the overview page and of the tile wall (newest 600); then
the wall time and size of `autoresearch report` over the whole record (every experiment a point and a tile).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer
from tests.support.dashboard_records import populate, write_ruler

EXPERIMENTS = 10_000
REPEATS = 7


def _timed(url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int, str | None]:
    request = urllib.request.Request(url, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            status, etag = response.status, response.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        body, status, etag = exc.read(), exc.code, exc.headers.get("ETag")
    return (time.perf_counter() - started) * 1000, status, len(body), etag


def _median(url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int, str | None]:
    runs = [_timed(url, headers) for _ in range(REPEATS)]
    return statistics.median(r[0] for r in runs), runs[-1][1], runs[-1][2], runs[-1][3]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        db = Path(tmp) / "record.sqlite"
        started = time.perf_counter()
        populate(f"sqlite:///{db}", EXPERIMENTS, dev_gate=False, seed=11, batch=1000)
        print(f"dashboard_build_s: {time.perf_counter() - started:.1f}")
        print(f"dashboard_db_mb: {db.stat().st_size / 1e6:.0f}")
        app = create_app(f"sqlite:///{db}", write_ruler(Path(tmp) / "ruler"))
        with BackgroundServer(app) as server:
            _timed(server.url + "/api/data")  # warm the connection pool and caches
            ms, status, size, etag = _median(server.url + "/api/data")
            print(f"dashboard_experiments: {EXPERIMENTS}")
            print(f"dashboard_data_status: {status}")
            print(f"dashboard_data_ms_median: {ms:.0f}")
            print("dashboard_data_target_ms: 300")
            print(f"dashboard_loadavg_1m: {os.getloadavg()[0]:.1f} (2 cores shared; figures are wall time)")
            print(f"dashboard_data_kb: {size / 1000:.0f}")
            ms, status, _, _ = _median(server.url + "/api/data", {"If-None-Match": etag or ""})
            print(f"dashboard_data_304_ms_median: {ms:.1f} (status {status})")
            ms, status, size, _ = _median(server.url + "/api/matrix")
            print(f"dashboard_matrix_ms_median: {ms:.0f} (status {status}, {size / 1000:.0f} kB, newest 300 columns)")
            ms, status, _, _ = _median(server.url + f"/experiments/{EXPERIMENTS // 2}")
            print(f"dashboard_experiment_page_ms_median: {ms:.0f} (status {status})")
            ms, status, _, _ = _median(server.url + "/")
            print(f"dashboard_overview_page_ms_median: {ms:.1f} (status {status})")
            ms, status, size, _ = _median(server.url + "/tiles")
            print(f"dashboard_tiles_page_ms_median: {ms:.0f} (status {status}, {size / 1000:.0f} kB, newest 600 tiles)")
        out = Path(tmp) / "report.html"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "loop.cli", "report", "--repo", tmp, "--db", str(db), "--out", str(out),
                        "--json"], check=True, capture_output=True, cwd=tmp)
        print(f"report_s: {time.perf_counter() - started:.1f} ({EXPERIMENTS} experiments, "
              f"{out.stat().st_size / 1e6:.1f} MB self-contained)")


if __name__ == "__main__":
    main()
