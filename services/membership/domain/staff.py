"""What a staff import does, decided from what the files and the log say: plain Python, like the
rest of the domain (the service reads the files and the people on file, and carries out the
plan).

    plan = plan_staff_import(member, roster, ids, found, on_file, apply=True)
    plan.taken     # (row, person id, outcome) of every row that adds or changes a person
    plan.report    # the import's answer: counts, the first errors and people
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import ELSEWHERE, ERASED, IMPORTED, UNCHANGED, UPDATED, Member, Person, staff_row_outcome
from .oneroster import PEOPLE_REPORTED, Roster, StaffRow, echo

# What an Idempotency-Key keeps of a staff import's answer too large to keep whole (bytes of
# JSON): well under the kernel's RECORD_LIMIT_BYTES, whatever the files held.
IMPORT_SUMMARY_BYTES = 4096


@dataclass(frozen=True)
class StaffImportPlan:
    taken: list[tuple[StaffRow, str, str]]
    report: dict[str, Any]


def plan_staff_import(member: Member, roster: Roster, ids: list[str],
                      found: dict[str, Person], on_file: dict[str, tuple[str, str | None]],
                      apply: bool) -> StaffImportPlan:
    """What each staff row does (row, person id, outcome), and the import's report. ``ids``
    are the rows' person ids, ``found`` the people the log has of them, ``on_file`` their
    names and emails; an erased person is never brought back, and an id that is anyone's
    but this member's staff is refused."""
    report = roster.report()
    taken: list[tuple[StaffRow, str, str]] = []
    for row, person_id in zip(roster.staff, ids, strict=True):
        outcome = staff_row_outcome(member, found.get(person_id), on_file.get(person_id),
                                    row.name, row.email)
        if outcome == ERASED:
            report.skip("erased person")    # an erasure is not undone by a roster
        elif outcome == ELSEWHERE:
            report.reject("users.csv", row.line, row.sourced_id, {"sourcedId": [
                "names a person who is not this member's staff"]})
        else:
            taken.append((row, person_id, outcome))
    counts = {o: sum(outcome == o for _, _, outcome in taken)
              for o in (IMPORTED, UPDATED, UNCHANGED)}
    people = [{"id": person_id, "sourced_id": echo(row.sourced_id), "line": row.line,
               "outcome": outcome} for row, person_id, outcome in taken[:PEOPLE_REPORTED]]
    return StaffImportPlan(taken, {
        "member_id": member.id, "dry_run": not apply, **counts, "rejected": report.rejected,
        "rejected_by_field": report.rejected_by_field, "skipped": report.skipped,
        "errors": report.errors, "people": people, "people_total": len(taken),
        "abridged": False})


def staff_import_summary(report: dict[str, Any]) -> dict[str, Any]:
    """An import's answer as a replay gives it: every count, no people, and as many of the
    first errors as fit in IMPORT_SUMMARY_BYTES (``abridged: true``)."""
    kept = {**report, "people": [], "errors": [], "abridged": True}
    size = len(json.dumps(kept))
    for error in report["errors"]:
        size += len(json.dumps(error)) + 2
        if size > IMPORT_SUMMARY_BYTES:
            break
        kept["errors"].append(error)
    return kept
