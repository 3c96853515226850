"""The fault run, as part of the suite: steady writes through the gateway while a service is
killed, the broker's app restarts, or a poison message arrives; then every acknowledged write
is readable, every consumer has converged, and nothing happened twice. Real processes, real
PostgreSQL and RabbitMQ; the client retries what was not answered with the same
Idempotency-Key, as county offices' clients do."""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.error

import kombu
import pytest

from tests.integration.conftest import start_service
from tests.integration.http import token
from tests.support import query, wait_until


@pytest.fixture(scope="module")
def platform(impatient_platform):
    return impatient_platform


class Writer(threading.Thread):
    """A county office entering districts and problems of practice, one after another; a
    request that was not answered (503, no connection) is sent again with its key."""

    def __init__(self, client, hub, facilitator, label):
        super().__init__(daemon=True)
        self.client, self.hub, self.token, self.label = client, hub, facilitator, label
        self.acknowledged: dict[str, str] = {}      # key -> id of what was written
        self.failures = 0
        self.unexpected: list = []
        self.retry_after: list = []      # what each 503 told the client to wait
        self.stopping = threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            if n % 2 == 0:
                path, body = f"/v1/hubs/{self.hub}/members", {
                    "name": f"{self.label} district {n}", "kind": "district",
                    "grade_span": "K-8", "enrollment": 100 + n}
            else:
                path, body = f"/v1/hubs/{self.hub}/problems", {
                    "title": f"{self.label} problem {n}", "statement": "chronic absence",
                    "supporting_data": [{"source": "DataQuest", "finding": "rising"}],
                    "selection_criteria": ["shared"]}
            self.write(path, body, f"{self.label}-{n}")
            n += 1

    def write(self, path, body, key):
        for _ in range(200):    # a client gives up after a minute or so
            try:
                status, headers, answer = self.client.request(
                    "POST", path, body, token=self.token, headers={"Idempotency-Key": key})
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status, headers, answer = 0, {}, None
            if status == 503:
                self.retry_after.append(headers.get("retry-after"))
            if status == 201:
                self.acknowledged[key] = answer["id"]
                return
            if status not in (0, 503):
                self.unexpected.append((status, answer))
                return
            self.failures += 1
            time.sleep(0.2)   # the client's back-off between retries

    def members(self):
        return {i for k, i in self.acknowledged.items() if int(k.rsplit("-", 1)[1]) % 2 == 0}

    def problems(self):
        return {i for k, i in self.acknowledged.items() if int(k.rsplit("-", 1)[1]) % 2 == 1}


def new_hub(platform, hub):
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} office", "state": "CA",
                                   "facilitator_org": "Partner"})
    wait_until(lambda: client.request("GET", f"/v1/hubs/{hub}/problems")[0] == 200,
               what="cycles to hear of the hub")
    return token("facilitator", [hub])


def through_a_fault(platform, hub, fault, recover=lambda: None,
                    felt=lambda writer: writer.failures > 0):
    """Writes before, during and after a fault; the writer's record of what was answered."""
    facilitator = new_hub(platform, hub)
    writer = Writer(platform["client"], hub, facilitator, hub)
    writer.start()
    try:
        wait_until(lambda: len(writer.acknowledged) >= 6, timeout=60, what="writes before")
        fault()
        wait_until(lambda: felt(writer), timeout=60, what="the fault to be felt")
        recover()
        after = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) >= after + 6, timeout=90,
                   what="writes after recovery")
    finally:
        writer.stopping.set()
        writer.join(90)
    assert not writer.is_alive()
    assert writer.unexpected == []   # only 503s (or no connection), never a 500
    assert all(wait and int(wait) > 0 for wait in writer.retry_after), writer.retry_after
    return writer


def assert_converged(platform, hub, writer):
    client, databases = platform["client"], platform["databases"]
    members, problems = writer.members(), writer.problems()
    # Every acknowledged write is readable, and nothing was written twice.
    listed = {m["id"] for m in client.ok("GET", f"/v1/hubs/{hub}/members?limit=200")["items"]}
    assert listed == members
    listed = {p["id"] for p in client.ok("GET", f"/v1/hubs/{hub}/problems?limit=200")["items"]}
    assert listed == problems
    assert query(databases["membership"], """SELECT count(*), count(DISTINCT stream_id) FROM events
                                            WHERE type = 'MemberEnrolled' AND hub_id = %s""",
                 (hub,)) == [(len(members), len(members))]
    assert query(databases["cycles"], """SELECT count(*), count(DISTINCT stream_id) FROM events
                                        WHERE type = 'ProblemDrafted' AND hub_id = %s""",
                 (hub,)) == [(len(problems), len(problems))]
    # Every consumer converged: cycles knows exactly the members membership acknowledged.
    wait_until(lambda: {r[0] for r in query(databases["cycles"],
                                            "SELECT id FROM directory_members "
                                            "WHERE hub_id = %s AND name IS NOT NULL",
                                            (hub,))} == members,
               timeout=60, what="cycles to know every acknowledged member")


def restart(platform, name):
    service = platform["services"][name]
    if service.alive():
        service.kill()
    platform["services"][name] = start_service(name, platform["databases"][name],
                                               platform["amqp"])


@pytest.mark.parametrize("name", ["membership", "cycles"])
def test_kill_9_of_a_service_loses_no_acknowledged_write_and_doubles_none(platform, name):
    hub = f"kill-{name}"
    writer = through_a_fault(platform, hub, lambda: platform["services"][name].kill(),
                             lambda: restart(platform, name))
    assert_converged(platform, hub, writer)


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


def test_a_broker_restart_loses_no_acknowledged_write_and_doubles_none(platform):
    hub = "broker-restart"
    stopped = []

    def stop():
        rabbitmqctl("stop_app")
        stopped.append(True)

    try:
        writer = through_a_fault(platform, hub, stop, lambda: rabbitmqctl("start_app"))
    finally:
        if stopped:
            subprocess.run(["rabbitmqctl", "-q", "start_app"], capture_output=True,
                           timeout=120)
    assert writer.retry_after, "the outage was answered 503 with Retry-After"
    assert_converged(platform, hub, writer)
    _, _, text = platform["client"].request("GET", "/metrics")
    assert any(line.startswith("gateway_http_requests_total{") and 'status="503"' in line
               for line in text.splitlines())


def test_a_poison_message_is_parked_and_the_rest_goes_on(platform):
    hub = "poisoned"
    queue = "evt-membership-MemberEnrolled--cycles.on_member_enrolled"

    def poison():
        with kombu.Connection(platform["amqp"]) as conn:
            kombu.Producer(conn.channel()).publish(
                b"{not json", exchange="", routing_key=queue,
                content_type="application/json", content_encoding="utf-8")

    def parked(_):
        return [d for d in platform["services"]["cycles"].rpc("dead_letters")
                if d["reason"].startswith("undecodable")]

    writer = through_a_fault(platform, hub, poison, felt=parked)
    assert parked(writer)[0]["queue"] == queue
    assert_converged(platform, hub, writer)
