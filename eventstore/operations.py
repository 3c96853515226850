"""The operator's controls of one service (issue 19): its dead letters inspected and replayed,
its projections rebuilt with their progress followed, how far behind its relay, consumers,
projections and log are, and the record of every operator action.

The same functions serve the operator routes (each service's kernel RPC methods, which the
gateway fans out: gateway/operations.py) and the CLI (eventstore/cli.py), so an action taken
either way is recorded the same way, in the service's own database (``operator_actions``):
who, what, on what, when and how it ended — a refused or failed action too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from .consumers import DeadLetters
from .db import Database
from .errors import Conflict, ConsortiumError, NotFound, ValidationError
from .projections import Projection, ProjectionRunner
from .store import START, EventStore

log = logging.getLogger("eventstore.operations")

# Counting the events behind stops here: "more than a million behind" is all an operator needs.
LAG_CAP = 1_000_000
# Rows of the record per answer.
MOST_ACTIONS = 500


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


class Operations:
    def __init__(self, service: str, db: Database, store: EventStore,
                 dead_letters: DeadLetters, projections: list[Projection]) -> None:
        self.service = service
        self.db = db
        self.store = store
        self.dead_letters = dead_letters
        self.projections = projections
        # Rebuilds this process runs: running, whether or not they hold the lock yet.
        self._running: set[int] = set()

    # -- the record --------------------------------------------------------------------------

    def record(self, actor: str, role: str, action: str, target: str, outcome: str,
               detail: str = "") -> None:
        with self.db.transaction() as tx:
            tx.execute("""INSERT INTO operator_actions (actor, role, action, target, outcome,
                                                        detail)
                          VALUES (%s, %s, %s, %s, %s, %s)""",
                       (actor, role, action, target, outcome, detail[:1000]))
        log.info("operator %s (%s): %s %s: %s %s", actor, role, action, target, outcome, detail)

    def recorded(self, actor: str, role: str, action: str, target: str,
                 work: Callable[[], Any]) -> Any:
        """Do ``work`` and record how it ended: done, refused (a client error, with its
        words) or failed (then raised again)."""
        try:
            result = work()
        except ConsortiumError as exc:
            self.record(actor, role, action, target,
                        "refused" if exc.status < 500 else "failed", exc.detail)
            raise
        except Exception as exc:
            self.record(actor, role, action, target, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self.record(actor, role, action, target, "done")
        return result

    def actions(self, limit: int = MOST_ACTIONS) -> list[dict[str, Any]]:
        limit = max(1, min(int(limit), MOST_ACTIONS))
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.execute("""SELECT id, at, actor, role, action, target, outcome, detail
                           FROM operator_actions ORDER BY id DESC LIMIT %s""", (limit,))
            columns = [c.name for c in cur.description]
            return [_iso({**dict(zip(columns, row, strict=True)), "service": self.service})
                    for row in cur.fetchall()]

    # -- dead letters ------------------------------------------------------------------------

    def letters(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        """Parked messages, with why each was parked, and their bodies."""
        return [_iso(letter) for letter in self.dead_letters.list(include_replayed)]

    def letter(self, letter_id: Any) -> dict[str, Any]:
        number = _letter_number(letter_id)
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.execute("""SELECT id, queue, exchange, routing_key, body, headers, reason,
                                  event_id, parked_at, replayed_at, replays
                           FROM dead_letters WHERE id = %s""", (number,))
            row = cur.fetchone()
            if row is None:
                raise NotFound(f"no dead letter {letter_id}")
            return _iso(dict(zip([c.name for c in cur.description], row, strict=True)))

    def replay(self, actor: str, role: str, letter_id: Any) -> None:
        number = _letter_number(letter_id)
        self.recorded(actor, role, "dead-letter.replay", f"{self.service}-{number}",
                      lambda: self.dead_letters.replay(number))

    def replay_all(self, actor: str, role: str) -> dict[str, Any]:
        """Every waiting letter replayed, each recorded; one that cannot be is reported and
        the others go on."""
        replayed, refused = [], []
        for letter in self.dead_letters.list():
            try:
                self.replay(actor, role, letter["id"])
                replayed.append(letter["id"])
            except ConsortiumError as exc:
                refused.append({"id": letter["id"], "detail": exc.detail})
        return {"replayed": replayed, "refused": refused}

    # -- rebuilds ----------------------------------------------------------------------------

    def start_rebuild(self, actor: str, role: str, names: list[str] | None,
                      spawn: Callable[[Callable[[], None]], Any]) -> dict[str, Any]:
        """Start rebuilding the named projections (all of them by default) in the service's
        process (``spawn``); the answer is the rebuild's record, to follow by its id."""
        chosen = [p for p in self.projections if not names or p.name in names]
        unknown = sorted(set(names or ()) - {p.name for p in self.projections})
        if unknown or not chosen:
            detail = (f"{self.service} has no projection {', '.join(map(repr, unknown))}"
                      if unknown else f"{self.service} has no projections")
            self.record(actor, role, "projections.rebuild", self.service, "refused", detail)
            raise ValidationError(detail, {"projections": [
                f"one of {', '.join(p.name for p in self.projections) or 'none'}"]})
        if not self._rebuild_lock_free():
            detail = f"a rebuild of {self.service}'s projections is running already"
            self.record(actor, role, "projections.rebuild", self.service, "refused", detail)
            raise Conflict(detail)
        total = self.store.count_after(START, 100 * LAG_CAP)
        with self.db.transaction() as tx:
            tx.execute("""INSERT INTO projection_rebuilds (projections, started_by, total)
                          VALUES (%s, %s, %s) RETURNING id""",
                       ([p.name for p in chosen], actor, total))
            rebuild_id = tx.fetchone()[0]
        target = f"{self.service}/{','.join(p.name for p in chosen)}"
        self.record(actor, role, "projections.rebuild", target, "started",
                    f"rebuild {self.service}-{rebuild_id}")

        def run() -> None:
            try:
                rebuild()
            finally:
                self._running.discard(rebuild_id)

        def rebuild() -> None:
            def progress(replayed: int) -> None:
                self._set(rebuild_id, "replayed = %s", replayed)
            try:
                count = ProjectionRunner(self.db, self.store, chosen).rebuild(
                    *chosen, progress=progress)
            except Exception as exc:  # noqa: BLE001 - the record says how it ended
                log.exception("rebuild %s failed", rebuild_id)
                self._set(rebuild_id, "status = 'failed', finished_at = now(), error = %s",
                          f"{type(exc).__name__}: {exc}"[:1000])
                self.record(actor, role, "projections.rebuild", target, "failed", str(exc))
                return
            self._set(rebuild_id, "status = 'done', finished_at = now(), replayed = %s",
                      count)
            self.record(actor, role, "projections.rebuild", target, "done",
                        f"{count} events replayed")
        self._running.add(rebuild_id)
        spawn(run)
        return self.rebuild_progress(rebuild_id)

    def _rebuild_lock_free(self) -> bool:
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext('projections-rebuild'))")
            if not cur.fetchone()[0]:
                return False
            cur.execute("SELECT pg_advisory_unlock(hashtext('projections-rebuild'))")
            return True

    def _set(self, rebuild_id: int, assignments: str, value: Any) -> None:
        with self.db.transaction() as tx:
            tx.execute(f"UPDATE projection_rebuilds SET {assignments} WHERE id = %s",
                       (value, rebuild_id))

    def rebuild_progress(self, rebuild_id: Any) -> dict[str, Any]:
        number = _letter_number(rebuild_id, "rebuild")
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.execute("""SELECT id, projections, started_by, started_at, finished_at, status,
                                  replayed, total, error
                           FROM projection_rebuilds WHERE id = %s""", (number,))
            row = cur.fetchone()
            if row is None:
                raise NotFound(f"no rebuild {rebuild_id}")
            found = _iso(dict(zip([c.name for c in cur.description], row, strict=True)))
            if found["status"] == "running" and number not in self._running:
                # Running elsewhere means a process holds the rebuild lock; none does after a
                # crash (a replica's rebuild takes it within moments of its start).
                cur.execute("SELECT now() - %s::timestamptz < interval '10 seconds'",
                            (found["started_at"],))
                if not cur.fetchone()[0] and self._rebuild_lock_free():
                    found["status"] = "interrupted"
        found["id"] = f"{self.service}-{found['id']}"
        found["service"] = self.service
        found["percent"] = (100.0 if found["status"] == "done" else
                            round(100.0 * min(found["replayed"], found["total"])
                                  / found["total"], 1) if found["total"] else 0.0)
        return found

    # -- how far behind ----------------------------------------------------------------------

    def lag(self, queue_depths: dict[str, int]) -> dict[str, Any]:
        """How far behind each of the service's followers of logs is, in events."""
        events, seconds = self.store.held_back()
        relay = self.store.count_after(self.store.checkpoint("relay"), LAG_CAP)
        projections = {p.name: self.store.count_after(self.store.checkpoint(p.checkpoint_name),
                                                      LAG_CAP)
                       for p in self.projections if not p.inline}
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.execute("""SELECT name, tx_id, position FROM checkpoints
                           WHERE name LIKE 'catch-up:%%' ORDER BY name""")
            catch_up = {name.split(":", 1)[1]: [int(tx), int(pos)]
                        for name, tx, pos in cur.fetchall()}
        return {"service": self.service,
                "relay_lag_events": relay,
                "consumer_lag_messages": queue_depths,
                "projection_lag_events": projections,
                "log_held_back": {"events": events, "seconds": round(seconds, 1)},
                "dead_letters_waiting": self.dead_letters.waiting(),
                "catch_up_positions": catch_up}


def _letter_number(value: Any, what: str = "dead letter") -> int:
    text = str(value)
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise NotFound(f"no {what} {text[:40]!r}")
    return int(text)
