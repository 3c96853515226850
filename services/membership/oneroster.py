"""Reading a member's staff from a OneRoster 1.1 CSV export (orgs.csv and users.csv).

Plain Python, no I/O: the service hands in the two files' text and gets back the staff to add
and a report of every row it could not take. A district's export holds students and families
too; they are counted and left out, because the platform keeps no student-level data.

Which rows belong to the member: the org in orgs.csv whose identifier is the member's NCES id or
CDS code (or, failing that, whose name is the member's name), and every org below it through
parentSourcedId. A user belongs when any of its orgSourcedIds is one of those.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from eventstore.errors import ValidationError

ORG_COLUMNS = ("sourcedId", "name", "type")
USER_COLUMNS = ("sourcedId", "role", "givenName", "familyName", "orgSourcedIds")
ORG_TYPES = ("department", "school", "district", "local", "state", "national")
# OneRoster 1.1 roles of adults who work for the member; the others are never imported.
STAFF_ROLES = ("administrator", "aide", "proctor", "teacher")
NOT_STAFF_ROLES = ("student", "parent", "guardian", "relative")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_MAX = 200
# What one import may ask of the service: a district's export (its students are in users.csv,
# counted and dropped) fits well within these; anything larger is refused before any work.
MAX_ORGS = 20_000
MAX_USERS = 250_000
MAX_STAFF = 5_000


@dataclass(frozen=True)
class StaffRow:
    line: int
    sourced_id: str
    name: str
    email: str | None
    position: str

    def person_id(self, hub_id: str, member_id: str) -> str:
        """The same roster row always maps to the same person, so a re-import adds no one.
        The id is in the hub's namespace (eventstore/ids.py): no other hub can create it
        first, or learn whether it exists."""
        digest = hashlib.sha256(f"{member_id}/{self.sourced_id}".encode()).hexdigest()
        return f"{hub_id}.per-{digest[:16]}"


@dataclass
class Roster:
    staff: list[StaffRow] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def report(self) -> Roster:
        """A copy to report on: what a decision skips or rejects is added to the copy, so
        deciding again (after a concurrent write) starts from what the files said."""
        return Roster(list(self.staff), dict(self.skipped), list(self.errors))

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def reject(self, file: str, line: int, sourced_id: str | None,
               errors: dict[str, list[str]]) -> None:
        self.errors.append({"file": file, "line": line, "sourced_id": sourced_id,
                            "errors": errors})


def read_staff(orgs_text: str, users_text: str, member_id: str, member_name: str,
               codes: tuple[str | None, ...]) -> Roster:
    """The member's staff in the two files, and a per-row report of what was not taken.

    A file that is not a OneRoster file at all (missing columns, no org for the member) is
    refused as a whole: nothing is imported from it.
    """
    roster = Roster()
    for name, text, most in (("orgs", orgs_text, MAX_ORGS), ("users", users_text, MAX_USERS)):
        if text.count("\n") > most + 1:
            raise ValidationError(f"{name}.csv has more than {most} rows: import a district's "
                                  "export at a time", {name: [f"at most {most} rows"]})
    orgs = _read_orgs(_rows("orgs", orgs_text, ORG_COLUMNS, roster), roster)
    own = _member_orgs(orgs, member_id, member_name, codes)
    seen: set[str] = set()
    for line, row in _rows("users", users_text, USER_COLUMNS, roster):
        sourced_id = row["sourcedId"]
        problems: dict[str, list[str]] = {}
        role = row["role"].lower()
        if row.get("status", "").lower() == "tobedeleted":
            roster.skip("status tobedeleted")
            continue
        if role in NOT_STAFF_ROLES:
            roster.skip(role)       # no student-level data, no families
            continue
        org_ids = [o.strip() for o in row["orgSourcedIds"].split(",") if o.strip()]
        if not sourced_id:
            problems["sourcedId"] = ["required"]
        elif sourced_id in seen:
            problems["sourcedId"] = ["appears on an earlier line"]
        if role not in STAFF_ROLES:
            problems["role"] = [f"one of {', '.join(STAFF_ROLES + NOT_STAFF_ROLES)}"]
        for column in ("givenName", "familyName"):
            if not row[column]:
                problems[column] = ["required"]
            elif len(row[column]) > NAME_MAX:
                problems[column] = [f"at most {NAME_MAX} characters"]
        email = row.get("email") or None
        if email is not None and (len(email) > 254 or not EMAIL.match(email)):
            problems["email"] = ["not a valid email address"]
        unknown = [o for o in org_ids if o not in orgs]
        if not org_ids:
            problems["orgSourcedIds"] = ["required"]
        elif unknown:
            problems["orgSourcedIds"] = [f"not in orgs.csv: {', '.join(unknown)}"]
        if problems:
            roster.reject("users.csv", line, sourced_id or None, problems)
            continue
        seen.add(sourced_id)
        if row.get("enabledUser", "true").lower() == "false":
            roster.skip("enabledUser false")
        elif not own.intersection(org_ids):
            roster.skip("another organization")
        elif len(roster.staff) >= MAX_STAFF:
            raise ValidationError(f"users.csv lists more than {MAX_STAFF} staff of the member: "
                                  "import one district at a time",
                                  {"users": [f"at most {MAX_STAFF} staff"]})
        else:
            roster.staff.append(StaffRow(line, sourced_id,
                                         f"{row['givenName']} {row['familyName']}", email,
                                         role))
    return roster


def _rows(name: str, text: str, required: tuple[str, ...], roster: Roster):
    """(line, row) of a file, values stripped; a row with a control character is reported
    here, once for both files, and not yielded."""
    if "\x00" in text:
        raise ValidationError(f"{name}.csv is not a text file", {name: ["contains NUL"]})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationError(f"{name}.csv lacks the OneRoster columns {', '.join(missing)}",
                              {name: [f"missing columns: {', '.join(missing)}"]})
    reader.fieldnames = header
    try:
        for row in reader:
            # Line numbers as a spreadsheet shows them: the header is line 1.
            clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if any(_has_control(v) for v in clean.values()):
                roster.reject(f"{name}.csv", reader.line_num, clean.get("sourcedId") or None,
                              {"_row": ["contains a control character"]})
                continue
            yield reader.line_num, clean
    except csv.Error as exc:
        # The line the parser stopped on; the DictReader's own count is of the last good row.
        line = reader.reader.line_num
        raise ValidationError(f"{name}.csv is not valid CSV near line {line}: {exc}",
                              {name: [f"malformed CSV at line {line}"]}) from None


def _has_control(value: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\t" for ch in value)


def _read_orgs(rows, roster: Roster) -> dict[str, dict[str, str]]:
    orgs: dict[str, dict[str, str]] = {}
    for line, row in rows:
        problems: dict[str, list[str]] = {}
        if not row["sourcedId"]:
            problems["sourcedId"] = ["required"]
        elif row["sourcedId"] in orgs:
            problems["sourcedId"] = ["appears on an earlier line"]
        if not row["name"]:
            problems["name"] = ["required"]
        if row["type"].lower() not in ORG_TYPES:
            problems["type"] = [f"one of {', '.join(ORG_TYPES)}"]
        if problems:
            roster.reject("orgs.csv", line, row["sourcedId"] or None, problems)
            continue
        orgs[row["sourcedId"]] = row
    return orgs


def _member_orgs(orgs: dict[str, dict[str, str]], member_id: str, member_name: str,
                 codes: tuple[str | None, ...]) -> set[str]:
    wanted = {c for c in codes if c}
    roots = [k for k, o in orgs.items() if o.get("identifier") and o["identifier"] in wanted]
    if not roots:
        roots = [k for k, o in orgs.items() if o["name"].casefold() == member_name.casefold()]
    if not roots:
        raise ValidationError(
            f"orgs.csv has no org for member {member_id}: none has its NCES id or CDS code as "
            f"identifier, or its name {member_name!r}",
            {"orgs": ["no org matches the member"]})
    # Schools below the district, departments below schools: one pass to index the tree, one
    # walk down it, so the work is linear in the number of orgs however deep the tree is.
    children: dict[str, list[str]] = {}
    for key, org in orgs.items():
        parent = org.get("parentSourcedId")
        if parent:
            children.setdefault(parent, []).append(key)
    own = set(roots)
    pending = list(roots)
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in own:
                own.add(child)
                pending.append(child)
    return own
