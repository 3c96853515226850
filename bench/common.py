"""What every benchmark script uses: percentiles, a free port, the broker's CLI, and clients
that run for a while. Imported by the scripts (``bench/`` is the first entry of their path)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable


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
