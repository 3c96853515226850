"""Secret links: an object read without a bearer token, by a secret in its URL (a calendar
app polling a feed: ``Route(..., access="link")``, the secret in the ``<link>`` parameter).

A link is (kind, object, hub): ``issue`` gives a new random secret of 256 bits (43 URL-safe
characters) for it, replacing the one before, which stops working when the transaction commits
(rotation); only its SHA-256 is stored, in the kernel's table ``secret_links``
(eventstore/schema/0003_secret_links.sql). The gateway sends no identity with a link route; the
RPC resolves the secret itself and reads the object as its hub, and nothing else:

    @rpc
    def expert_calendar(self, link):
        with links.reading(self.kernel, EXPERT_BOOKINGS, link, "expert bookings") as (
                found, read_model):
            return calendar(read_model.expert_bookings(found.object_id, found.hub_id))

An unknown, malformed or rotated secret is the same NotFound, in the same words and after the
same work (a hash, one indexed lookup, a constant-time comparison), as any other: the answer
tells a guess nothing. Issuing is a write of the service, not a command with an
Idempotency-Key: a kept answer would keep the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import NotFound
from .identity import Identity

if TYPE_CHECKING:
    from .kernel import Kernel

SECRET_BYTES = 32
# What token_urlsafe(SECRET_BYTES) spells: the OpenAPI document describes link parameters so.
PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_NO_DIGEST = bytes(32)


@dataclass(frozen=True)
class Link:
    kind: str
    object_id: str
    hub_id: str

    def reader(self) -> Identity:
        """Whom the object is read as: a member of its hub and of no other, for row-level
        security and the read model's checks. It lives in the worker only (never signed onto
        a message), and the RPC chooses what it reads: the linked object."""
        return Identity(sub=f"link:{self.kind}", role="member", hubs=(self.hub_id,))


def digest(secret: str) -> bytes:
    # Any text hashes (a path may hold anything werkzeug decoded); only issued secrets match.
    return hashlib.sha256(str(secret).encode("utf-8", "surrogatepass")).digest()


def issue(cur: Any, kind: str, object_id: str, hub_id: str) -> str:
    """A new secret for (kind, object, hub) in the transaction of ``cur``; the one before, if
    any, stops working when it commits. Show it to the caller once: it is not kept."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    cur.execute("""INSERT INTO secret_links (kind, object_id, hub_id, secret_sha256)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (kind, object_id, hub_id)
                   DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256, created_at = now()""",
                (kind, object_id, hub_id, digest(secret)))
    return secret


def revoke(cur: Any, kind: str, object_id: str, hub_id: str) -> bool:
    """No secret opens (kind, object, hub) any more; False when none did."""
    cur.execute("DELETE FROM secret_links WHERE kind = %s AND object_id = %s AND hub_id = %s",
                (kind, object_id, hub_id))
    return bool(cur.rowcount)


def find(cur: Any, kind: str, secret: str) -> Link | None:
    """The link ``secret`` opens, or None: unknown, malformed and rotated secrets alike."""
    wanted = digest(secret)
    cur.execute("""SELECT object_id, hub_id, secret_sha256 FROM secret_links
                   WHERE kind = %s AND secret_sha256 = %s""", (kind, wanted))
    row = cur.fetchone()
    # The index found the row by the hash, which a guesser cannot steer; the comparison runs
    # whether or not it did, in constant time.
    stored = bytes(row[2]) if row is not None else _NO_DIGEST
    if not hmac.compare_digest(stored, wanted) or row is None:
        return None
    return Link(kind, row[0], row[1])


@contextmanager
def reading(kernel: Kernel, kind: str, secret: str, noun: str,
            object_id: str | None = None) -> Iterator[tuple[Link, Any]]:
    """The link ``secret`` opens, and the service's read model (its own subclass) as the
    link's hub (``Link.reader``): a read transaction under row-level security for that hub
    alone. ``NotFound("no <noun>")`` when the secret opens nothing of ``kind`` (or, given
    ``object_id``, the object named in the path is not the one it opens)."""
    with kernel.db.transaction() as cur:
        link = find(cur, kind, secret)
    if link is None or (object_id is not None and link.object_id != object_id):
        raise NotFound(f"no {noun}")
    reader = link.reader()
    with kernel.reading(reader) as cur:
        yield link, kernel.read_model(cur, reader, kernel.store)
