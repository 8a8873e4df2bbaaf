"""The soak's file-descriptor figures tell the record's pool from a leak, and a leak shows."""

from __future__ import annotations

import os

from bench.bench_soak import open_fds, slope_per_100


def test_record_handles_are_counted_apart_from_a_leaked_handle(tmp_path):
    record = tmp_path / "record.sqlite"
    record.write_text("")
    base_record, base_other = open_fds(record)
    held = [open(record), open(f"{record}-wal", "w")]
    leaked = os.open(tmp_path / "elsewhere.log", os.O_CREAT | os.O_WRONLY)
    try:
        in_record, other = open_fds(record)
        assert (in_record - base_record, other - base_other) == (2, 1)
    finally:
        for handle in held:
            handle.close()
        os.close(leaked)


def test_the_slope_reads_a_leak_of_one_handle_per_iteration_as_plus_100():
    leak = {start: 20 + start for start in range(50, 300, 10)}
    assert abs(slope_per_100(leak) - 100.0) < 1e-9
    warm = {start: 28 for start in range(50, 300, 10)}
    assert slope_per_100(warm) == 0.0
