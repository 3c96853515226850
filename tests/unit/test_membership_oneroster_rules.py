"""A OneRoster staff import's row-level rules on both sides of each limit (issue 11): name and
email lengths, the size of the files and of the member's staff, rows marked tobedeleted or
disabled, control characters, malformed CSV, and the person a row maps to.

The limits are written out as numbers, not read from the module: a test that read them would
move with a changed limit and never notice it.
"""

from __future__ import annotations

import dataclasses

import pytest

from eventstore.errors import ValidationError
from services.membership.domain.oneroster import StaffRow, read_staff

ORGS = ("sourcedId,name,type,identifier,parentSourcedId\n"
        "org-1,Camino Union,district,0601234,\n"
        "org-2,Gold Trail Union,district,0605555,\n")
HEADER = "sourcedId,status,enabledUser,role,givenName,familyName,email,orgSourcedIds\n"


def row(sid="t-1", status="active", enabled="true", role="teacher", given="Ana",
        family="Ruiz", email="", orgs="org-1"):
    return f"{sid},{status},{enabled},{role},{given},{family},{email},{orgs}\n"


def read(*rows, orgs=ORGS, header=HEADER):
    return read_staff(orgs, header + "".join(rows), "mem-camino", "Camino Union",
                      ("0601234", None))


def taken(roster):
    return [s.sourced_id for s in roster.staff]


def errors(roster):
    return {(e["line"], e["sourced_id"]): e["errors"] for e in roster.errors}


# -- names and emails ----------------------------------------------------------------------

@pytest.mark.parametrize("column", ["given", "family"])
def test_a_name_of_200_characters_is_taken(column):
    name = "N" * 200
    roster = read(row(**{column: name}))
    assert taken(roster) == ["t-1"] and roster.errors == []
    assert name in roster.staff[0].name


@pytest.mark.parametrize("column, field", [("given", "givenName"), ("family", "familyName")])
@pytest.mark.parametrize("length", [201, 202, 5_000])
def test_a_name_longer_than_200_characters_is_a_row_error(column, field, length):
    roster = read(row(**{column: "N" * length}), row(sid="t-2"))
    assert taken(roster) == ["t-2"]
    assert errors(roster) == {(2, "t-1"): {field: ["at most 200 characters"]}}


def email_of(length):
    domain = "@camino.example.org"
    return "a" * (length - len(domain)) + domain


@pytest.mark.parametrize("length", [6, 253, 254])
def test_an_email_of_up_to_254_characters_is_taken(length):
    email = email_of(length) if length > 6 else "a@b.co"
    roster = read(row(email=email))
    assert [s.email for s in roster.staff] == [email]


@pytest.mark.parametrize("email", [email_of(255), email_of(256), email_of(1_000), "a@b",
                                   "ana@", "@camino.org", "ana@@camino.org", "ana ruiz@c.org",
                                   "ana.camino.org"])
def test_an_email_too_long_or_not_an_address_is_a_row_error(email):
    roster = read(row(email=email), row(sid="t-2"))
    assert taken(roster) == ["t-2"]
    assert errors(roster) == {(2, "t-1"): {"email": ["not a valid email address"]}}


def test_a_row_without_an_email_is_taken_without_one():
    assert [s.email for s in read(row(email="")).staff] == [None]


# -- how much one import may ask -------------------------------------------------------------

def test_users_csv_may_have_250000_lines_after_its_header():
    roster = read("\n" * 250_000)
    assert roster.staff == [] and roster.errors == []


@pytest.mark.parametrize("extra", [1, 2])
def test_users_csv_with_more_than_250000_lines_after_its_header_is_refused(extra):
    with pytest.raises(ValidationError) as refused:
        read("\n" * (250_000 + extra))
    assert refused.value.errors == {"users": ["at most 250000 rows"]}


def test_orgs_csv_may_have_20000_lines_after_its_header():
    roster = read(row(), orgs=ORGS + "\n" * (20_000 - 2))
    assert taken(roster) == ["t-1"]


@pytest.mark.parametrize("extra", [1, 2])
def test_orgs_csv_with_more_than_20000_lines_after_its_header_is_refused(extra):
    with pytest.raises(ValidationError) as refused:
        read(row(), orgs=ORGS + "\n" * (20_000 - 2 + extra))
    assert refused.value.errors == {"orgs": ["at most 20000 rows"]}


def staff(count, start=0):
    return [row(sid=f"t-{i}") for i in range(start, start + count)]


def test_an_import_takes_up_to_5000_staff_of_the_member_and_others_do_not_count():
    roster = read(*staff(5_000), row(sid="o-1", orgs="org-2"), row(sid="d-1", enabled="false"),
                  row(sid="s-1", role="student"), row(sid="x-1", given=""))
    assert len(roster.staff) == 5_000
    assert roster.skipped == {"another organization": 1, "enabledUser false": 1, "student": 1}


def test_an_import_of_more_than_5000_staff_of_the_member_is_refused():
    with pytest.raises(ValidationError) as refused:
        read(*staff(5_001))
    assert refused.value.errors == {"users": ["at most 5000 staff"]}


# -- rows that are not taken ---------------------------------------------------------------------

@pytest.mark.parametrize("status", ["tobedeleted", "toBeDeleted", "TOBEDELETED"])
def test_a_row_to_be_deleted_is_counted_and_never_checked(status):
    roster = read(row(status=status, given="", email="nope"), row(sid="t-2"))
    assert taken(roster) == ["t-2"]
    assert roster.skipped == {"status tobedeleted": 1} and roster.errors == []


@pytest.mark.parametrize("status", ["active", "", "inactive", "unknown", "tobedeleted-soon"])
def test_a_row_of_any_other_status_is_read(status):
    assert taken(read(row(status=status))) == ["t-1"]


@pytest.mark.parametrize("enabled", ["false", "False", "FALSE"])
def test_a_disabled_user_is_counted_not_taken(enabled):
    roster = read(row(enabled=enabled), row(sid="t-2"))
    assert taken(roster) == ["t-2"]
    assert roster.skipped == {"enabledUser false": 1}


@pytest.mark.parametrize("enabled", ["true", "True", ""])
def test_an_enabled_user_or_one_without_the_flag_is_taken(enabled):
    roster = read(row(enabled=enabled))
    assert taken(roster) == ["t-1"] and roster.skipped == {}


def test_a_file_without_the_enabled_user_or_status_columns_is_read():
    header = "sourcedId,role,givenName,familyName,orgSourcedIds\n"
    roster = read("t-1,teacher,Ana,Ruiz,org-1\n", header=header)
    assert [(s.sourced_id, s.name, s.email, s.position) for s in roster.staff] == [
        ("t-1", "Ana Ruiz", None, "teacher")]


# -- control characters and malformed files ------------------------------------------------------

@pytest.mark.parametrize("control", ["\x01", "\x07", "\x1b", "\x1f"])
def test_a_row_with_a_control_character_is_reported_and_every_later_row_read(control):
    roster = read(row(sid="t-1"), row(sid="t-2", given=f"An{control}a"), row(sid="t-3"),
                  row(sid="t-4", family="Lane", email="ada@c.org"))
    assert taken(roster) == ["t-1", "t-3", "t-4"]
    assert roster.errors == [{"file": "users.csv", "line": 3, "sourced_id": "t-2",
                              "errors": {"_row": ["contains a control character"]}}]


@pytest.mark.parametrize("given", ["Ana Maria", "Ana\tMaria", "Ana!", "Ana~"])
def test_spaces_tabs_and_printable_characters_are_not_control_characters(given):
    roster = read(row(given=given))
    assert [s.name for s in roster.staff] == [f"{given} Ruiz"] and roster.errors == []


@pytest.mark.parametrize("file, line", [("users", 3), ("orgs", 4)])
def test_a_malformed_csv_file_is_refused_naming_the_file_and_the_line(file, line):
    too_big = "x" * 131_073      # larger than the csv module's field limit
    users, orgs = row(), ORGS
    if file == "users":
        users += row(sid="t-2", given=too_big)
    else:
        orgs += f"org-3,{too_big},school,,org-1\n"
    with pytest.raises(ValidationError) as refused:
        read(users, orgs=orgs)
    # The line of the bad row itself, as a spreadsheet numbers it (the header is line 1).
    assert refused.value.errors == {file: [f"malformed CSV at line {line}"]}


def test_a_file_with_a_nul_character_is_refused():
    with pytest.raises(ValidationError) as refused:
        read(row(given="An\x00a"))
    assert refused.value.errors == {"users": ["contains NUL"]}


# -- the staff rows themselves -------------------------------------------------------------------

def test_a_row_maps_to_the_same_person_id_in_every_release():
    first = read(row(sid="u-001")).staff[0]
    assert first.person_id("el-dorado", "mem-camino") == "el-dorado.per-e078223e38b48677"


def test_a_staff_row_cannot_be_changed_once_read():
    roster = read(row())
    copy = roster.report()
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.staff[0].name = "Someone Else"
    assert roster.staff[0].name == "Ana Ruiz"
    assert len({roster.staff[0], copy.staff[0]}) == 1     # hashable, equal by value
    assert isinstance(roster.staff[0], StaffRow)
