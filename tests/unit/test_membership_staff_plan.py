"""What a staff import plans from its rows and what the log says of the people they name
(services/membership/domain/staff.py), and what an Idempotency-Key keeps of its answer."""

from __future__ import annotations

import json

from eventstore.testing import given
from services.membership.domain import Member, Person
from services.membership.domain.oneroster import read_staff
from services.membership.domain.staff import plan_staff_import, staff_import_summary

ORGS = ("sourcedId,name,type,identifier,parentSourcedId\n"
        "org-1,Camino Union,district,0601234,\n")
HEADER = "sourcedId,status,enabledUser,role,givenName,familyName,email,orgSourcedIds"
MEMBER = given(Member, "el-dorado.camino", [(
    "MemberEnrolled", {"hub_id": "el-dorado", "name": "Camino Union", "kind": "district",
                       "grade_span": "K-8", "enrollment": 503, "cds_code": None,
                       "nces_id": None})]).instance


def staff(*sids):
    rows = [f"{sid},active,true,teacher,Ana,Ruiz {sid},,org-1" for sid in sids]
    return read_staff(ORGS, HEADER + "\n" + "\n".join(rows) + "\n", MEMBER.id, "Camino Union",
                      ("0601234", None))


def person(person_id, member_id=MEMBER.id, erased=False):
    history = [("PersonAdded", {"hub_id": "el-dorado", "member_id": member_id,
                                "position": "teacher"})]
    return given(Person, person_id, history + ([("PersonErased", {})] if erased else [])
                 ).instance


def test_each_row_is_imported_updated_unchanged_skipped_or_refused_and_counted():
    roster = staff("t-new", "t-same", "t-renamed", "t-erased", "t-other")
    ids = [row.person_id("el-dorado", MEMBER.id) for row in roster.staff]
    new, same, renamed, erased, other = ids
    found = {same: person(same), renamed: person(renamed), erased: person(erased, erased=True),
             other: person(other, member_id="el-dorado.buckeye")}
    on_file = {same: ("Ana Ruiz t-same", None), renamed: ("Ana Ruiz before", None)}
    plan = plan_staff_import(MEMBER, roster, ids, found, on_file, apply=True)
    assert [(row.sourced_id, outcome) for row, _, outcome in plan.taken] == [
        ("t-new", "imported"), ("t-same", "unchanged"), ("t-renamed", "updated")]
    report = plan.report
    assert (report["imported"], report["updated"], report["unchanged"]) == (1, 1, 1)
    assert report["skipped"] == {"erased person": 1}
    assert report["rejected"] == 1 and report["errors"][0]["sourced_id"] == "t-other"
    assert report["errors"][0]["errors"] == {
        "sourcedId": ["names a person who is not this member's staff"]}
    assert [p["outcome"] for p in report["people"]] == ["imported", "unchanged", "updated"]
    assert (report["people_total"], report["dry_run"], report["abridged"]) == (3, False, False)
    assert plan_staff_import(MEMBER, roster, ids, found, on_file, apply=False).report[
        "dry_run"] is True


# -- what a replay keeps: every count, and the first errors that fit --------------------------

REPORT = {"member_id": MEMBER.id, "dry_run": False, "imported": 0, "updated": 0,
          "unchanged": 0, "rejected": 3, "rejected_by_field": {}, "skipped": {},
          "errors": [], "people": [], "people_total": 0, "abridged": False}
# What a replay keeps, at most (written out: the module's constant would move with a mutant).
IMPORT_SUMMARY_BYTES = 4_096
# The JSON of what is kept with no error in it; each error adds its own JSON and ", ".
BASE = len(json.dumps({**REPORT, "abridged": True}))


def error(size, line=1):
    """An error whose JSON is ``size`` bytes."""
    empty = len(json.dumps({"line": line, "sourced_id": ""}))
    return {"line": line, "sourced_id": "x" * (size - empty)}


def kept(*errors):
    return staff_import_summary({**REPORT, "errors": list(errors)})["errors"]


def test_an_error_that_fits_to_the_last_byte_is_kept_and_one_byte_more_is_not():
    room = IMPORT_SUMMARY_BYTES - BASE - 2
    assert room % 4 in (2, 3)   # (a size whose bit 1 is set: the 2 is added, not or-ed)
    assert kept(error(room)) == [error(room)]
    assert kept(error(room + 1)) == []


def test_two_errors_count_their_separator_and_what_does_not_fit_ends_the_list():
    half = (IMPORT_SUMMARY_BYTES - BASE) // 2 - 2
    assert kept(error(half, 1), error(half, 2)) == [error(half, 1), error(half, 2)]
    assert kept(error(half, 1), error(half + 3, 2)) == [error(half, 1)]
    # The first error that does not fit ends the list: a smaller one after it is not kept.
    assert kept(error(IMPORT_SUMMARY_BYTES, 1), error(40, 2)) == []


def test_a_replay_answer_is_marked_abridged_keeps_every_count_and_no_people():
    summary = staff_import_summary({**REPORT, "people": [{"id": "p"}], "errors": [error(50)]})
    assert summary == {**REPORT, "abridged": True, "people": [], "errors": [error(50)]}
    assert len(json.dumps(summary)) <= IMPORT_SUMMARY_BYTES
