"""Gateway benchmark: create-member commands through HTTP → gateway → RPC → membership, with
16 concurrent clients, against a trivial authenticated route that makes one RPC round trip
(GET /v1/hubs/<hub>: the ceiling of the HTTP+RPC path).

    .venv/bin/python bench/gateway.py [--seconds 8] [--clients 16]

Starts its own membership service and gateway on a scratch database; prints figures, then one
JSON line with create_rps, create_p99_ms, trivial_rps, trivial_p99_ms and ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CONSORTIUM_DEV_MODE", "1")

from common import for_seconds, percentile  # noqa: E402

from deploy import runner  # noqa: E402
from eventstore.config import DEV_DB_PASSWORD  # noqa: E402
from eventstore.provision import drop_database, ensure_database  # noqa: E402
from gateway.auth import issue  # noqa: E402

DB = "consortium_bench_gateway"
HTTP_PORT, METRICS_PORT = 18700, 18701


def load(clients: int, seconds: float, request) -> tuple[float, float, int]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(i: int, stop: threading.Event) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=30)
        n = 0
        while not stop.is_set():
            n += 1
            started = time.perf_counter()
            status = request(conn, i, n)
            latencies[i].append(time.perf_counter() - started)
            if status >= 400:
                errors[i] += 1
        conn.close()

    elapsed = for_seconds(clients, seconds, client)
    flat = [x for lat in latencies for x in lat]
    return len(flat) / elapsed, percentile(flat, 0.99) * 1000, sum(errors)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()

    drop_database(DB)
    # A role of its own: `make up` gives the membership role a password of this machine's.
    ensure_database(DB, "consortium_bench", DEV_DB_PASSWORD)
    url = f"postgresql://consortium_bench:{DEV_DB_PASSWORD}@localhost:5432/{DB}"
    nameko = str(Path(sys.executable).parent / "nameko")
    config = str(ROOT / "deploy" / "nameko.yaml")
    specs = [
        runner.ProcessSpec("bench-membership", [nameko, "run", "--config", config,
                                                "services.membership.service:Membership"],
                           f"http://127.0.0.1:{METRICS_PORT}/healthz",
                           env={"CONSORTIUM_DB_MEMBERSHIP_URL": url,
                                "METRICS_PORT": str(METRICS_PORT)}),
        runner.ProcessSpec("bench-gateway", [nameko, "run", "--config", config,
                                             "gateway.service:Gateway"],
                           f"http://127.0.0.1:{HTTP_PORT}/healthz",
                           env={"CONSORTIUM_HTTP_ADDRESS": f"127.0.0.1:{HTTP_PORT}"}),
    ]
    try:
        with contextlib.redirect_stdout(sys.stderr):   # the JSON line ends standard output
            for spec in specs:
                runner.start(spec)
            if not runner.wait_healthy(specs, timeout=60):
                return 1
        token = issue("bench", "admin", ["*"])
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT)
        conn.request("POST", "/v1/hubs", json.dumps({
            "id": "bench-hub", "name": "Bench County Office", "state": "CA",
            "facilitator_org": "Bench"}), headers)
        conn.getresponse().read()
        conn.close()
        run = uuid.uuid4().hex[:6]

        def create(conn, i, n):
            body = json.dumps({"name": f"District {run}-{i}-{n}", "kind": "district",
                               "grade_span": "K-8", "enrollment": 100 + n})
            conn.request("POST", "/v1/hubs/bench-hub/members", body,
                         {**headers, "Idempotency-Key": f"{run}-{i}-{n}"})
            response = conn.getresponse()
            response.read()
            return response.status

        def trivial(conn, i, n):
            conn.request("GET", "/v1/hubs/bench-hub", headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status

        load(args.clients, 1.0, trivial)   # warm both paths
        trivial_rps, trivial_p99, trivial_errors = load(args.clients, args.seconds, trivial)
        create_rps, create_p99, create_errors = load(args.clients, args.seconds, create)
        print(f"trivial GET (1 RPC):  {trivial_rps:7.0f} req/s  p99 {trivial_p99:6.1f} ms  "
              f"errors {trivial_errors}")
        print(f"create member:        {create_rps:7.0f} req/s  p99 {create_p99:6.1f} ms  "
              f"errors {create_errors}")
        print(json.dumps({"create_rps": round(create_rps, 1),
                          "create_p99_ms": round(create_p99, 1),
                          "trivial_rps": round(trivial_rps, 1),
                          "trivial_p99_ms": round(trivial_p99, 1),
                          "ratio": round(create_rps / trivial_rps, 3),
                          "clients": args.clients, "errors": create_errors + trivial_errors}))
    finally:
        with contextlib.redirect_stdout(sys.stderr):
            for spec in reversed(specs):
                runner.stop(spec)
        drop_database(DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
