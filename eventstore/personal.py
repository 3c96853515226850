"""Personal data: a person's name, email or other contact data, kept outside the events.

A service declares it once, on its read model, and every service gets the same guarantees:

    class MembershipReadModel(ReadModel):
        people = PersonalData("people_pii", subject="person_id", fields=("name", "email"),
                              erased={"erased": True})

    session.after_save(lambda: session.read_model.people.keep(person.id, name=..., email=...))
    self.read_model.people.get(person.id)            # (name, email), or None
    session.after_save(lambda: session.read_model.people.erase(person.id))

- **Outside the events.** The log is kept for ever and no event can be changed, so personal
  data lives in a table of the service's own (its migration creates it: the subject's id as the
  primary key and the fields, with its row-level security); events hold the subject's id.
- **keep** (insert or replace every field), **update** (some fields of a kept row), **get** and
  **of** (read one, or many at once), **erase**.
- **Erasure reaches every copy.** ``erase`` deletes the row and, in the same transaction,
  overwrites the fields with null (and the ``erased`` marks) in every answer kept for an
  Idempotency-Key about the subject (an answer whose ``id`` is the subject's), and re-keys
  each: a key's fingerprint hashed the request that held the data, and would confirm a guess of
  it (``EventStore.redact_recorded``). A replay under such a key answers the redacted record
  whatever body comes with it.
- ``tables_holding`` finds every table of a service's database that still holds a value: what
  a test of erasure asserts empty (and an operator may run to check one).
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Iterable, Mapping
from typing import Any

from psycopg2 import sql

from .db import connect


class PersonalData:
    """The declaration: ``table`` keeps ``fields`` of each subject, keyed by the ``subject``
    column. ``erased``: what an answer kept for an Idempotency-Key about an erased subject
    says besides its fields blanked (``{"erased": True}``)."""

    def __init__(self, table: str, *, subject: str, fields: Iterable[str],
                 erased: Mapping[str, Any] | None = None) -> None:
        self.table = table
        self.subject = subject
        self.fields = tuple(fields)
        if not self.fields or subject in self.fields:
            raise ValueError("personal data has fields, and the subject's id is not one")
        self.erased = dict(erased or {})
        # What is kept of one subject: a tuple in the order of ``fields`` that names them too.
        self.Kept = namedtuple("Kept", self.fields)  # type: ignore[misc]  # noqa: PYI024

    def __get__(self, read_model: Any, owner: type | None = None) -> Any:
        return self if read_model is None else Keeper(self, read_model)

    def redacted(self) -> dict[str, Any]:
        """What erasure writes over an answer kept about the subject."""
        return {**{name: None for name in self.fields}, **self.erased}


class Keeper:
    """The declared personal data on one read model's transaction (``read_model.people``)."""

    def __init__(self, declared: PersonalData, read_model: Any) -> None:
        self.declared = declared
        self.read_model = read_model
        self._table = sql.Identifier(declared.table)
        self._subject = sql.Identifier(declared.subject)
        self._fields = sql.SQL(", ").join(sql.Identifier(f) for f in declared.fields)

    def keep(self, subject_id: str, **values: Any) -> None:
        """Keep the subject's data, every field (a field not given is kept as null)."""
        self._check(values)
        declared = self.declared
        row = [values.get(name) for name in declared.fields]
        self.read_model.cur.execute(sql.SQL(
            "INSERT INTO {table} ({subject}, {fields}) VALUES ({values}) "
            "ON CONFLICT ({subject}) DO UPDATE SET {replace}").format(
                table=self._table, subject=self._subject, fields=self._fields,
                values=sql.SQL(", ").join(sql.Placeholder() * (len(row) + 1)),
                replace=sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name))
                    for name in declared.fields)),
            [subject_id, *row])

    def update(self, subject_id: str, **values: Any) -> bool:
        """Change some fields of the subject's kept data; False if none is kept."""
        self._check(values)
        if not values:
            return self.get(subject_id) is not None
        names = list(values)
        self.read_model.cur.execute(sql.SQL("UPDATE {table} SET {set} WHERE {subject} = %s")
                                    .format(table=self._table, subject=self._subject,
                                            set=sql.SQL(", ").join(
                                                sql.SQL("{} = %s").format(sql.Identifier(n))
                                                for n in names)),
                                    [*(values[n] for n in names), subject_id])
        return bool(self.read_model.cur.rowcount)

    def get(self, subject_id: str) -> Any:
        """The subject's data (a tuple in the order of the fields, which it names too), or
        None: never kept, or erased."""
        return self.of([subject_id]).get(subject_id)

    def of(self, subject_ids: Iterable[str]) -> dict[str, Any]:
        """The data of those of these subjects that have some, in one query."""
        cur = self.read_model.cur
        cur.execute(sql.SQL("SELECT {subject}, {fields} FROM {table} WHERE {subject} = ANY(%s)")
                    .format(table=self._table, subject=self._subject, fields=self._fields),
                    (list(subject_ids),))
        return {row[0]: self.declared.Kept(*row[1:]) for row in cur.fetchall()}

    def erase(self, subject_id: str) -> None:
        """The subject's data leaves every table: its row, and every answer kept for an
        Idempotency-Key about the subject (whose key is re-keyed)."""
        cur = self.read_model.cur
        cur.execute(sql.SQL("DELETE FROM {table} WHERE {subject} = %s").format(
            table=self._table, subject=self._subject), (subject_id,))
        self.read_model.store.redact_recorded(subject_id, self.declared.redacted(), cur)

    def _check(self, values: Mapping[str, Any]) -> None:
        unknown = set(values) - set(self.declared.fields)
        if unknown:
            raise TypeError(f"{self.declared.table} keeps {', '.join(self.declared.fields)}, "
                            f"not {', '.join(sorted(unknown))}")


def tables_holding(database_url: str, *values: str) -> dict[str, int]:
    """Every table of a database that holds one of ``values`` anywhere in a row, with how many
    rows do: ``{}`` after an erasure that left nothing behind. A value is looked for as text in
    the row, and as JSON text (escaped) in its JSON form, so it is found in text, JSON and
    JSON-in-text columns alike. Reads as a service's system tasks do (no hub scope), so
    row-level security hides nothing."""
    wanted = [v for v in values if v]
    if not wanted:
        raise ValueError("look for something")
    as_text = list(wanted)
    as_json = [json.dumps(v, ensure_ascii=False)[1:-1] for v in wanted]
    found: dict[str, int] = {}
    conn = connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("""SELECT table_name FROM information_schema.tables
                           WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
                           ORDER BY 1""")
            for (table,) in cur.fetchall():
                cur.execute(sql.SQL(
                    "SELECT count(*) FROM {} t WHERE EXISTS (SELECT 1 FROM unnest(%s::text[], "
                    "%s::text[]) AS v(text, json) WHERE strpos(t::text, v.text) > 0 "
                    "OR strpos(to_jsonb(t)::text, v.json) > 0)").format(sql.Identifier(table)),
                    (as_text, as_json))
                count = cur.fetchone()[0]
                if count:
                    found[table] = count
    finally:
        conn.close()
    return found
