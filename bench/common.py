"""What every benchmark script uses: the repository on the path and a development
environment with signing secrets of this run only (set when this module is imported, so a
script imports it before the platform's modules), percentiles, a free port, the broker's CLI,
clients that run for a while, and the processes of a benchmark's platform. Imported by the
scripts (``bench/`` is the first entry of their path)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CONSORTIUM_DEV_MODE", "1")
# Signing secrets of this run only (the gateway signs identities, the services check them).
os.environ.setdefault("CONSORTIUM_JWT_SECRET", secrets.token_hex(32))
os.environ.setdefault("CONSORTIUM_IDENTITY_SECRET", secrets.token_hex(32))
# eventlet announces its own deprecation when the platform's modules import it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def percentile(values: list[float], p: float) -> float:
    """The value at fraction ``p`` of the sorted values (0 for none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def for_seconds(clients: int, seconds: float,
                client: Callable[[int, threading.Event], None]) -> float:
    """``client(i, stop)`` in ``clients`` threads until ``seconds`` have passed (each returns
    once ``stop`` is set); the seconds they ran."""
    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(i, stop)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def platform_specs(prefix: str, services: list[str], database_url: Callable[[str], str],
                   amqp_uri: str, http_port: int) -> list:
    """The processes of a benchmark's platform (``deploy.runner.ProcessSpec``): each service
    with its own database and a metrics port, then the gateway serving them on ``http_port``;
    the caller starts and stops them with the runner."""
    from deploy import runner
    root = ROOT
    nameko = str(Path(sys.executable).parent / "nameko")
    config = str(root / "deploy" / "nameko.yaml")
    specs = []
    for service in services:
        metrics = free_port()
        specs.append(runner.ProcessSpec(
            f"{prefix}-{service}",
            [nameko, "run", "--config", config,
             f"services.{service}.service:{runner.service_class(service)}"],
            f"http://127.0.0.1:{metrics}/healthz",
            env={f"CONSORTIUM_DB_{service.upper()}_URL": database_url(service),
                 "CONSORTIUM_AMQP_URI": amqp_uri, "METRICS_PORT": str(metrics)}))
    specs.append(runner.ProcessSpec(
        f"{prefix}-gateway", [nameko, "run", "--config", config, "gateway.service:Gateway"],
        f"http://127.0.0.1:{http_port}/healthz",
        env={"CONSORTIUM_HTTP_ADDRESS": f"127.0.0.1:{http_port}", "CONSORTIUM_AMQP_URI": amqp_uri,
             "CONSORTIUM_GATEWAY_SERVICES": ",".join(services)}))
    return specs
