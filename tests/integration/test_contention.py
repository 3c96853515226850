"""Contention on one object queues, it does not fail: sixteen staff of a county office give
roles on one district at once, on a machine whose cores are busy, and every write is applied
with no 409 and without the retry loop (a command that asked for no concurrency check waits for
its turn on its target: eventstore/commands.py)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.integration.http import token

WRITERS = 16
ROUNDS = 5


def test_sixteen_writers_on_one_member_under_load_all_get_through(platform):
    client, membership = platform["client"], platform["membership"]
    client.ok("POST", "/v1/hubs", {"id": "busy", "name": "Busy County Office", "state": "CA",
                                   "facilitator_org": "Partner"})
    writers = [token("facilitator", ["busy"], sub=f"staff-{n}") for n in range(WRITERS)]
    member = client.ok("POST", "/v1/hubs/busy/members", {
        "name": "Placerville Union", "kind": "district", "grade_span": "K-8",
        "enrollment": 1293}, token=writers[0])
    people = [client.ok("POST", "/v1/hubs/busy/people", {"name": f"Teacher {n}"},
                        token=writers[0])["id"] for n in range(WRITERS * ROUNDS)]
    retries = 'eventstore_command_retries_total{service="membership"}'
    before = membership.metric(retries)

    def give_roles(n):
        return [client.request("POST", f"/v1/members/{member['id']}/roles",
                               {"person_id": people[n * ROUNDS + r], "role": "design_team",
                                "represents": "teachers"}, token=writers[n])[0]
                for r in range(ROUNDS)]

    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(2)]
    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = [s for batch in pool.map(give_roles, range(WRITERS)) for s in batch]
    finally:
        for burner in burners:
            burner.kill()
    assert statuses == [200] * (WRITERS * ROUNDS)
    roles = client.ok("GET", f"/v1/members/{member['id']}", token=writers[0])["roles"]
    assert sorted(r["person_id"] for r in roles) == sorted(people)
    # Queued, not retried: no command was decided twice.
    assert membership.metric(retries) == before
