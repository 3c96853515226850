"""Reading a member's staff from a OneRoster 1.1 export: what is taken, what is skipped and why,
and which rows are reported as bad, by line."""

from __future__ import annotations

import pytest

from eventstore.errors import ValidationError
from services.membership.domain.oneroster import read_staff
from tests.support import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "oneroster"
ORGS = (FIXTURES / "orgs.csv").read_text()
USERS = (FIXTURES / "users.csv").read_text()


def camino(orgs=ORGS, users=USERS, codes=("0601234", None), name="Camino Union"):
    return read_staff(orgs, users, "mem-camino", name, codes)


def test_staff_of_the_member_and_its_schools_are_taken_with_their_position():
    roster = camino()
    assert [(s.sourced_id, s.name, s.email, s.position) for s in roster.staff] == [
        ("u-001", "Julia Martinez", "jmartinez@camino.example.org", "administrator"),
        ("u-002", "Robert Chen", "rchen@camino.example.org", "teacher"),
        ("u-003", "Lena Patel", None, "aide"),     # a department below a school counts
    ]
    assert [s.line for s in roster.staff] == [2, 3, 4]


def test_students_families_and_other_organizations_are_counted_never_taken():
    roster = camino()
    assert roster.skipped == {"student": 2, "parent": 1, "status tobedeleted": 1,
                              "enabledUser false": 1, "another organization": 1}
    assert not any(s.position == "student" for s in roster.staff)


def test_every_bad_row_is_reported_with_its_line_and_fields():
    errors = {(e["line"], e["sourced_id"]): e["errors"] for e in camino().errors}
    assert errors == {
        (8, "u-004"): {"givenName": ["required"]},
        (9, "u-005"): {"email": ["not a valid email address"]},
        (10, "u-006"): {"orgSourcedIds": ["not in orgs.csv: org-nowhere"]},
        (11, "u-007"): {"role": ["one of administrator, aide, proctor, teacher, student, "
                                 "parent, guardian, relative"]},
        (12, "u-002"): {"sourcedId": ["appears on an earlier line"]},
    }


def test_the_same_row_always_maps_to_the_same_person_and_members_do_not_share_ids():
    first, again = camino().staff[0], camino().staff[0]
    assert first.person_id("el-dorado", "mem-camino") == again.person_id("el-dorado",
                                                                         "mem-camino")
    assert first.person_id("el-dorado", "mem-camino") != first.person_id("el-dorado",
                                                                         "mem-other")
    assert first.person_id("el-dorado", "mem-camino").startswith("el-dorado.per-")


def test_the_member_is_found_by_name_when_no_code_matches():
    assert len(camino(codes=(None, None)).staff) == 3


def test_a_file_without_the_member_or_the_columns_is_refused_whole():
    with pytest.raises(ValidationError) as err:
        camino(codes=(None, None), name="Pollock Pines")
    assert err.value.extra["errors"] == {"orgs": ["no org matches the member"]}
    with pytest.raises(ValidationError) as err:
        camino(users="sourcedId,givenName\nu-1,Ann\n")
    assert "role" in err.value.extra["errors"]["users"][0]
    with pytest.raises(ValidationError):
        camino(orgs="not,a\x00,csv\n")


def test_bad_org_rows_and_control_characters_are_row_errors():
    orgs = ORGS + "org-bad,active,2026-08-01,,planet,,\n" + \
        "org-bell,active,2026-08-01,Bell\x07 School,school,,org-camino\n"
    users = USERS + "u-011,active,2026-08-01,true,org-camino,teacher,x,,Eve\x07,Bell,,,,,,,,\n"
    roster = camino(orgs=orgs, users=users)
    assert {"file": "orgs.csv", "line": 7, "sourced_id": "org-bad",
            "errors": {"name": ["required"], "type": [
                "one of department, school, district, local, state, national"]}} in roster.errors
    assert {"file": "users.csv", "line": 16, "sourced_id": "u-011",
            "errors": {"_row": ["contains a control character"]}} in roster.errors
    assert {"file": "orgs.csv", "line": 8, "sourced_id": "org-bell",
            "errors": {"_row": ["contains a control character"]}} in roster.errors


class CountingOrgs(dict):
    """An orgs table that counts how often it is scanned whole."""

    scans = 0

    def items(self):
        CountingOrgs.scans += 1
        return super().items()


def test_the_org_tree_is_walked_in_linear_time_however_deep():
    from services.membership.domain.oneroster import _member_orgs
    depth = 2_000
    orgs = CountingOrgs({f"o-{i}": {"name": f"Org {i}", "identifier": "0601234" if i == 0
                                    else "", "parentSourcedId": f"o-{i - 1}" if i else ""}
                         for i in range(depth)})
    CountingOrgs.scans = 0
    own = _member_orgs(orgs, "m", "Org 0", ("0601234",))
    assert len(own) == depth
    assert CountingOrgs.scans <= 3   # not once per level of the tree


def test_an_import_asks_a_bounded_amount_of_work():
    from services.membership.domain import oneroster
    header = "sourcedId,role,givenName,familyName,orgSourcedIds\n"
    orgs = ("sourcedId,name,type,identifier,parentSourcedId\n"
            "org-1,Camino Union,district,0601234,\n")
    too_long = header + "x\n" * (oneroster.MAX_USERS + 2)
    with pytest.raises(ValidationError) as refused:
        read_staff(orgs, too_long, "m", "Camino Union", ("0601234",))
    assert refused.value.errors == {"users": [f"at most {oneroster.MAX_USERS} rows"]}
    staff = header + "".join(f"t-{i},teacher,A,B,org-1\n"
                             for i in range(oneroster.MAX_STAFF + 1))
    with pytest.raises(ValidationError) as refused:
        read_staff(orgs, staff, "m", "Camino Union", ("0601234",))
    assert refused.value.errors == {"users": [f"at most {oneroster.MAX_STAFF} staff"]}
    at_most = header + "".join(f"t-{i},teacher,A,B,org-1\n"
                               for i in range(oneroster.MAX_STAFF))
    assert len(read_staff(orgs, at_most, "m", "Camino Union", ("0601234",)).staff) == \
        oneroster.MAX_STAFF


def test_a_row_with_a_control_character_stops_nothing_after_it():
    first = "u-020,active,2026-08-01,true,org-camino,teacher,x,,Eve\x07,Bell,,,,,,,,\n"
    after = ("u-021,active,2026-08-01,true,org-camino,teacher,y,,Ada,Lane,,,,ada@c.org,,,,\n"
             "u-022,active,2026-08-01,true,org-camino,aide,z,,Bo,Park,,,,,,,,\n")
    taken = {s.sourced_id for s in camino(users=USERS + first + after).staff}
    assert {"u-021", "u-022"} <= taken and "u-020" not in taken
    orgs = ORGS.replace("Camino Elementary", "Camino\x07 Elementary", 1)
    after_bad_org = {s.sourced_id for s in camino(orgs=orgs).staff}
    # The middle school and its department come after the bad row: still the member's.
    assert after_bad_org == {"u-001", "u-002", "u-003"}
