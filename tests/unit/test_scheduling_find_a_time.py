"""Find-a-time (services/scheduling/domain/find_a_time.py): which slots are candidates, what each
costs, how they rank, and the bounds of one request."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from eventstore.errors import ValidationError
from services.scheduling.domain.find_a_time import (
    MAX_BUSY,
    MAX_INVITEES,
    Blackout,
    Busy,
    Invitee,
    Request,
    candidates,
    check,
    find_a_time,
)
from services.scheduling.domain.recurrence import zone

LA = zone("America/Los_Angeles")
MONDAY = date(2027, 4, 19)
PEOPLE = [Invitee("p-camino", "m-camino"), Invitee("p-gold", "m-gold"),
          Invitee("p-gold-2", "m-gold")]


def ask(first=MONDAY, last=MONDAY, starts=time(9), ends=time(11), minutes=60, **extra):
    return Request(first, last, starts, ends, minutes, LA, **extra)


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), LA).astimezone(UTC)


def local(slot):
    return slot.starts.astimezone(LA).strftime("%a %H:%M")


# -- candidates -------------------------------------------------------------------------------

def test_candidates_start_every_half_hour_and_end_within_the_working_hours():
    found = candidates(ask())
    assert [s.astimezone(LA).strftime("%H:%M") for s, _ in found] == ["09:00", "09:30",
                                                                      "10:00"]
    assert all(end - start == timedelta(minutes=60) for start, end in found)
    assert candidates(ask(minutes=120)) == [(at(MONDAY, 9), at(MONDAY, 11))]
    assert candidates(ask(minutes=121)) == []


def test_only_working_days_unless_asked():
    week = candidates(ask(last=MONDAY + timedelta(days=6), minutes=120))
    assert [s.astimezone(LA).strftime("%a") for s, _ in week] == ["Mon", "Tue", "Wed", "Thu",
                                                                  "Fri"]
    saturday = candidates(ask(last=MONDAY + timedelta(days=6), minutes=120, weekdays=(5,)))
    assert [s.astimezone(LA).strftime("%a") for s, _ in saturday] == ["Sat"]


def test_working_hours_are_local_on_the_days_the_clocks_change():
    spring, fall = date(2027, 3, 15), date(2026, 11, 2)   # the Mondays after each change
    assert candidates(ask(spring, spring, minutes=120))[0][0] == datetime(
        2027, 3, 15, 16, tzinfo=UTC)
    assert candidates(ask(fall, fall, minutes=120))[0][0] == datetime(2026, 11, 2, 17,
                                                                      tzinfo=UTC)


def test_a_working_day_through_the_gap_skips_the_times_that_do_not_exist():
    sunday = date(2027, 3, 14)
    found = candidates(ask(sunday, sunday, time(1), time(4), 30, weekdays=(6,)))
    shown = [s.astimezone(LA).strftime("%H:%M") for s, _ in found]
    assert "02:00" not in shown and "02:30" not in shown
    assert shown[:2] == ["01:00", "01:30"] and "03:00" in shown


# -- costs and ranking -------------------------------------------------------------------------

def test_a_free_slot_ranks_first_and_costs_nothing():
    busy = [Busy("p-camino", at(MONDAY, 9), at(MONDAY, 10), "a meeting: Board")]
    slots = find_a_time(ask(), PEOPLE, busy, [])
    assert local(slots[0]) == "Mon 10:00" and slots[0].missing == {} and slots[0].possible
    nine = next(s for s in slots if local(s) == "Mon 09:00")
    assert nine.missing == {"p-camino": "a meeting: Board"}
    # 09:30 overlaps the meeting's last half hour.
    assert next(s for s in slots if local(s) == "Mon 09:30").missing == {
        "p-camino": "a meeting: Board"}


def test_a_busy_time_that_only_touches_a_slot_costs_nothing():
    busy = [Busy("p-camino", at(MONDAY, 8), at(MONDAY, 9), "early"),
            Busy("p-gold", at(MONDAY, 10), at(MONDAY, 11), "late")]
    nine = next(s for s in find_a_time(ask(), PEOPLE, busy, []) if local(s) == "Mon 09:00")
    assert nine.missing == {}


def test_a_long_busy_time_that_began_before_reaches_the_slot():
    busy = [Busy("p-gold", at(MONDAY, 6), at(MONDAY, 12), "a day-long training"),
            Busy("p-camino", at(MONDAY, 8), at(MONDAY, 8, 30), "short")]
    slots = find_a_time(ask(), PEOPLE, busy, [])
    assert all(s.missing == {"p-gold": "a day-long training"} for s in slots)


def test_fewer_people_missing_rank_before_more_then_fewer_members_then_earlier():
    busy = [Busy("p-gold", at(MONDAY, 9), at(MONDAY, 9, 30), "x"),
            Busy("p-gold-2", at(MONDAY, 9), at(MONDAY, 9, 30), "x"),
            Busy("p-camino", at(MONDAY, 10), at(MONDAY, 10, 30), "y"),
            Busy("p-gold", at(MONDAY, 10), at(MONDAY, 11), "z")]
    slots = find_a_time(ask(), PEOPLE, busy, [])
    costs = [(local(s), sorted(s.missing)) for s in slots]
    # 09:00: both of Gold (2 people, 1 member); 09:30 and 10:00: Camino and Gold (2, 2).
    assert costs == [("Mon 09:00", ["p-gold", "p-gold-2"]),
                     ("Mon 09:30", ["p-camino", "p-gold"]),
                     ("Mon 10:00", ["p-camino", "p-gold"])]


def test_someone_not_invited_costs_nothing():
    busy = [Busy("p-stranger", at(MONDAY, 9), at(MONDAY, 11), "x")]
    assert all(s.missing == {} for s in find_a_time(ask(), PEOPLE, busy, []))


def test_the_expert_busy_makes_a_slot_impossible_and_ranks_it_last():
    busy = [Busy(None, at(MONDAY, 9), at(MONDAY, 10), "booked or unavailable"),
            Busy("p-gold", at(MONDAY, 10), at(MONDAY, 11), "x")]
    slots = find_a_time(ask(), PEOPLE, busy, [])
    assert [(local(s), s.possible) for s in slots] == [
        ("Mon 10:00", True), ("Mon 09:00", False), ("Mon 09:30", False)]
    assert slots[1].blocked == ["the expert is busy (booked or unavailable)"]


def test_a_blackout_day_misses_the_members_people():
    blackout = Blackout("m-gold", MONDAY, MONDAY, "state testing window")
    slots = find_a_time(ask(last=MONDAY + timedelta(days=1)), PEOPLE, [], [blackout])
    assert local(slots[0]) == "Tue 09:00" and slots[0].missing == {}
    monday = [s for s in slots if s.starts.astimezone(LA).date() == MONDAY]
    assert all(s.missing == {"p-gold": "a blackout: state testing window",
                             "p-gold-2": "a blackout: state testing window"} for s in monday)
    assert all(s.possible for s in monday)


@pytest.mark.parametrize("first, last, hit", [(MONDAY, MONDAY, True),
                                              (MONDAY - timedelta(days=3), MONDAY, True),
                                              (MONDAY, MONDAY + timedelta(days=3), True),
                                              (MONDAY + timedelta(days=1), MONDAY
                                               + timedelta(days=2), False),
                                              (MONDAY - timedelta(days=2),
                                               MONDAY - timedelta(days=1), False)])
def test_a_blackout_covers_its_first_and_last_day(first, last, hit):
    slots = find_a_time(ask(), PEOPLE, [], [Blackout("m-camino", first, last, "x")])
    assert all(bool(s.missing) == hit for s in slots)


def test_a_host_in_a_blackout_makes_a_site_visit_impossible():
    blackout = Blackout("m-camino", MONDAY, MONDAY, "testing")
    slots = find_a_time(ask(last=MONDAY + timedelta(days=1), must_attend=("m-camino",)),
                        PEOPLE, [], [blackout])
    monday = [s for s in slots if s.starts.astimezone(LA).date() == MONDAY]
    assert monday and all(not s.possible and s.blocked == ["m-camino cannot meet: testing"]
                          for s in monday)
    assert slots[0].possible and local(slots[0]) == "Tue 09:00"


def test_at_most_limit_slots():
    assert len(find_a_time(ask(last=MONDAY + timedelta(days=4)), PEOPLE, [], [])) == 10
    assert len(find_a_time(ask(last=MONDAY + timedelta(days=4), limit=1), PEOPLE, [], [])) == 1
    assert len(find_a_time(ask(last=MONDAY + timedelta(days=4), limit=50), PEOPLE, [],
                           [])) == 15


# -- bounds of one request ---------------------------------------------------------------------

def refused(request, people=PEOPLE, busy=(), field="to"):
    with pytest.raises(ValidationError) as error:
        check(request, people, list(busy))
    assert field in error.value.errors, error.value.errors


def test_a_window_of_92_days_at_most_and_not_backwards():
    check(ask(last=MONDAY + timedelta(days=91)), PEOPLE, [])
    refused(ask(last=MONDAY + timedelta(days=92)))
    refused(ask(last=MONDAY + timedelta(days=3650)))
    refused(ask(last=MONDAY - timedelta(days=1)))
    check(ask(last=MONDAY), PEOPLE, [])


@pytest.mark.parametrize("first, last", [(date(1969, 12, 31), date(1970, 1, 2)),
                                         (date(2100, 12, 30), date(2101, 1, 2)),
                                         (date(9999, 12, 31), date(9999, 12, 31))])
def test_dates_from_1970_to_2100(first, last):
    refused(ask(first, last), field="from")
    check(ask(date(1970, 1, 1), date(1970, 1, 2)), PEOPLE, [])
    check(ask(date(2100, 12, 30), date(2100, 12, 31)), PEOPLE, [])


def test_working_hours_that_hold_the_meeting():
    refused(ask(starts=time(11), ends=time(11)), field="day_ends")
    refused(ask(starts=time(12), ends=time(11)), field="day_ends")
    refused(ask(minutes=121), field="minutes")
    check(ask(minutes=120), PEOPLE, [])


def test_at_most_300_people_and_a_bounded_number_of_busy_times():
    assert (MAX_INVITEES, MAX_BUSY) == (300, 20_000)   # as the README documents
    many = [Invitee(f"p-{n}", "m") for n in range(300)]
    check(ask(), many, [])
    check(ask(), [*many, many[0]], [])             # the same person twice is one
    refused(ask(), [*many, Invitee("p-one-more", "m")], field="people")
    busy = [Busy("p-0", at(MONDAY, 9), at(MONDAY, 10), "x")] * 20_000
    check(ask(), PEOPLE, busy)
    refused(ask(), PEOPLE, [*busy, busy[0]], field="to")


@pytest.mark.parametrize("limit, ok", [(0, False), (1, True), (50, True), (51, False)])
def test_a_limit_from_1_to_50(limit, ok):
    if ok:
        check(ask(limit=limit), PEOPLE, [])
    else:
        refused(ask(limit=limit), field="limit")


def test_what_is_asked_and_found_cannot_be_changed_in_place():
    for value, name in ((Invitee("p", "m"), "person_id"), (Blackout("m", MONDAY, MONDAY, "x"),
                                                           "reason"),
                        (Busy("p", at(MONDAY, 9), at(MONDAY, 10), "x"), "why"),
                        (ask(), "minutes")):
        with pytest.raises(AttributeError):
            setattr(value, name, None)


def test_a_blackout_of_another_member_costs_nothing_whatever_its_id_sorts_like():
    for member in ("m-aaa", "m-zzz"):
        slots = find_a_time(ask(), PEOPLE, [], [Blackout(member, MONDAY, MONDAY, "x")])
        assert all(s.missing == {} for s in slots), member
    # Ids as a database gives them back: equal, not the same objects.
    people = [Invitee("p-1", "".join(["m-", "gold"]))]
    slots = find_a_time(ask(), people, [], [Blackout("".join(["m-g", "old"]), MONDAY, MONDAY,
                                                     "x")])
    assert all(s.missing == {"p-1": "a blackout: x"} for s in slots)


def test_every_blackout_is_looked_at_after_one_on_another_day():
    blackouts = [Blackout("m-gold", MONDAY + timedelta(days=1), MONDAY + timedelta(days=1),
                          "tuesday"), Blackout("m-camino", MONDAY, MONDAY, "monday")]
    slots = find_a_time(ask(), PEOPLE, [], blackouts)
    assert all(s.missing == {"p-camino": "a blackout: monday"} for s in slots)


def test_a_busy_time_ending_before_a_later_slot_does_not_stop_the_search():
    busy = [Busy("p-gold", at(MONDAY, 8), at(MONDAY, 9), "early"),
            Busy("p-camino", at(MONDAY, 9), at(MONDAY, 11), "all morning")]
    slots = find_a_time(ask(), PEOPLE, busy, [])
    assert all(s.missing == {"p-camino": "all morning"} for s in slots)
