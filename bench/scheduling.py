"""Scheduling benchmark (issue 18): find-a-time over a hub's year, and one contended expert
calendar booked by two hubs at once, through HTTP → gateway → RPC → the scheduling service.

    .venv/bin/python bench/scheduling.py [--seconds 15] [--clients 8]

The year. A hub of 20 members, each with a driver and two design team members (60 people; a
second hub has 5 members), and a school year of meetings (2027-08 to 2028-06): a monthly
network meeting series, a monthly check-in series per member, 30 site visits, a weekly
webinar series, 40 expert sessions of each of 3 experts, and per member the spring testing
window and one to three days with no substitutes. Hubs, members and roles are created through
membership (scheduling learns them from its events, as in use); meetings and blackouts through
scheduling's routes.

Find-a-time. Requests as a facilitator: a window of four weeks somewhere in the year, every
member or five of them, the default roles, one of the experts or none, 60 to 120 minutes;
``--find-clients`` (2) clients for ``--seconds``.

Contended bookings. ``--clients`` (8) clients, half as each hub's facilitator, book 2-hour
sessions of one expert at starts drawn from two weeks of half hours (so most overlap another),
for ``--seconds``: each answer is 201 (booked) or 409 (the expert is busy). Afterwards the
meetings themselves (not the table the constraint guards) are checked for two sessions of the
expert held at overlapping times: ``double_bookings`` must be 0.

Prints figures; its last line is one JSON object: find_a_time_p50_ms, find_a_time_p99_ms,
contended_bookings_per_s (answers per second, 201 and 409), booked, refused,
double_bookings, errors. Target (issue 18): find_a_time_p99_ms < 200.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta

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

SERVICES = ("membership", "scheduling")
ROLE = "consortium_bench"
WEST, EAST = "bench-west", "bench-east"
EXPERTS = [f"{WEST}.exp-{n}" for n in range(1, 4)]
CONTENDED = f"{WEST}.exp-contended"
YEAR = (date(2027, 8, 2), date(2028, 6, 30))


def url(service: str) -> str:
    return f"postgresql://{ROLE}:{DEV_DB_PASSWORD}@localhost:5432/consortium_bench_{service}"


class Api:
    def __init__(self, port: int, bearer: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:
        self.conn.request(method, path, None if body is None else json.dumps(body),
                          self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}

    def ok(self, method: str, path: str, body: object = None) -> dict:
        status, answer = self.call(method, path, body)
        if status not in (200, 201):
            raise SystemExit(f"bench: {method} {path} answered {status}: {answer}")
        return answer


def load(port: int, rng: random.Random) -> list[str]:
    """Hubs, members, people and a year of meetings and blackouts; the west members' ids."""
    admin = Api(port, issue("bench-admin", "admin", ["*"]))
    members: dict[str, list[str]] = {WEST: [], EAST: []}
    for hub, count in ((WEST, 20), (EAST, 5)):
        admin.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} county office",
                                      "state": "CA", "facilitator_org": "Partner"})
        for n in range(count):
            member = admin.ok("POST", f"/v1/hubs/{hub}/members", {
                "id": f"{hub}.m-{n:02d}", "name": f"District {n} of {hub}", "kind": "district",
                "grade_span": "K-8", "enrollment": 50 + 17 * n})["id"]
            members[hub].append(member)
            for role, group in (("driver", None), ("design_team", "teachers"),
                                ("design_team", "principals")):
                person = admin.ok("POST", f"/v1/hubs/{hub}/people", {
                    "name": f"{role} {group or ''} of district {n}"})["id"]
                admin.ok("POST", f"/v1/members/{member}/roles",
                         {"person_id": person, "role": role, "represents": group})
    # Scheduling hears of them from membership's events.
    deadline = time.monotonic() + 60
    while admin.call("POST", f"/v1/hubs/{WEST}/meetings", network_meeting())[0] == 404:
        if time.monotonic() > deadline:
            raise SystemExit("bench: scheduling did not hear of the hub")
        time.sleep(0.5)
    with connect(url("scheduling")) as conn, conn.cursor() as cur:
        while True:
            cur.execute("SELECT count(*) FROM directory_roles WHERE held")
            if cur.fetchone()[0] >= 75 or time.monotonic() > deadline:
                break
            conn.rollback()
            time.sleep(0.5)
    west = members[WEST]
    for n, member in enumerate(west):
        admin.ok("POST", f"/v1/hubs/{WEST}/meetings", {
            "kind": "check_in", "title": f"Check-in {n}", "members": [member],
            "starts_at": f"2027-08-{2 + n % 5:02d}T{9 + n % 6:02d}:00", "minutes": 30,
            "rrule": "FREQ=WEEKLY;INTERVAL=4;COUNT=11"})
    for n in range(30):
        host, *visitors = rng.sample(west, 3)
        day = YEAR[0] + timedelta(days=rng.randrange(300))
        while day.weekday() > 4:
            day += timedelta(days=1)
        admin.ok("POST", f"/v1/hubs/{WEST}/meetings", {
            "kind": "site_visit", "title": f"Site visit {n}", "host_member_id": host,
            "members": visitors, "starts_at": f"{day}T10:00", "minutes": 180})
    admin.ok("POST", f"/v1/hubs/{WEST}/meetings", {
        "kind": "webinar", "title": "Weekly webinar", "starts_at": "2027-08-04T15:30",
        "minutes": 60, "rrule": "FREQ=WEEKLY;COUNT=40"})
    for expert in EXPERTS:
        booked = 0
        while booked < 40:
            day = YEAR[0] + timedelta(days=rng.randrange(320))
            if day.weekday() > 4:
                continue
            status, _ = admin.call("POST", f"/v1/hubs/{WEST}/meetings", {
                "kind": "expert_session", "title": "Coaching", "expert_id": expert,
                "engagement_id": f"{WEST}.eng-{expert[-1]}", "members": rng.sample(west, 4),
                "starts_at": f"{day}T{rng.choice((9, 13))}:00", "minutes": 120})
            booked += status == 201
    for member in west:
        admin.ok("POST", f"/v1/members/{member}/blackouts", {
            "starts_on": "2028-04-17", "ends_on": "2028-05-05",
            "reason": "state testing window"})
        for _ in range(rng.randrange(1, 4)):
            day = YEAR[0] + timedelta(days=rng.randrange(320))
            admin.ok("POST", f"/v1/members/{member}/blackouts", {
                "starts_on": str(day), "ends_on": str(day), "reason": "no substitutes"})
    return west


def network_meeting() -> dict:
    return {"kind": "network_meeting", "title": "Network meeting", "starts_at":
            "2027-08-12T09:00", "minutes": 150, "rrule": "FREQ=MONTHLY;BYDAY=2TH;COUNT=11"}


def find_a_time_load(port: int, west: list[str], clients: int, seconds: float,
                     seed: int) -> tuple[list[float], int]:
    bearer = issue("bench-west-facilitator", "facilitator", [WEST])
    times: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(i: int, stop: threading.Event) -> None:
        api = Api(port, bearer)
        rng = random.Random(seed + i)
        while not stop.is_set():
            first = YEAR[0] + timedelta(days=rng.randrange(300))
            body = {"from": str(first), "to": str(first + timedelta(days=27)),
                    "minutes": rng.choice((60, 90, 120)), "limit": 10}
            if rng.random() < 0.5:
                body["members"] = rng.sample(west, 5)
            if rng.random() < 0.6:
                body["expert_id"] = rng.choice(EXPERTS)
            started = time.perf_counter()
            status, _ = api.call("POST", f"/v1/hubs/{WEST}/find-a-time", body)
            times[i].append((time.perf_counter() - started) * 1000)
            errors[i] += status != 200

    for_seconds(clients, seconds, client)
    return [ms for ts in times for ms in ts], sum(errors)


def contended_load(port: int, clients: int, seconds: float, seed: int) -> dict[str, int]:
    tokens = {WEST: issue("bench-west-f", "facilitator", [WEST]),
              EAST: issue("bench-east-f", "facilitator", [EAST])}
    counts = [{"booked": 0, "refused": 0, "errors": 0} for _ in range(clients)]
    starts = [datetime(2028, 7, 3, 8) + timedelta(minutes=30 * n) for n in range(14 * 20)]

    def client(i: int, stop: threading.Event) -> None:
        hub = WEST if i % 2 else EAST
        api = Api(port, tokens[hub])
        rng = random.Random(seed + 100 + i)
        while not stop.is_set():
            start = rng.choice(starts)
            status, _ = api.call("POST", f"/v1/hubs/{hub}/meetings", {
                "kind": "expert_session", "title": "Contended", "expert_id": CONTENDED,
                "engagement_id": f"{hub}.eng-c", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "minutes": 120})
            key = {201: "booked", 409: "refused"}.get(status, "errors")
            counts[i][key] += 1

    for_seconds(clients, seconds, client)
    return {k: sum(c[k] for c in counts) for k in ("booked", "refused", "errors")}


def double_bookings() -> int:
    """Pairs of sessions of the contended expert, held at once, read from the meetings."""
    with connect(url("scheduling")) as conn, conn.cursor() as cur:
        cur.execute("""SELECT count(*) FROM meetings_view a JOIN meetings_view b
                         ON a.expert_id = b.expert_id AND a.id < b.id
                        AND tstzrange(a.first_start, a.last_end)
                            && tstzrange(b.first_start, b.last_end)
                      WHERE a.expert_id = %s AND a.status = 'scheduled'
                        AND b.status = 'scheduled'
                        AND a.session IN ('requested', 'confirmed')
                        AND b.session IN ('requested', 'confirmed')""", (CONTENDED,))
        return int(cur.fetchone()[0])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0, help="per measured phase")
    parser.add_argument("--clients", type=int, default=8, help="contended bookings")
    parser.add_argument("--find-clients", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    for service in SERVICES:
        drop_database(f"consortium_bench_{service}")
        ensure_database(f"consortium_bench_{service}", ROLE, DEV_DB_PASSWORD)
    vhost = f"consortium-bench-scheduling-{os.getpid()}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    amqp = f"pyamqp://guest:guest@localhost:5672/{vhost}"
    http_port = free_port()
    specs = platform_specs("bench-scheduling", SERVICES, url, amqp, http_port)
    try:
        with contextlib.redirect_stdout(sys.stderr):   # the JSON line ends standard output
            for spec in specs:
                runner.start(spec)
            if not runner.wait_healthy(specs, timeout=90):
                return 1
        print("  loading a hub's year of meetings", file=sys.stderr)
        started = time.perf_counter()
        west = load(http_port, rng)
        with connect(url("scheduling")) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM meetings_view")
            meetings = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM blackouts_view")
            blackouts = cur.fetchone()[0]
        print(f"loaded {meetings} meetings and {blackouts} blackouts in "
              f"{time.perf_counter() - started:.1f} s")
        find_a_time_load(http_port, west, args.find_clients, 2.0, args.seed)   # warm
        found, find_errors = find_a_time_load(http_port, west, args.find_clients, args.seconds,
                                              args.seed + 1)
        p50, p99 = percentile(found, 0.5), percentile(found, 0.99)
        print(f"find-a-time, {args.find_clients} clients: {len(found) / args.seconds:.1f}/s "
              f"p50 {p50:.1f} ms p99 {p99:.1f} ms errors {find_errors}")
        contended = contended_load(http_port, args.clients, args.seconds, args.seed)
        doubled = double_bookings()
        per_s = (contended["booked"] + contended["refused"]) / args.seconds
        print(f"contended bookings, {args.clients} clients of two hubs: {per_s:.1f} answers/s, "
              f"{contended['booked']} booked, {contended['refused']} refused (409), "
              f"{contended['errors']} other; double bookings {doubled}")
        print(f"target: find_a_time_p99_ms {p99:.1f} < 200: {'met' if p99 < 200 else 'MISSED'}")
        print(json.dumps({
            "find_a_time_p50_ms": round(p50, 1), "find_a_time_p99_ms": round(p99, 1),
            "find_a_time_per_s": round(len(found) / args.seconds, 1),
            "contended_bookings_per_s": round(per_s, 1), "booked": contended["booked"],
            "refused": contended["refused"], "double_bookings": doubled,
            "errors": find_errors + contended["errors"], "meetings": meetings,
            "blackouts": blackouts}))
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
