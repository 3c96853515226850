"""The operator's routes (issue 19): every service's dead letters listed with why each was
parked, one inspected, one or all replayed; a projection rebuild started and followed to its
end; relay, consumer and projection lag of every service in one answer; and the record of every
operator action, taken through the routes or the CLI. Real services; the gateway fans out."""

from __future__ import annotations

import kombu
import pytest

from tests.integration.http import ADMIN, token
from tests.support import cli, wait_until

OPERATOR = token("operator", sub="ops-marta")
QUEUE = "evt-membership-MemberEnrolled--cycles.on_member_enrolled"


@pytest.fixture(scope="module")
def parked(platform):
    """Two messages cycles cannot read, parked as its dead letters."""
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": "ops-hub", "name": "Ops county office",
                                   "state": "CA", "facilitator_org": "Partner"})
    with kombu.Connection(platform["amqp"]) as conn:
        for body in (b"{not json", b"{still not json"):
            kombu.Producer(conn.channel()).publish(
                body, exchange="", routing_key=QUEUE, content_type="application/json",
                content_encoding="utf-8")

    def letters():
        page = client.ok("GET", "/v1/dead-letters?service=cycles", token=OPERATOR)
        found = [d for d in page["items"] if d["reason"].startswith("undecodable")]
        return found if len(found) == 2 else None
    return wait_until(letters, what="cycles to park two dead letters")


def test_dead_letters_of_every_service_with_why_each_was_parked(platform, parked):
    client = platform["client"]
    page = client.ok("GET", "/v1/dead-letters", token=OPERATOR)
    assert page["unreachable"] == []
    ids = {d["id"] for d in page["items"]}
    assert {d["id"] for d in parked} <= ids
    letter = parked[0]
    assert letter["service"] == "cycles" and letter["queue"] == QUEUE
    assert letter["id"].startswith("cycles-") and "body" not in letter
    shown = client.ok("GET", f"/v1/dead-letters/{letter['id']}", token=OPERATOR)
    assert shown["body"] in ("{not json", "{still not json") and shown["reason"] == \
        letter["reason"]
    # Only an operator or the admin; an unknown id, another service's number, no number.
    for who in (token("facilitator", ["ops-hub"]), token("agency", state="CA")):
        assert client.request("GET", "/v1/dead-letters", token=who)[0] == 403
    assert client.request("GET", "/v1/dead-letters", token=ADMIN)[0] == 200
    for unknown in ("cycles-987654", "billing-1", "cycles-x", "cycles", "-1"):
        assert client.request("GET", f"/v1/dead-letters/{unknown}", token=OPERATOR)[0] == 404
    status, _, refused = client.request("GET", "/v1/dead-letters?service=billing",
                                        token=OPERATOR)
    assert status == 422 and "service" in refused["errors"]


def test_one_letter_replayed_then_all_and_each_action_recorded(platform, parked):
    client = platform["client"]
    first, second = (d["id"] for d in parked)
    assert client.ok("POST", f"/v1/dead-letters/{first}/replay", token=OPERATOR) == {
        "id": first, "replayed": True}
    shown = client.ok("GET", f"/v1/dead-letters/{first}", token=OPERATOR)
    assert shown["replays"] == 1 and shown["replayed_at"]
    waiting = {d["id"] for d in client.ok("GET", "/v1/dead-letters?service=cycles",
                                          token=OPERATOR)["items"]}
    assert first not in waiting and second in waiting
    replayed = client.ok("POST", "/v1/dead-letters/replay", {"service": "cycles"},
                         token=OPERATOR)
    assert second in replayed["replayed"] and replayed["unreachable"] == []
    actions = client.ok("GET", "/v1/operator-actions?service=cycles", token=OPERATOR)["items"]
    mine = [(a["action"], a["target"], a["outcome"]) for a in actions
            if a["actor"] == "ops-marta"]
    assert ("dead-letter.replay", first, "done") in mine
    assert ("dead-letter.replay", second, "done") in mine
    assert all(a["role"] == "operator" and a["at"] for a in actions if a["actor"] == "ops-marta")


def test_the_cli_keeps_working_and_is_recorded_too(platform, parked):
    cycles = platform["services"]["cycles"]
    output = cli("dead-letters", "list", "--all", "--service", "cycles",
                 "--database-url", cycles.database_url, "--amqp-uri", platform["amqp"])
    number = parked[0]["id"].split("-")[1]
    assert f'"id": {number},' in output
    cli("dead-letters", "replay", number, "--service", "cycles",
        "--database-url", cycles.database_url, "--amqp-uri", platform["amqp"])
    actions = platform["client"].ok("GET", "/v1/operator-actions", token=OPERATOR)["items"]
    assert [a for a in actions if a["actor"].startswith("cli:")
            and a["target"] == parked[0]["id"] and a["outcome"] == "done"]


def test_a_rebuild_is_started_followed_to_its_end_and_recorded(platform, parked):
    client = platform["client"]
    started = client.ok("POST", "/v1/rebuilds", {"service": "membership"}, token=OPERATOR,
                        expect=(202,))
    assert started["service"] == "membership" and started["status"] in ("running", "done")
    assert started["total"] > 0 and started["started_by"] == "ops-marta"

    def finished():
        found = client.ok("GET", f"/v1/rebuilds/{started['id']}", token=OPERATOR)
        return found if found["status"] != "running" else None
    done = wait_until(finished, timeout=60, what="the rebuild to end")
    assert done["status"] == "done" and done["percent"] == 100.0
    assert done["replayed"] >= started["total"] and done["finished_at"]
    # The read models answer as before.
    assert client.ok("GET", "/v1/hubs/ops-hub", token=ADMIN)["name"] == "Ops county office"
    # A projection the service does not have, a service that does not exist: 422, recorded.
    status, _, refused = client.request("POST", "/v1/rebuilds", {
        "service": "membership", "projections": ["no_such_view"]}, token=OPERATOR)
    assert status == 422 and "projections" in refused["errors"]
    status, _, refused = client.request("POST", "/v1/rebuilds", {"service": "billing"},
                                        token=OPERATOR)
    assert status == 422 and "service" in refused["errors"]
    assert client.request("GET", "/v1/rebuilds/membership-987654", token=OPERATOR)[0] == 404
    assert client.request("POST", "/v1/rebuilds", {"service": "membership"},
                          token=token("facilitator", ["ops-hub"]))[0] == 403
    actions = client.ok("GET", "/v1/operator-actions?service=membership",
                        token=OPERATOR)["items"]
    outcomes = {(a["action"], a["outcome"]) for a in actions if a["actor"] == "ops-marta"}
    assert {("projections.rebuild", "started"), ("projections.rebuild", "done"),
            ("projections.rebuild", "refused")} <= outcomes


def test_the_lag_of_every_service_in_one_answer(platform, parked):
    client = platform["client"]
    lag = client.ok("GET", "/v1/operations/lag", token=OPERATOR)
    assert lag["unreachable"] == []
    by_service = {s["service"]: s for s in lag["services"]}
    assert set(by_service) == {"membership", "cycles", "resources", "scheduling"}
    assert QUEUE in by_service["cycles"]["consumer_lag_messages"]
    assert "membership" in by_service["cycles"]["catch_up_positions"]
    for service in by_service.values():
        assert service["relay_lag_events"] >= 0 and service["log_held_back"]["events"] >= 0
    assert client.request("GET", "/v1/operations/lag",
                          token=token("facilitator", ["ops-hub"]))[0] == 403
