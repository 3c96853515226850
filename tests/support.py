"""Helpers for tests that run real processes: start/stop them, await conditions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kombu

from eventstore.context import register_remote_errors

# Direct RPC answers our errors as their own classes (NotFound, Conflict, ...), as the gateway
# sees them.
register_remote_errors()

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".run" / "test-logs"


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
               interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A child process with its output in .run/test-logs/<name>.log."""

    def __init__(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as when a machine dies."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def nameko_run(target: str) -> list[str]:
    """The command every service runs with, as in production: `nameko run` + deploy config."""
    return [str(Path(sys.executable).parent / "nameko"), "run", "--config",
            str(ROOT / "deploy" / "nameko.yaml"), target]


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def bind_queue(amqp_uri: str, queue: str, exchange: str, routing_key: str = "#") -> None:
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        ex = kombu.Exchange(exchange, type="topic", durable=True)
        kombu.Queue(queue, ex, routing_key=routing_key, durable=True)(channel).declare()


def drain(amqp_uri: str, queue: str) -> list[dict[str, Any]]:
    """Every message waiting in ``queue`` (acked), decoded from JSON, in queue order."""
    bodies = []
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                return bodies
            bodies.append(json.loads(message.body))


def queue_depth(amqp_uri: str, queue: str) -> int:
    with kombu.Connection(amqp_uri) as conn:
        return conn.channel().queue_declare(queue, passive=True).message_count


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


class ServiceProcess(Process):
    """A service run exactly as in production: `nameko run` with deploy/nameko.yaml."""

    def __init__(self, service: str, module: str, database_url: str, amqp_uri: str,
                 env: dict[str, str] | None = None, broker_uri: str | None = None) -> None:
        """``amqp_uri`` is the tests' own (they call the service there); ``broker_uri`` the
        process's, its own broker user (the tests' when not given)."""
        self.service = service
        self.database_url = database_url
        self.amqp_uri = amqp_uri
        self.metrics_port = free_port()
        super().__init__(f"{service}-{self.metrics_port}", nameko_run(module), env={
            f"CONSORTIUM_DB_{service.upper()}_URL": database_url,
            "CONSORTIUM_AMQP_URI": broker_uri or amqp_uri,
            "METRICS_PORT": str(self.metrics_port),
            "PYTHONWARNINGS": "ignore", **(env or {})})
        try:
            wait_until(lambda: not self.alive() or self.healthy(), timeout=60,
                       what=f"{service} to be healthy")
            assert self.alive(), f"{service} exited:\n{self.output()}"
            wait_until(self._answers_rpc, timeout=30, what=f"{service} to answer RPC")
        except BaseException:
            self.stop()
            raise

    def healthy(self) -> bool:
        return http_get(f"http://127.0.0.1:{self.metrics_port}/healthz")[0] == 200

    def _answers_rpc(self) -> bool:
        try:
            self.rpc("read_events", [0, 0], 1)
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def rpc(self, method: str, *args: Any, timeout: float = 10, caller: Any = None,
            context: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Call the service directly on the broker, as ``caller`` (an identity signed for
        the call; the consortium admin by default), with extra call context (an
        Idempotency-Key, ...)."""
        from eventstore.identity import Identity
        from eventstore.rpc import signed_rpc
        identity = caller or Identity(sub="test-admin", role="admin", hubs=("*",))
        with signed_rpc(self.amqp_uri, identity, "tests", timeout=timeout,
                        context=context) as cluster:
            return getattr(getattr(cluster, self.service), method)(*args, **kwargs)

    def metric(self, sample: str) -> float:
        """The value of one sample line (name with labels) on /metrics, 0 if absent."""
        _, text = http_get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        for line in text.splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


def query(url: str, sql: str, params: Any = ()) -> Any:
    """Rows of one statement on a test database (None for a statement without rows)."""
    from eventstore.db import connect
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def cli(*args: str) -> str:
    """Run ``python -m eventstore ARGS`` as an operator would; its output, or fail."""
    process = Process(f"cli-{uuid.uuid4().hex[:6]}", python("-m", "eventstore", *args))
    process.proc.wait(120)
    output = process.output()
    process.stop()
    assert process.proc.returncode == 0, output
    return output


def delete_queues(amqp_uri: str, *names: str) -> None:
    """Forget queues an earlier test of the session left behind (a consumer's queue outlives
    its process, and keeps collecting what the next test's producer publishes)."""
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        for name in names:
            channel.queue_delete(name)
