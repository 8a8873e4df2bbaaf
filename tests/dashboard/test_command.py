"""`autoresearch dashboard`: loopback by default; any other address needs --allow-remote and warns."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import loop.dashboard.server as server_module
from loop.cli import app
from loop.dashboard.server import allowed_hosts, is_loopback


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                       ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                       ("example.org", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop
    assert (allowed_hosts(host) is not None) is loop


def test_non_loopback_host_is_refused_without_the_flag(monkeypatch, tmp_path):
    monkeypatch.setattr(server_module, "serve", lambda *a, **k: pytest.fail("must not serve"))
    result = CliRunner().invoke(app, ["dashboard", "--host", "0.0.0.0", "--db", str(tmp_path / "x.sqlite")])
    assert result.exit_code == 2
    assert "--allow-remote" in result.output


def test_non_loopback_host_with_the_flag_warns_then_serves(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(server_module, "serve", lambda app, host, port: calls.append((host, port)))
    result = CliRunner().invoke(app, ["dashboard", "--host", "0.0.0.0", "--allow-remote", "--port", "9999",
                                      "--db", str(tmp_path / "x.sqlite")])
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "no authentication" in result.output.lower()
    assert calls == [("0.0.0.0", 9999)]


def test_default_is_loopback(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(server_module, "serve", lambda app, host, port: calls.append((host, port)))
    result = CliRunner().invoke(app, ["dashboard", "--db", str(tmp_path / "x.sqlite")])
    assert result.exit_code == 0, result.output
    assert calls == [("127.0.0.1", 8765)] and "warning" not in result.output
