"""A catch-up trusts no answer its source did not sign for the very request: a forged or
mis-signed page moves the checkpoint nowhere, and no body is handled before it is verified
(issue 15). ``catch_up`` is driven with a ``read_page`` function, as the kernel drives it with
the source's ``read_events`` RPC."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from eventstore.consumers import catch_up, consumes
from eventstore.errors import ForgedEvent
from eventstore.identity import signed_event, signed_page, verify_event, verify_page
from tests.fixtures.ledger.contracts import EntryMade

TYPES = ["EntryMade"]


class FakeKernel:
    """What catch_up needs of a service's kernel: the inbox's answer and a handler run."""

    def __init__(self) -> None:
        self.container = SimpleNamespace(service_name="counter")
        self.seen: list[int] = []

    def handled(self, event_ids: list[Any]) -> set[tuple[str, str]]:
        return set()

    def handle(self, consumer: str, source: str, event: Any, work: Any) -> bool:
        work(None)
        return True


class Counter:
    kernel: FakeKernel

    @consumes(EntryMade)
    def on_entry_made(self, session: Any, event: EntryMade) -> None:
        self.kernel.seen.append(event.n)


def event(n: int, tx_id: int | None = None, type_: str = "EntryMade") -> dict[str, Any]:
    return signed_event({
        "source": "ledger", "event_id": f"00000000-0000-4000-8000-{n:012d}", "position": n,
        "tx_id": n if tx_id is None else tx_id, "stream_id": f"e-{n}", "stream_type": "entry",
        "version": 1, "type": type_, "schema_version": 1, "hub_id": "hub-a",
        "data": {"n": n}, "metadata": {}, "recorded_at": "2026-11-24T00:00:00+00:00"})


def page(after: list[int], events: list[dict[str, Any]], next_: list[int], more: bool,
         source: str = "ledger", types: list[str] | None = TYPES) -> dict[str, Any]:
    """A page as the source's read_events answers it: signed for (after, types)."""
    return signed_page(source, after, types, {"events": events, "next": next_, "more": more})


def run(pages: dict[tuple[int, int], dict[str, Any]], start: list[int] | None = None,
        park: Any = None) -> tuple[Counter, list[list[int]], Any]:
    """catch_up over ``pages`` (the answer per cursor asked); (service, checkpoints, outcome:
    its counts or the exception it raised)."""
    service = Counter.__new__(Counter)
    service.kernel = FakeKernel()
    checkpoints: list[list[int]] = []
    asked: list[list[int]] = []

    def read_page(after: list[int], limit: int, types: list[str]) -> dict[str, Any]:
        assert types == TYPES
        asked.append(after)
        if len(asked) > 10:
            raise RuntimeError(f"asked for pages for ever: {asked}")
        return pages[tuple(after)]

    try:
        outcome: Any = catch_up(Counter, service, "ledger", read_page, start=start,
                                advance=checkpoints.append, park=park)
    except Exception as exc:  # noqa: BLE001 - the outcome under test
        outcome = exc
    return service, checkpoints, outcome


def refused(outcome: Any) -> bool:
    return isinstance(outcome, ForgedEvent)


@pytest.mark.parametrize("forge", [
    lambda p: {k: v for k, v in p.items() if k != "signature"},     # unsigned
    lambda p: {**p, "signature": "0" * 64},                          # mis-signed
    lambda p: {**p, "signature": "é" * 64},                          # not even hex
    lambda p: {**p, "signature": None},
    lambda p: {**p, "next": [10**9, 0]},                             # next moved after signing
    lambda p: {**p, "more": False},                                  # the rest held back
    lambda p: {**p, "events": p["events"][1:]},                      # an event left out
], ids=["unsigned", "mis-signed", "non-ascii", "null", "next-moved", "more-cut",
        "event-dropped"])
def test_a_forged_page_moves_the_checkpoint_nowhere(forge):
    genuine = page([0, 0], [event(1), event(2)], [2, 2], True)
    service, checkpoints, outcome = run({(0, 0): forge(genuine)}, park=lambda *a: None)
    assert refused(outcome), outcome
    assert checkpoints == [] and service.kernel.seen == []


def test_a_page_signed_for_another_cursor_or_source_or_types_is_refused():
    # A genuine answer to another request (after [0, 0]) replayed to a catch-up at [5, 5]:
    # its next would leave nothing out there, but it is not the answer asked for.
    for forged in (page([0, 0], [event(6)], [10**6, 0], False),
                   page([5, 5], [event(6)], [10**6, 0], False, source="desk"),
                   page([5, 5], [event(6)], [10**6, 0], False, types=None)):
        service, checkpoints, outcome = run({(5, 5): forged}, start=[5, 5])
        assert refused(outcome), outcome
        assert checkpoints == [] and service.kernel.seen == []


@pytest.mark.parametrize("events,next_,more", [
    ([], [3, 3], True),                  # next behind after
    ([], [5, 5], True),                  # the same page asked for ever
    ([event(6)], [5, 5], False),         # events but next not after after
    ([event(4)], [9, 9], False),         # an event before after
    ([event(7), event(6)], [9, 9], False),   # out of log order
    ([event(8)], [7, 7], False),         # an event past next
    ([], "far", False),                  # next not a cursor
    ([], [9, 9], "yes"),                 # more not a yes or no
], ids=["behind", "stuck", "events-not-after", "event-before", "disordered", "past-next",
        "next-garbage", "more-garbage"])
def test_a_signed_page_that_does_not_follow_its_cursor_is_refused(events, next_, more):
    service, checkpoints, outcome = run({(5, 5): page([5, 5], events, next_, more)},
                                        start=[5, 5])
    assert refused(outcome), outcome
    assert checkpoints == [] and service.kernel.seen == []


def test_a_forged_body_stops_the_catch_up_before_anything_of_its_page():
    # The page is signed over the events' signatures; a body changed after signing keeps its
    # signature, and fails its own check: the whole page is refused, nothing parked or kept.
    tampered = {**event(2), "data": {"n": 10**9}}
    parked: list[Any] = []
    service, checkpoints, outcome = run(
        {(0, 0): page([0, 0], [event(1), tampered], [2, 2], False)},
        park=lambda *letter: parked.append(letter))
    assert refused(outcome), outcome
    assert checkpoints == [] and service.kernel.seen == [] and parked == []


def test_a_forged_body_of_an_unknown_type_is_refused_not_a_crash():
    stranger = {**event(2), "type": "NoSuchEvent", "signature": "f" * 64}
    service, checkpoints, outcome = run(
        {(0, 0): page([0, 0], [event(1), stranger], [2, 2], False)}, park=lambda *a: None)
    assert refused(outcome), outcome
    assert checkpoints == [] and service.kernel.seen == []


def test_signed_pages_are_handled_and_an_event_no_consumer_takes_is_skipped():
    service, checkpoints, counts = run({
        (0, 0): page([0, 0], [event(1), event(2, type_="EntryAmended"), event(3)], [3, 3],
                     True),
        (3, 3): page([3, 3], [event(4)], [5, 5], False),
    })
    assert service.kernel.seen == [1, 3, 4]
    assert checkpoints == [[3, 3], [5, 5]]
    assert (counts["read"], counts["applied"], counts["skipped"]) == (4, 3, 1)
    assert counts["next"] == [5, 5]


def test_a_non_ascii_or_non_string_signature_is_a_forged_event_not_a_type_error():
    for signature in ("é" * 64, "\udc80" * 64, "F" * 64, "f" * 63, 12, None, ["f" * 64]):
        with pytest.raises(ForgedEvent, match="did not sign"):
            verify_event({**event(1), "signature": signature}, "ledger")
    verify_event(event(1), "ledger")


def test_verify_page_holds_for_the_request_it_was_signed_for_only():
    genuine = page([1, 2], [event(3)], [3, 3], False)
    verify_page(genuine, "ledger", [1, 2], TYPES)
    for after, types in (([1, 3], TYPES), ([1, 2], ["EntryAmended"]), ([1, 2], None)):
        with pytest.raises(ForgedEvent):
            verify_page(genuine, "ledger", after, types)
    for junk in (None, [], "page", {"signature": "é"}):
        with pytest.raises(ForgedEvent):
            verify_page(junk, "ledger", [1, 2], TYPES)
