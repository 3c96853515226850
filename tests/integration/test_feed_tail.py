"""An agency tails the feed while 8 writers create events in every service at once (two each in
membership, resources, cycles and scheduling), and a service is killed and restarted in the
middle: every public event arrives exactly once, each writer's in the order it wrote them, and
a reader restarted from a saved cursor resumes exactly (issue 19). A module of its own: it
kills a service."""

from __future__ import annotations

import threading
import time

from tests.integration.conftest import start_service
from tests.integration.http import token
from tests.support import query, wait_until

HUB = "tail-ca"
WRITERS = 8
WRITES = 6


def test_a_tailing_reader_gets_every_public_event_once_through_writes_and_a_restart(platform):
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": HUB, "name": "Tail County Office", "state": "CA",
                                   "facilitator_org": "Partner"})
    for service in ("resources", "cycles", "scheduling"):
        wait_until(lambda s=service: query(
            platform["databases"][s], "SELECT count(*) FROM directory_hubs WHERE id = %s "
            "AND name IS NOT NULL", (HUB,))[0][0] == 1, what=f"{service} to hear of the hub")
    facilitator = token("facilitator", [HUB])
    expert = client.ok("POST", "/v1/experts", {
        "hub_id": HUB, "name": "Dr. Tail", "organisation": "Coaching", "bio": "b",
        "expertise": ["math"], "rate_cents": 1000, "travels": False, "travel_cost_cents": 0,
        "sharing": "consortium"}, token=facilitator)["id"]
    wait_until(lambda: query(platform["databases"]["scheduling"],
                             "SELECT count(*) FROM experts_known WHERE id = %s",
                             (expert,))[0][0] == 1, what="scheduling to hear of the expert")
    agency = token("agency", [], state="CA", sub="tail-reader")
    expected: dict[str, list[str]] = {}   # writer -> subjects in the order written
    done = threading.Event()

    def write(n: int) -> None:
        mine = expected.setdefault(f"w{n}", [])
        for k in range(WRITES):
            if n % 4 == 1:   # membership
                status, _, answer = client.request("POST", f"/v1/hubs/{HUB}/members", {
                    "id": f"{HUB}.m-{n}-{k}", "name": f"District {n}-{k}", "kind": "district",
                    "grade_span": "K-8", "enrollment": 100 + k})
            elif n % 4 == 0:   # resources
                status, _, answer = client.request("POST", "/v1/experts", {
                    "id": f"{HUB}.x-{n}-{k}", "hub_id": HUB, "name": f"Expert {n}-{k}",
                    "organisation": "Coaching", "bio": "b", "expertise": ["math"],
                    "rate_cents": 1000, "travels": False, "travel_cost_cents": 0,
                    "sharing": "consortium"}, token=facilitator)
            elif n % 4 == 2:   # cycles
                status, _, answer = client.request("POST", f"/v1/hubs/{HUB}/problems", {
                    "title": f"Problem {n}-{k}", "statement": "s",
                    "supporting_data": [{"source": "CAASPP", "finding": "f"}],
                    "selection_criteria": ["shared"]}, token=facilitator)
            else:              # scheduling: a session of the shared expert, each at its time
                status, _, answer = client.request("POST", f"/v1/hubs/{HUB}/meetings", {
                    "kind": "expert_session", "title": "Session", "expert_id": expert,
                    "engagement_id": f"{HUB}.engagement", "minutes": 60,
                    "starts_at": f"2027-03-{1 + k:02d}T{8 + n:02d}:00"}, token=facilitator)
            if status == 201:
                mine.append(answer["id"])
            # 503 while membership is down: not applied, the writer goes on.

    seen: list[dict] = []
    cursors: list[tuple[str, int]] = []   # each `next`, and how many events came before it

    def tail() -> None:
        after = None
        while True:
            params = f"limit=7&wait=1{f'&after={after}' if after else ''}"
            status, _, page = client.request("GET", f"/v1/feed?{params}", token=agency)
            if status == 503:
                time.sleep(0.2)     # a service is down: the same cursor again
                continue
            assert status == 200, page
            seen.extend(page["items"])
            after = page["next"]
            cursors.append((after, len(seen)))
            if done.is_set() and not page["items"]:
                return

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for w in writers:
        w.start()
    time.sleep(1.0)
    platform["services"]["membership"].kill()
    platform["services"]["membership"] = start_service(
        "membership", platform["databases"]["membership"], platform["amqp"])
    for w in writers:
        w.join()
    done.set()
    reader.join(timeout=120)
    assert not reader.is_alive()

    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)), "an event came twice"
    experts = sum(len(written) for w, written in expected.items() if int(w[1:]) % 4 == 0)
    added = [e for e in seen if e["type"].endswith("ExpertAdded") and e.get("hub") == HUB]
    assert len(added) == experts + 1 and experts > 0   # and the one the sessions are of
    # Every member, problem and session request written, in the order each writer wrote
    # them (an expert's is no subject: an expert is a person).
    recorded = {1: "MemberEnrolled", 2: "ProblemDrafted", 3: "ExpertSessionRequested"}
    for writer, written in expected.items():
        if int(writer[1:]) % 4:
            assert written, f"{writer} wrote nothing"
            kind = recorded[int(writer[1:]) % 4]
            assert [e["subject"] for e in seen if e["type"].endswith(kind)
                    and e.get("subject") in written] == written, writer
    assert {e["source"].rsplit(":", 1)[1] for e in seen} == {
        "membership", "resources", "cycles", "scheduling"}

    # A reader restarted from a cursor it saved resumes exactly there.
    after, before = next(c for c in cursors if c[1] >= len(ids) // 2)
    resumed: list[dict] = []
    while True:
        page = client.ok("GET", f"/v1/feed?limit=50&after={after}", token=agency)
        resumed += page["items"]
        after = page["next"]
        if not page["items"]:
            break
    # The same events, each service's in the same order (how services interleave depends on
    # the pages' sizes: only each service's order is the feed's promise).
    assert resumed and sorted(e["id"] for e in resumed) == sorted(ids[before:])
    for source in {e["source"] for e in seen}:
        assert [e["id"] for e in resumed if e["source"] == source] == \
            [e["id"] for e in seen[before:] if e["source"] == source], source
