"""`autoresearch status`: one typed report (`StatusReport`, also `status --json`) and its text.

Each worker the record knows (loop/daemon/workers.py): name, host, pid, state (running, lost: no
heartbeat within the lease or its process gone, stopped), its current experiment and step, its last
heartbeat. Then the unfinished experiments (in progress under a live worker, or waiting to be
recovered or resumed), the best so far, counts by status, the latest model-line change.
"""

from __future__ import annotations

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from loop.config import Config
from loop.daemon import experiments
from loop.daemon.workers import WorkerView, worker_views


class RunningExperiment(BaseModel):
    number: int
    step: str
    worker: str | None
    state: str  # in progress | interrupted (recovered on the next start) | suspended (resumes ...)
    hypothesis: str


class BestExperiment(BaseModel):
    number: int
    quality: float | None
    gate: str | None
    hypothesis: str


class StatusReport(BaseModel):
    workers: list[WorkerView]
    running: list[RunningExperiment]
    best: BestExperiment | None
    counts: dict[str, int]
    model_line: str | None

    @property
    def live(self) -> list[WorkerView]:
        return [w for w in self.workers if w.state == "running"]


def status_report(config: Config) -> StatusReport:
    from loop.daemon.lines import latest_change

    workers = worker_views(config)
    live = {w.name for w in workers if w.state == "running"}
    running = []
    for row in experiments.unfinished(config):
        if row.status != "running":
            continue
        state = ("in progress" if row.worker in live and row.lease_until is not None else
                 f"suspended (resumes from step {row.resume_step} on the next start)" if row.resume_step else
                 "interrupted (recovered on the next start)")
        running.append(RunningExperiment(number=row.number, step=row.step, worker=row.worker, state=state,
                                         hypothesis=experiments.headline(row.hypothesis)))
    best = experiments.best(config)
    return StatusReport(
        workers=workers, running=running, counts=experiments.counts_by_status(config), model_line=latest_change(config),
        best=BestExperiment(number=best.number, quality=best.quality, gate=best.gate,
                            hypothesis=experiments.headline(best.hypothesis)) if best else None)


def render_status(report: StatusReport, out: Console) -> None:
    live = report.live
    if live:
        who = ", ".join(f"worker {w.name} pid {w.pid}" for w in live)
        out.print(f"daemon: running ({who})", highlight=False)
    else:
        out.print("daemon: not running")
    for w in report.workers:
        out.print(f"worker {escape(w.name)} on {escape(w.host)} (pid {w.pid}): {w.doing}; last heartbeat "
                  f"{w.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC ({w.heartbeat_age_s:.0f} s ago)", highlight=False)
    for row in report.running:
        by = f" (worker {escape(row.worker)})" if row.worker else ""
        out.print(f"experiment {row.number:04d}: step {row.step}{by} — {row.state}; {escape(row.hypothesis)}",
                  highlight=False)
    best = report.best
    if best is not None:
        quality = f"{best.quality:.4f}" if best.quality is not None else "—"
        out.print(f"best: experiment {best.number:04d}, quality {quality} on the {best.gate} gate — "
                  f"{escape(best.hypothesis)}", highlight=False)
    else:
        out.print("best: none yet")
    out.print("experiments: " + (", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "none"),
              highlight=False)
    if report.model_line:
        out.print(f"model line: {escape(report.model_line)}", highlight=False)
