"""Reading a member's staff from a OneRoster 1.1 CSV export (orgs.csv and users.csv).

Plain Python, no I/O: the service hands in the two files' text and gets back the staff to add
and a report of the rows it could not take: every one counted, the first ERRORS_REPORTED in
full. A district's export holds students and families too; they are counted and left out,
because the platform keeps no student-level data.

Which rows belong to the member: the org in orgs.csv whose identifier is the member's NCES id or
CDS code (or, failing that, whose name is the member's name), and every org below it through
parentSourcedId. A user belongs when any of its orgSourcedIds is one of those.
"""

from __future__ import annotations

import csv
import hashlib
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
# counted and dropped) fits well within these; anything larger is refused as it is read, a row
# being whatever the CSV reader ends (\n, \r\n or a lone \r).
MAX_ORGS = 20_000
MAX_USERS = 250_000
MAX_STAFF = 5_000
# What a report names: a file of a quarter of a million bad rows must answer in kilobytes, and
# what reading it holds must not grow with its bad rows. The rest are counted, by file and field.
ERRORS_REPORTED = 100
PEOPLE_REPORTED = 100
# Text a report repeats from a file (a sourcedId, an org id) is cut to this many characters: a
# CSV field may be 128 KB, and the first errors of a report must stay small.
ECHO_MAX = 64


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
    """``errors``: the first ERRORS_REPORTED rejected rows in full; ``rejected``: every
    rejected row; ``rejected_by_field``: ``"<file> <field>"`` (``"users.csv email"``) → the
    rows rejected for that field (``_row``: the row as a whole), a row with several bad fields
    counted under each."""
    staff: list[StaffRow] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    rejected_by_field: dict[str, int] = field(default_factory=dict)

    def report(self) -> Roster:
        """A copy to report on: what a decision skips or rejects is added to the copy, so
        deciding again (after a concurrent write) starts from what the files said."""
        return Roster(list(self.staff), dict(self.skipped), list(self.errors), self.rejected,
                      dict(self.rejected_by_field))

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def reject(self, file: str, line: int, sourced_id: str | None,
               errors: dict[str, list[str]]) -> None:
        self.rejected += 1
        for column in errors:
            kind = f"{file} {column}"
            self.rejected_by_field[kind] = self.rejected_by_field.get(kind, 0) + 1
        if len(self.errors) < ERRORS_REPORTED:
            self.errors.append({"file": file, "line": line, "sourced_id": echo(sourced_id),
                                "errors": errors})


def echo(value: str | None) -> str | None:
    """``value`` as a report repeats it: cut to ECHO_MAX characters, marked with an ellipsis."""
    if value is None or len(value) <= ECHO_MAX:
        return value
    return value[:ECHO_MAX - 1] + "\u2026"


def read_staff(orgs_text: str, users_text: str, member_id: str, member_name: str,
               codes: tuple[str | None, ...]) -> Roster:
    """The member's staff in the two files, and a per-row report of what was not taken.

    A file that is not a OneRoster file at all (missing columns, no org for the member) is
    refused as a whole: nothing is imported from it.
    """
    roster = Roster()
    orgs = _read_orgs(_rows("orgs", orgs_text, ORG_COLUMNS, MAX_ORGS, roster), roster)
    own = _member_orgs(orgs, member_id, member_name, codes)
    seen: set[str] = set()
    for line, row in _rows("users", users_text, USER_COLUMNS, MAX_USERS, roster):
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
            problems["orgSourcedIds"] = [f"not in orgs.csv: {echo(', '.join(unknown))}"]
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


def _rows(name: str, text: str, required: tuple[str, ...], most: int, roster: Roster):
    """(line, row) of a file, values stripped; a row with a control character is reported
    here, once for both files, and not yielded. More than ``most`` rows after the header are
    refused as they are read."""
    if "\x00" in text:
        raise ValidationError(f"{name}.csv is not a text file", {name: ["contains NUL"]})
    reader = csv.reader(_lines(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise ValidationError(f"{name}.csv lacks the OneRoster columns "
                                  f"{', '.join(missing)}",
                                  {name: [f"missing columns: {', '.join(missing)}"]})
        count = 0
        for values in reader:
            # The reader ends a row at \n, \r\n or a lone \r alike, so the cap counts what
            # it reads, blank rows too: counting one kind of line ending let a file of rows
            # ended by \r through whole.
            count += 1
            if count > most:
                raise ValidationError(f"{name}.csv has more than {most} rows: import a "
                                      "district's export at a time",
                                      {name: [f"at most {most} rows"]})
            if not values:
                continue
            # As a DictReader would: a missing value is empty, one past the header dropped.
            values.extend([""] * (len(header) - len(values)))
            clean = dict(zip(header, map(str.strip, values), strict=False))
            # Line numbers as a spreadsheet shows them: the header is line 1.
            if _has_control("\t".join(clean.values())):
                roster.reject(f"{name}.csv", reader.line_num, clean.get("sourcedId") or None,
                              {"_row": ["contains a control character"]})
                continue
            yield reader.line_num, clean
    except csv.Error as exc:
        # The line the parser stopped on, as a spreadsheet numbers it.
        line = reader.line_num
        raise ValidationError(f"{name}.csv is not valid CSV near line {line}: {exc}",
                              {name: [f"malformed CSV at line {line}"]}) from None


# A line as io.StringIO(newline="") splits them (ended by \r\n, \r or \n, kept), found in
# the text itself: a StringIO would hold a copy of the file four times its size.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text: str):
    return (line.group() for line in _LINE.finditer(text))


# Control characters but the tab: one search of a row's values joined by tabs, rather than a
# look at every character (most of the time a file of 250,000 rows took to read).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")


def _has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


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
