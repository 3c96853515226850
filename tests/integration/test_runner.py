"""The process runner starts, health-checks, reports and stops real service processes."""

from __future__ import annotations

import pytest

from deploy import runner
from tests.support import free_port, nameko_run


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PIDS", tmp_path / "pids")
    monkeypatch.setattr(runner, "LOGS", tmp_path / "logs")
    return tmp_path


def ledger_spec(database_url, amqp_uri, **env):
    port = free_port()
    return runner.ProcessSpec(
        name="ledger",
        command=nameko_run("tests.fixtures.ledger.service:Ledger"),
        health_url=f"http://127.0.0.1:{port}/healthz",
        env={"CONSORTIUM_DB_LEDGER_URL": database_url, "CONSORTIUM_AMQP_URI": amqp_uri,
             "METRICS_PORT": str(port), **env})


def test_start_wait_status_stop(run_dir, database_url, amqp_uri, capsys):
    spec = ledger_spec(database_url, amqp_uri)
    runner.start(spec)
    try:
        pid = runner.running_pid(spec)
        assert pid is not None and spec.pid_file.is_file()
        assert runner.wait_healthy([spec], timeout=60)
        assert runner.healthy(spec.health_url)
        runner.start(spec)   # a second start is a no-op, not a second process
        assert runner.running_pid(spec) == pid
        assert "already running" in capsys.readouterr().out
    finally:
        runner.stop(spec)
    assert runner.running_pid(spec) is None and not spec.pid_file.exists()
    assert not runner.healthy(spec.health_url)
    assert "starting services: ledger" in spec.log_file.read_text()


def test_a_process_that_cannot_start_is_reported_with_its_log(run_dir, amqp_uri, capsys):
    spec = ledger_spec("postgresql://nobody:wrong@127.0.0.1:1/none", amqp_uri,
                       CONSORTIUM_STARTUP_TIMEOUT="1")
    runner.start(spec)
    try:
        assert not runner.wait_healthy([spec], timeout=60)
    finally:
        runner.stop(spec)
    out = capsys.readouterr().out
    assert "ledger: exited" in out and "database unreachable" in out
