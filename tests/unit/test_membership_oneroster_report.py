"""How much a staff import may hold and answer (issue 15): rows are counted whatever ends them,
bad rows are reported by the first 100 and counted by file and field, and neither what reading
holds nor the answer (nor what an Idempotency-Key keeps of it) grows with the bad rows.

The limits are written out as numbers, as in test_membership_oneroster_rules.py.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest

from eventstore.commands import RECORD_LIMIT_BYTES
from eventstore.errors import ValidationError
from eventstore.testing import given
from eventstore.validation import dump
from services.membership import schemas
from services.membership.domain import Member
from services.membership.domain.oneroster import read_staff
from services.membership.domain.staff import plan_staff_import, staff_import_summary

ORGS = ("sourcedId,name,type,identifier,parentSourcedId\n"
        "org-1,Camino Union,district,0601234,\n")
HEADER = "sourcedId,status,enabledUser,role,givenName,familyName,email,orgSourcedIds"


def row(sid="t-1", role="teacher", given_name="Ana", family="Ruiz", email="", orgs="org-1"):
    return f"{sid},active,true,{role},{given_name},{family},{email},{orgs}"


def read(users, orgs=ORGS):
    return read_staff(orgs, users, "mem-camino", "Camino Union", ("0601234", None))


# -- rows, whatever ends them ------------------------------------------------------------------

ENDINGS = pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])


@ENDINGS
def test_users_csv_may_have_250000_rows_whatever_ends_them(end):
    roster = read(HEADER + end + end * 250_000)
    assert roster.staff == [] and roster.rejected == 0


@ENDINGS
def test_users_csv_with_250001_rows_is_refused_whatever_ends_them(end):
    with pytest.raises(ValidationError) as refused:
        read(HEADER + end + end * 250_001)
    assert refused.value.errors == {"users": ["at most 250000 rows"]}


@ENDINGS
def test_orgs_csv_with_20001_rows_is_refused_whatever_ends_them(end):
    orgs = ORGS.replace("\n", end)
    with pytest.raises(ValidationError) as refused:
        read(HEADER + "\n" + row() + "\n", orgs=orgs + end * 20_000)
    assert refused.value.errors == {"orgs": ["at most 20000 rows"]}
    assert read(HEADER + "\n" + row() + "\n", orgs=orgs + end * 19_999).staff


def test_bad_rows_joined_by_a_lone_cr_are_counted_and_refused_past_the_cap():
    """The issue's file: bad rows ended by \\r, of which a count of \\n saw none."""
    bad = [row(sid=f"b-{i}", email="nope") for i in range(250_001)]
    with pytest.raises(ValidationError) as refused:
        read(HEADER + "\r" + "\r".join(bad) + "\r")
    assert refused.value.errors == {"users": ["at most 250000 rows"]}


def test_a_quoted_line_break_does_not_make_two_rows():
    # 250,000 rows, one of them spanning two lines: the cap is on rows, not on line breaks.
    users = HEADER + "\n" + "\n" * 249_999 + row(given_name='"Ana\nMaria"') + "\n"
    roster = read(users)
    assert roster.rejected_by_field == {"users.csv _row": 1}


# -- a report of bad rows ----------------------------------------------------------------------

def bad_rows(count):
    """Bad rows of three kinds, one in three also missing its given name, with a good row
    after every tenth."""
    rows = []
    for i in range(count):
        kind = i % 3
        rows.append(row(sid=f"b-{i}", email="nope" if kind == 0 else "",
                        orgs="org-nowhere" if kind == 1 else "org-1",
                        role="janitor" if kind == 2 else "teacher",
                        given_name="" if i % 3 == 0 and i % 2 else "Ana"))
        if i % 10 == 9:
            rows.append(row(sid=f"t-{i}", role="student"))
    return rows


def test_bad_rows_are_reported_by_the_first_100_in_full_and_every_one_counted_by_field():
    roster = read(HEADER + "\n" + "\n".join(bad_rows(12_000)) + "\n")
    assert roster.rejected == 12_000
    assert roster.rejected_by_field == {"users.csv email": 4_000,
                                        "users.csv givenName": 2_000,
                                        "users.csv orgSourcedIds": 4_000,
                                        "users.csv role": 4_000}
    assert len(roster.errors) == 100
    # The first 100 bad rows, in file order, each as a row error always was.
    assert [e["sourced_id"] for e in roster.errors] == [f"b-{i}" for i in range(100)]
    assert roster.errors[1] == {"file": "users.csv", "line": 3, "sourced_id": "b-1",
                                "errors": {"orgSourcedIds": ["not in orgs.csv: org-nowhere"]}}
    assert roster.errors[3]["errors"] == {"givenName": ["required"],
                                          "email": ["not a valid email address"]}
    assert roster.skipped == {"student": 1_200}


def test_bad_rows_of_both_files_are_counted_apart():
    orgs = ORGS + "".join(f"o-{i},,school,,org-1\n" for i in range(150))
    roster = read(HEADER + "\n" + "\n".join(bad_rows(30)) + "\n", orgs=orgs)
    assert roster.rejected == 180 and len(roster.errors) == 100
    assert roster.rejected_by_field == {"orgs.csv name": 150, "users.csv email": 10,
                                        "users.csv givenName": 5,
                                        "users.csv orgSourcedIds": 10, "users.csv role": 10}
    assert {e["file"] for e in roster.errors} == {"orgs.csv"}


def test_what_reading_holds_does_not_grow_with_the_bad_rows():
    users = HEADER + "\n" + "\n".join(bad_rows(30_000)) + "\n"
    tracemalloc.start()
    try:
        roster = read(users)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert roster.rejected == 30_000
    # Every bad row kept (or a copy of the file made to read it) would be megabytes.
    assert peak < 1_000_000, peak


# -- the answer, and what an Idempotency-Key keeps of it -----------------------------------------

MEMBER = given(Member, "el-dorado.camino", [(
    "MemberEnrolled", {"hub_id": "el-dorado", "name": "Camino Union", "kind": "district",
                       "grade_span": "K-8", "enrollment": 503, "cds_code": None,
                       "nces_id": None})]).instance


def answer_to(users):
    roster = read(users)
    ids = [r.person_id("el-dorado", MEMBER.id) for r in roster.staff]
    report = plan_staff_import(MEMBER, roster, ids, {}, {}, True).report
    return dump(schemas.StaffImportReport, report)


def test_the_answer_to_the_worst_files_stays_under_70_kb():
    """Every bad row as long as it can be (sourcedIds and org ids of 1,000 characters, every
    column wrong), and 5,000 staff: the first 100 of each, text from the files cut to 64
    characters."""
    long = "s" * 1_000
    bad = [row(sid=f"{long}{i}", role="janitor", given_name="", family="N" * 300, email="nope",
               orgs="o" * 1_000) for i in range(10_000)]
    staff = [row(sid=f"{long}-t{i}") for i in range(5_000)]
    answer = answer_to(HEADER + "\n" + "\n".join(bad + staff) + "\n")
    assert (answer["rejected"], answer["imported"], answer["people_total"]) == (10_000, 5_000,
                                                                              5_000)
    assert len(answer["errors"]) == 100 and len(answer["people"]) == 100
    assert max(len(e["sourced_id"]) for e in answer["errors"]) == 64
    assert len(json.dumps(answer)) < 70_000


def test_a_file_of_bad_emails_answers_in_about_12_kb():
    bad = [row(sid=f"b-{i}", email="nope") for i in range(200_000)]
    answer = answer_to(HEADER + "\r" + "\r".join(bad) + "\r")
    assert answer["rejected"] == 200_000
    assert answer["rejected_by_field"] == {"users.csv email": 200_000}
    assert len(json.dumps(answer)) < 12_000


def test_a_replay_keeps_every_count_and_the_errors_that_fit_in_4_kb():
    long = "s" * 1_000
    bad = [row(sid=f"{long}{i}", role="janitor", given_name="", email="nope")
           for i in range(1_000)]
    staff = [row(sid=f"t-{i}") for i in range(300)]
    answer = answer_to(HEADER + "\n" + "\n".join(bad + staff) + "\n")
    kept = staff_import_summary(answer)
    assert len(json.dumps(kept)) <= 4_096 < RECORD_LIMIT_BYTES
    assert kept["abridged"] is True and kept["people"] == []
    assert 0 < len(kept["errors"]) < 100 and kept["errors"] == answer["errors"][:len(
        kept["errors"])]
    counts = ("imported", "updated", "unchanged", "rejected", "rejected_by_field", "skipped",
              "people_total", "member_id", "dry_run")
    assert {k: kept[k] for k in counts} == {k: answer[k] for k in counts}
    # A replay answers it as the route documents its answer.
    assert schemas.StaffImportReport().load(kept) == kept


# -- rows shorter or longer than the header --------------------------------------------------

def test_a_short_row_is_read_with_its_missing_values_empty_and_reported():
    roster = read(f"{HEADER}\nt-1,active\n{row('t-2')}\n")
    assert roster.errors[0]["line"] == 2 and roster.errors[0]["sourced_id"] == "t-1"
    assert set(roster.errors[0]["errors"]) >= {"givenName", "familyName", "orgSourcedIds"}
    assert [s.sourced_id for s in roster.staff] == ["t-2"]


def test_values_past_the_header_are_dropped_as_a_dict_reader_would():
    roster = read(f"{HEADER}\n{row('t-1')},extra,more\n")
    assert [s.sourced_id for s in roster.staff] == ["t-1"] and roster.errors == []


def test_a_repeated_sourced_id_is_echoed_whole_up_to_64_characters():
    for length, echoed in ((64, "s" * 64), (65, "s" * 63 + "\u2026")):
        sid = "s" * length
        roster = read(f"{HEADER}\n{row(sid)}\n{row(sid)}\n")
        assert roster.errors[0]["sourced_id"] == echoed
