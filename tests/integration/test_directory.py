"""Membership's directory and personal data in a service that includes them, as resources and
scheduling will: the budget fixture (tests/fixtures/budget) started after a hub's news
happened reads membership's log from the beginning into its directory (the hub's time zone,
members' enrollment, people's roles, an off-boarding and an erasure), keeps it current from
live news, and keeps a budget officer's name and email as personal data that erasure removes
from every table, the answer kept for an Idempotency-Key included. Real `nameko run`
processes, real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import uuid

import pytest

from eventstore.context import IDEMPOTENCY_KEY
from eventstore.identity import Identity
from eventstore.personal import tables_holding
from tests.integration.http import token
from tests.support import ServiceProcess, wait_until

HUB = "directory-hub"


@pytest.fixture(scope="module")
def hub(platform):
    """A hub in Montana (no zone named: its state's main zone) with three members; roles given,
    one member off-boarded, one person erased; all before the budget service exists."""
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": HUB, "name": "Big Sky County", "state": "MT",
                                   "facilitator_org": "Partner nonprofit"})
    facilitator = token("facilitator", [HUB], sub="fran")

    def enroll(name, enrollment):
        return client.ok("POST", f"/v1/hubs/{HUB}/members", {
            "name": name, "kind": "district", "grade_span": "K-8",
            "enrollment": enrollment}, token=facilitator)["id"]

    def person(name):
        return client.ok("POST", f"/v1/hubs/{HUB}/people", {"name": name},
                         token=facilitator)["id"]

    def give(member, person_id, role, represents=None):
        client.ok("POST", f"/v1/members/{member}/roles",
                  {"person_id": person_id, "role": role, "represents": represents},
                  token=facilitator)

    ids = {"big": enroll("Big Timber", 2500), "small": enroll("Reed Point", 1200)}
    ids.update(ana=person("Ana"), bo=person("Bo"))
    give(ids["big"], ids["ana"], "driver")
    give(ids["big"], ids["bo"], "design_team", "teachers")
    give(ids["small"], ids["ana"], "sponsor")
    client.ok("POST", f"/v1/members/{ids['small']}/offboarding", {"reason": "consolidated"},
              token=facilitator)
    client.ok("DELETE", f"/v1/people/{ids['bo']}", token=facilitator)
    return {**ids, "client": client, "facilitator": facilitator}


@pytest.fixture(scope="module")
def budget(platform, hub, new_database):
    database = new_database()
    process = ServiceProcess("budget", "tests.fixtures.budget.service:BudgetService", database,
                             platform["amqp"])
    yield process, database
    process.stop()


def directory(budget):
    try:
        return budget.rpc("hub_directory", HUB)
    except Exception:  # noqa: BLE001 - NotFound until the catch-up reaches the hub
        return None


def test_a_new_service_reads_membership_from_the_beginning_into_its_directory(hub, budget):
    process, _ = budget
    wait_until(lambda: (directory(process) or {}).get("roles") == [
        {"member_id": hub["big"], "person_id": hub["ana"], "role": "driver",
         "represents": None}], what="the budget's directory to catch up")
    known = directory(process)
    assert (known["name"], known["state"], known["time_zone"], known["stage"]) == (
        "Big Sky County", "MT", "America/Denver", "external")
    members = {m["id"]: m for m in known["members"]}
    assert members[hub["big"]] == {"id": hub["big"], "name": "Big Timber", "kind": "district",
                                   "enrollment": 2500, "active": True, "ready": False}
    # Off-boarded: inactive, its sponsor's role ended with it; Bo's role ended at erasure.
    assert members[hub["small"]]["active"] is False
    # Only the active member's students count: 6 hours + 1 per 1000 students.
    assert known["allowance"] == 8


def test_live_news_keeps_the_directory_current(hub, budget):
    process, _ = budget
    wait_until(lambda: directory(process) is not None, what="the budget to know the hub")
    client, facilitator = hub["client"], hub["facilitator"]
    newcomer = client.ok("POST", f"/v1/hubs/{HUB}/members", {
        "name": "Absarokee", "kind": "district", "grade_span": "K-12", "enrollment": 1000},
        token=facilitator)["id"]
    client.ok("POST", f"/v1/members/{newcomer}/roles",
              {"person_id": hub["ana"], "role": "driver"}, token=facilitator)
    wait_until(lambda: directory(process)["allowance"] == 9, what="the new member's students")
    wait_until(lambda: {"member_id": newcomer, "person_id": hub["ana"], "role": "driver",
                        "represents": None} in directory(process)["roles"],
               what="the new member's driver")
    # Another hub's facilitator learns nothing of this hub from the budget service.
    other = Identity(sub="x", role="facilitator", hubs=("another-hub",))
    with pytest.raises(Exception, match=f"no hub {HUB}"):
        process.rpc("hub_directory", HUB, caller=other)


def test_erasure_of_personal_data_leaves_it_in_no_table(hub, budget):
    process, database = budget
    wait_until(lambda: directory(process) is not None, what="the budget to know the hub")
    name, email = f"Olive {uuid.uuid4().hex[:6]}", "olive@bigsky.example.org"
    appoint = {"name": name, "email": email}
    key = {IDEMPOTENCY_KEY: "appoint-olive"}
    officer = process.rpc("appoint_officer", HUB, appoint, context=key)
    assert (officer["name"], officer["email"], officer["erased"]) == (name, email, False)
    assert process.rpc("get_officer", officer["id"])["name"] == name
    assert tables_holding(database, name, email) == {"budget_officers": 1,
                                                     "idempotency_keys": 1}

    erased = process.rpc("erase_officer", officer["id"], None)
    assert (erased["name"], erased["email"], erased["erased"]) == (None, None, True)
    assert tables_holding(database, name, email) == {}
    # The request that appointed her, replayed under its key, answers without her data.
    replayed = process.rpc("appoint_officer", HUB, appoint, context=key)
    assert replayed["id"] == officer["id"]
    assert (replayed["name"], replayed["email"], replayed["erased"]) == (None, None, True)
    assert tables_holding(database, name, email) == {}
