"""Units of work against a real PostgreSQL: commands and handled events, each one transaction."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime

import pytest

from eventstore.commands import UnitOfWork, fingerprint, scoped_key
from eventstore.errors import Conflict, NotFound, PreconditionFailed
from eventstore.events import RecordedEvent
from eventstore.identity import SYSTEM, Identity, hub_writers
from tests.unit.test_aggregate import Roster

FACILITATOR_A = Identity(sub="f-1", role="facilitator", hubs=("hub-a",))


@pytest.fixture
def work(db, store):
    return UnitOfWork(db, store, [])


def opened(work, roster_id="r-1", caller=SYSTEM):
    def open_(_, session):
        roster = session.create(Roster, roster_id)
        roster.open("hub-a")
        return roster
    return work.command(caller, lambda session: None, open_, lambda r, s: {"version": r.version})


def add(work, person, caller=SYSTEM, key=None, expected_version=None, roster_id="r-1"):
    def locate(session):
        roster = session.load(Roster, roster_id)
        hub_writers(session.caller, roster)
        return roster
    return work.command(caller, locate, lambda roster, session: roster.add(person, "driver"),
                        lambda result, session: {"people": sorted(session.load(
                            Roster, roster_id).people), "person": person},
                        key=key, request=["add", person], expected_version=expected_version)


def test_eight_concurrent_writers_of_one_stream_all_succeed_without_if_match(work, store):
    opened(work)
    barrier = threading.Barrier(8)
    answers, errors = [], []

    def writer(n):
        barrier.wait()
        try:
            answers.append(add(work, f"p-{n}"))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(answers) == 8
    assert store.stream_version("r-1") == 9
    assert sorted(e.data["person"] for e in store.read_stream("r-1")[1:]) == \
        [f"p-{n}" for n in range(8)]


def test_with_if_match_a_stale_version_is_412_and_nothing_is_written(work, store):
    opened(work)
    add(work, "p-1", expected_version=1)
    with pytest.raises(PreconditionFailed) as stale:
        add(work, "p-2", expected_version=1)
    assert stale.value.extra["current_version"] == 2
    assert store.stream_version("r-1") == 2


def test_a_retried_decision_that_is_refused_is_the_answer(work, store):
    opened(work)
    add(work, "p-1")

    def add_sponsor(roster, session):
        roster.add("p-9", "sponsor")

    work.command(SYSTEM, lambda s: s.load(Roster, "r-1"), add_sponsor, lambda r, s: None)
    with pytest.raises(Conflict, match="one sponsor"):
        work.command(SYSTEM, lambda s: s.load(Roster, "r-1"), add_sponsor, lambda r, s: None)


def test_an_idempotency_key_answers_as_the_first_time_and_writes_once(work, store):
    opened(work)
    first = add(work, "p-1", caller=FACILITATOR_A, key="k-1")
    again = add(work, "p-1", caller=FACILITATOR_A, key="k-1")
    assert again == first and store.stream_version("r-1") == 2


def test_an_idempotency_key_with_another_request_is_refused_and_writes_nothing(work, store):
    from eventstore.errors import IdempotencyKeyReused
    opened(work)
    add(work, "p-1", caller=FACILITATOR_A, key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        add(work, "p-2", caller=FACILITATOR_A, key="k-1")
    assert store.stream_version("r-1") == 2


def test_concurrent_requests_with_one_key_apply_once_and_answer_alike(work, store):
    opened(work)
    barrier = threading.Barrier(6)
    answers = []

    def attempt():
        barrier.wait()
        answers.append(add(work, "p-7", caller=FACILITATOR_A, key="k-7"))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 6 and all(a == answers[0] for a in answers)
    assert store.stream_version("r-1") == 2


def test_a_refused_command_records_no_key(work, store):
    opened(work)
    work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                 lambda roster, s: roster.add("s-1", "sponsor"), lambda r, s: None)
    with pytest.raises(Conflict):
        work.command(FACILITATOR_A, lambda s: s.load(Roster, "r-1"),
                     lambda roster, s: roster.add("s-2", "sponsor"), lambda r, s: None,
                     key="k-8", request=["sponsor"])
    assert add(work, "p-8", caller=FACILITATOR_A, key="k-8")["person"] == "p-8"


def test_access_is_checked_before_a_recorded_response_is_replayed(work, store):
    opened(work)
    add(work, "p-1", caller=FACILITATOR_A, key="k-1")
    moved = Identity(sub="f-1", role="facilitator", hubs=("hub-b",))   # same subject, new hub
    with pytest.raises(NotFound):
        add(work, "p-1", caller=moved, key="k-1")


def test_keys_are_scoped_to_the_subject_unambiguously():
    a = Identity(sub="a:b", role="admin", hubs=("*",))
    b = Identity(sub="a", role="admin", hubs=("*",))
    assert scoped_key(a, "c") != scoped_key(b, "b:c")
    assert fingerprint({"x": 1, "y": [1, 2]}) == fingerprint({"y": [1, 2], "x": 1})


def test_a_creation_of_a_taken_id_is_a_conflict_that_names_no_version(work, store):
    opened(work)
    with pytest.raises(Conflict) as taken:
        opened(work)
    assert "version" not in taken.value.detail and "exists already" in taken.value.detail


def test_a_read_model_uniqueness_refused_twice_is_a_conflict_not_a_crash(db, work, store):
    with db.transaction() as cur:
        cur.execute("CREATE TABLE adoptions (member_id text PRIMARY KEY)")
        cur.execute("INSERT INTO adoptions VALUES ('mem-1')")

    def adopt_again(_, session):
        session.cur.execute("INSERT INTO adoptions VALUES ('mem-1')")

    with pytest.raises(Conflict) as refused:
        work.command(SYSTEM, lambda s: None, adopt_again, lambda r, s: {}, key="k-1",
                     request=["adopt"])
    assert refused.value.extra["constraint"] == "adoptions_pkey"
    # nothing recorded for the key: the same request may be sent again
    assert store.recorded(scoped_key(SYSTEM, "k-1"), fingerprint(["adopt"])) is None


def event(n=1):
    return RecordedEvent(n, 1, str(uuid.uuid4()), "entry-1", "entry", 1, "EntryMade", 1,
                         "hub-a", {"n": n}, {"correlation_id": "c-1"}, datetime.now(UTC))


def test_an_event_is_handled_once_and_its_consequences_carry_their_cause(work, store):
    made = event()

    def record(session):
        roster = session.create(Roster, "r-7")
        roster.open("hub-a")

    service = Identity.service("tally")
    assert work.handle("on_entry_made", "ledger", made, service, record) is True
    assert work.handle("on_entry_made", "ledger", made, service, record) is False
    (opened_event,) = store.read_stream("r-7")
    assert opened_event.metadata == {"actor": "service:tally", "role": "service",
                                     "causation_id": made.event_id, "correlation_id": "c-1"}


def test_concurrent_deliveries_of_one_event_apply_it_once(work, db):
    with db.transaction() as cur:
        cur.execute("CREATE TABLE effects (event_id uuid NOT NULL)")
    made = event()
    barrier = threading.Barrier(4)
    outcomes = []

    def deliver():
        def effect(session):
            barrier.wait()   # all four pass the inbox check before any commits
            session.cur.execute("INSERT INTO effects VALUES (%s)", (made.event_id,))
        outcomes.append(work.handle("c", "ledger", made, Identity.service("t"), effect))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, False, False, True]
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM effects")
        assert cur.fetchone()[0] == 1


def added(roster, person):
    roster.add(person, "driver")
    return roster


def big(roster, session):
    """An answer that grows with the roster, and names what this command changed."""
    return {"id": roster.id, "version": roster.version,
            "people": {p: "x" * 400 for p in sorted(roster.people)},
            "changed": [data for _, data in session.changes(roster)]}


def test_a_large_answer_is_kept_as_a_reference_and_replayed_exactly(work, store, db):
    from eventstore.commands import RECORD_LIMIT_BYTES
    opened(work)
    for n in range(30):
        work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                     lambda roster, s, n=n: added(roster, f"p-{n}"), big)
    first = work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                         lambda roster, s: added(roster, "p-last"), big,
                         key="k-big", request=["add", "p-last"])
    assert len(json.dumps(first)) > RECORD_LIMIT_BYTES
    assert first["changed"] == [{"person": "p-last", "role": "driver"}]
    # The roster moves on; the replay is the first answer, not today's roster.
    work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                 lambda roster, s: added(roster, "p-later"), big)
    again = work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                         lambda roster, s: pytest.fail("decided twice"), big,
                         key="k-big", request=["add", "p-last"])
    assert again == first
    kept = db.with_cursor(lambda c: (c.execute(
        "SELECT max(length(result::text)) FROM idempotency_keys"), c.fetchone()[0])[1])
    assert kept <= RECORD_LIMIT_BYTES


def test_a_large_answer_about_no_object_keeps_the_commands_summary(work, db):
    opened(work)
    report = {"rows": ["y" * 100] * 200, "count": 200}
    first = work.command(SYSTEM, lambda s: s.load(Roster, "r-1"), lambda roster, s: report,
                         lambda result, s: result, key="k-report", request=["report"],
                         summary=lambda answer: {"count": answer["count"], "rows": []})
    assert first == report
    again = work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                         lambda roster, s: pytest.fail("decided twice"),
                         lambda result, s: result, key="k-report", request=["report"])
    assert again == {"count": 200, "rows": []}


def test_what_an_rpc_message_id_keeps_goes_after_an_hour(work, store, db):
    opened(work)
    for key in ("rpc:message-1", "client-key"):
        work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                     lambda roster, s, k=key: roster.add(k, "driver"),
                     lambda r, s: {"ok": True}, key=key, request=[key])
    db.with_cursor(lambda c: c.execute(
        "UPDATE idempotency_keys SET recorded_at = now() - interval '2 hours'"))
    assert store.forget_keys(7) == 1
    left = db.with_cursor(lambda c: (c.execute("SELECT key FROM idempotency_keys"),
                                     c.fetchall())[1])
    assert [json.loads(k)[1] for (k,) in left] == ["client-key"]


def test_a_unit_of_work_reads_the_clock_once_and_hands_it_to_the_domain(db, store):
    fixed = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)
    work = UnitOfWork(db, store, [], clock=lambda: fixed)
    opened(work)
    seen = work.command(SYSTEM, lambda s: s.load(Roster, "r-1"),
                        lambda roster, s: (s.now, s.today), lambda r, s: r)
    assert seen == (fixed, fixed.date())
