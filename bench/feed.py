"""The agencies' feed benchmark (issue 19): catch-up from zero over a long history, and the lag
from an HTTP write to its feed entry under steady writes, through HTTP → gateway → RPC → every
service's ``public_events``.

    .venv/bin/python bench/feed.py [--events 1000000] [--seconds 20] [--clients 8]

The history. A hub of California is registered through HTTP (every service learns it); then,
with the services stopped, ``--events`` (1,000,000) MemberEnrolled events of that hub are
written into membership's log by SQL, as if enrolled long ago: the relay's checkpoint and the
other services' catch-up positions are set past them (they were published and consumed long
ago), so what is measured is the feed alone. The services start again.

Catch-up. One agency reader pages ``GET /v1/feed?limit=1000`` from no cursor until a page is
empty, checking every event once and in log order. ``catchup_per_s`` is events over seconds;
``rss_growth_mb`` is how far the gateway's and membership's resident memory rose above where it
was before the catch-up (sampled every 0.2 s, the larger of the two): a reader of the whole
history must cost no more than a page.

Lag. ``--clients`` (8) writers enroll members through HTTP for ``--seconds`` (20) while the
reader tails the feed with ``wait=5`` from where the catch-up ended. Each enrollment's lag is
from its 201 to the reader's receiving its feed entry. ``missed`` (written, never received) and
``duplicated`` (received twice) must be 0.

Prints figures; its last line is one JSON object: events, catchup_per_s, lag_p50_ms,
lag_p99_ms, missed, duplicated, rss_growth_mb, writes, errors. Targets (issue 19):
catchup_per_s >= 20,000, lag_p99_ms < 500, rss_growth_mb < 50.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

from common import (  # first: the repository on the path, the environment
    for_seconds,
    free_port,
    percentile,
    platform_specs,
    rabbitmqctl,
)

from deploy import runner
from eventstore.config import DEV_DB_PASSWORD
from eventstore.db import connect
from eventstore.provision import drop_database, ensure_database
from gateway.auth import issue

SERVICES = ["membership", "cycles", "resources", "scheduling"]
ROLE = "consortium_bench"
HUB = "bench-ca"


def url(service: str) -> str:
    return (f"postgresql://{ROLE}:{DEV_DB_PASSWORD}@localhost:5432/"
            f"consortium_bench_{service}")


class Api:
    def __init__(self, port: int, bearer: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.bearer = bearer

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {self.bearer}",
                   "Content-Type": "application/json"}
        self.conn.request(method, path, json.dumps(body) if body is not None else None,
                          headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def ok(self, method: str, path: str, body: object = None) -> dict:
        status, answer = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer


def write_history(count: int) -> None:
    """``count`` enrollments of the hub in membership's log, by SQL in batches, and every
    follower of that log set past them."""
    with connect(url("membership")) as conn, conn.cursor() as cur:
        done = 0
        while done < count:
            n = min(100_000, count - done)
            cur.execute("""
                INSERT INTO events (event_id, stream_id, stream_type, version, type, hub_id,
                                    data, recorded_at)
                SELECT gen_random_uuid(), 'hist-' || i, 'member', 1, 'MemberEnrolled', %s,
                       jsonb_build_object('hub_id', %s, 'name', 'District ' || i,
                                          'kind', 'district', 'grade_span', 'K-8',
                                          'enrollment', 5 + i %% 3000, 'cds_code', NULL,
                                          'nces_id', NULL),
                       now() - interval '3 years'
                FROM generate_series(%s, %s) AS i""", (HUB, HUB, done, done + n - 1))
            conn.commit()
            done += n
            print(f"  {done} events written", file=sys.stderr)
        cur.execute("SELECT tx_id, position FROM events ORDER BY tx_id DESC, position DESC "
                    "LIMIT 1")
        head = cur.fetchone()
        cur.execute("""INSERT INTO checkpoints (name, tx_id, position) VALUES ('relay', %s, %s)
                       ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id,
                       position = excluded.position""", head)
        conn.commit()
    for service in SERVICES[1:]:
        with connect(url(service)) as conn, conn.cursor() as cur:
            cur.execute("""INSERT INTO checkpoints (name, tx_id, position)
                           VALUES ('catch-up:membership', %s, %s)
                           ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id,
                           position = excluded.position""", head)
            conn.commit()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """The highest resident memory of each process while it runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before = {name: rss_mb(pid) for name, pid in pids.items()}
        self.highest = dict(self.before)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            for name, pid in self.pids.items():
                self.highest[name] = max(self.highest[name], rss_mb(pid))

    def growth(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join()
        return {name: self.highest[name] - self.before[name] for name in self.pids}


def catch_up(port: int, bearer: str) -> tuple[int, float, str, int]:
    """Events read from the very beginning, seconds, the last cursor and duplicates."""
    reader = Api(port, bearer)
    after, seen, duplicated, count = None, set(), 0, 0
    started = time.perf_counter()
    while True:
        query = "limit=1000" + (f"&after={urllib.parse.quote(after)}" if after else "")
        page = reader.ok("GET", f"/v1/feed?{query}")
        for event in page["items"]:
            if event["id"] in seen:
                duplicated += 1
            seen.add(event["id"])
        count += len(page["items"])
        after = page["next"]
        if not page["items"]:
            return count, time.perf_counter() - started, after, duplicated


def lag_load(port: int, bearer: str, writer: str, after: str, clients: int,
             seconds: float) -> dict:
    answered: dict[str, float] = {}
    received: dict[str, float] = {}
    duplicated = 0
    errors = [0] * clients
    writing = threading.Event()
    writing.set()

    def tail() -> None:
        nonlocal after, duplicated
        reader = Api(port, bearer)
        quiet_since = None
        while True:
            page = reader.ok("GET", f"/v1/feed?limit=1000&wait=5&after="
                                    f"{urllib.parse.quote(after)}")
            now = time.perf_counter()
            after = page["next"]
            for event in page["items"]:
                name = event["data"].get("name", "")
                if not name.startswith("Lag "):
                    continue
                if name in received:
                    duplicated += 1
                received[name] = now
            if page["items"]:
                quiet_since = None
            elif not writing.is_set():
                quiet_since = quiet_since or now
                if set(answered) <= set(received) or now - quiet_since > 10:
                    return

    tailer = threading.Thread(target=tail)
    tailer.start()

    def client(i: int, stop: threading.Event) -> None:
        api = Api(port, writer)
        n = 0
        while not stop.is_set():
            name = f"Lag {i}-{n}"
            n += 1
            status, _ = api.call("POST", f"/v1/hubs/{HUB}/members", {
                "name": name, "kind": "school", "grade_span": "K-8", "enrollment": 120})
            if status == 201:
                answered[name] = time.perf_counter()
            else:
                errors[i] += 1

    for_seconds(clients, seconds, client)
    writing.clear()
    tailer.join()
    lags = [(received[name] - at) * 1000 for name, at in answered.items() if name in received]
    return {"writes": len(answered), "lags": lags,
            "missed": len(set(answered) - set(received)), "duplicated": duplicated,
            "errors": sum(errors)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    for service in SERVICES:
        drop_database(f"consortium_bench_{service}")
        ensure_database(f"consortium_bench_{service}", ROLE, DEV_DB_PASSWORD)
    vhost = f"consortium-bench-feed-{os.getpid()}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    amqp = f"pyamqp://guest:guest@localhost:5672/{vhost}"
    http_port = free_port()
    specs = platform_specs("bench-feed", SERVICES, url, amqp, http_port)
    admin = issue("bench-admin", "admin", ["*"])
    agency = issue("bench-cde", "agency", [], state="CA")
    try:
        with contextlib.redirect_stdout(sys.stderr):   # the JSON line ends standard output
            for spec in specs:
                runner.start(spec)
            if not runner.wait_healthy(specs, timeout=90):
                return 1
            Api(http_port, admin).ok("POST", "/v1/hubs", {
                "id": HUB, "name": "Bench county office", "state": "CA",
                "facilitator_org": "Partner"})
            for service in SERVICES[1:]:
                deadline = time.monotonic() + 60
                while True:
                    with connect(url(service)) as conn, conn.cursor() as cur:
                        cur.execute("SELECT count(*) FROM directory_hubs WHERE id = %s "
                                    "AND state = 'CA'", (HUB,))
                        if cur.fetchone()[0] or time.monotonic() > deadline:
                            break
                    time.sleep(0.2)
            for spec in reversed(specs):
                runner.stop(spec)
            print(f"  writing {args.events} events of history", file=sys.stderr)
            started = time.perf_counter()
            write_history(args.events)
            print(f"  written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            for spec in specs:
                runner.start(spec)
            if not runner.wait_healthy(specs, timeout=90):
                return 1
        pids = {name: runner.running_pid(spec) for name, spec in
                (("gateway", specs[-1]), ("membership", specs[0]))}
        sampler = Sampler({k: v for k, v in pids.items() if v})
        events, took, head, duplicated = catch_up(http_port, agency)
        growth = sampler.growth()
        per_s = events / took
        print(f"catch-up: {events} events in {took:.1f} s: {per_s:,.0f}/s; rss growth "
              + ", ".join(f"{k} {v:.1f} MB" for k, v in growth.items())
              + f"; duplicated {duplicated}")
        lag = lag_load(http_port, agency, admin, head, args.clients, args.seconds)
        p50, p99 = percentile(lag["lags"], 0.5), percentile(lag["lags"], 0.99)
        print(f"lag under {args.clients} writers: {lag['writes']} writes, p50 {p50:.0f} ms, "
              f"p99 {p99:.0f} ms, missed {lag['missed']}, duplicated {lag['duplicated']}, "
              f"errors {lag['errors']}")
        rss = max(growth.values()) if growth else 0.0
        for name, value, target, met in (
                ("catchup_per_s", per_s, ">= 20000", per_s >= 20_000),
                ("lag_p99_ms", p99, "< 500", p99 < 500),
                ("rss_growth_mb", rss, "< 50", rss < 50)):
            print(f"target: {name} {value:.1f} {target}: {'met' if met else 'MISSED'}")
        print(json.dumps({
            "events": events, "catchup_per_s": round(per_s), "lag_p50_ms": round(p50, 1),
            "lag_p99_ms": round(p99, 1), "missed": lag["missed"],
            "duplicated": duplicated + lag["duplicated"], "rss_growth_mb": round(rss, 1),
            "rss_growth_by_process_mb": {k: round(v, 1) for k, v in growth.items()},
            "writes": lag["writes"], "errors": lag["errors"]}))
    finally:
        with contextlib.redirect_stdout(sys.stderr):
            for spec in reversed(specs):
                runner.stop(spec)
        for service in SERVICES:
            drop_database(f"consortium_bench_{service}")
        with contextlib.suppress(subprocess.SubprocessError):
            rabbitmqctl("delete_vhost", vhost)
    return 0


if __name__ == "__main__":
    sys.exit(main())
