"""Secret links on a real database: a secret opens its (kind, object, hub) and nothing else,
is kept only as a hash, stops working when rotated, and reads the object as its hub alone."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from eventstore import links
from eventstore.errors import NotFound
from eventstore.kernel import Kernel
from eventstore.readmodel import ReadModel

KIND = "scheduling.person-calendar"


def issue(db, object_id="per-1", hub_id="el-dorado", kind=KIND):
    with db.transaction() as cur:
        return links.issue(cur, kind, object_id, hub_id)


def find(db, secret, kind=KIND):
    with db.transaction() as cur:
        return links.find(cur, kind, secret)


def test_a_secret_opens_its_link_and_is_kept_only_as_its_hash(db):
    secret = issue(db)
    assert links.PATTERN.fullmatch(secret)
    assert find(db, secret) == links.Link(KIND, "per-1", "el-dorado")
    with db.transaction() as cur:
        cur.execute("SELECT secret_sha256 FROM secret_links")
        (stored,), = cur.fetchall()
    assert bytes(stored) == hashlib.sha256(secret.encode()).digest()
    assert secret.encode() not in bytes(stored)


def test_a_rotated_secret_opens_nothing_and_the_new_one_does(db):
    old = issue(db)
    new = issue(db)
    assert old != new
    assert find(db, old) is None
    assert find(db, new) == links.Link(KIND, "per-1", "el-dorado")
    with db.transaction() as cur:
        assert links.revoke(cur, KIND, "per-1", "el-dorado")
        assert not links.revoke(cur, KIND, "per-1", "el-dorado")
    assert find(db, new) is None


@pytest.mark.parametrize("guess", ["", "x", "A" * 43, "A" * 5000, "a/b", "\udcff", "\x00"])
def test_unknown_and_malformed_secrets_open_nothing_and_fail_nothing(db, guess):
    issue(db)
    assert find(db, guess) is None


def test_a_secret_opens_only_its_own_kind_and_object(db):
    calendar = issue(db)
    other_hub = issue(db, hub_id="alpine")
    assert find(db, calendar, kind="scheduling.hub-calendar") is None
    assert find(db, other_hub) == links.Link(KIND, "per-1", "alpine")


class Meetings(ReadModel):
    def all_meetings(self):
        # No WHERE on purpose: row-level security alone keeps the other hub's rows out.
        return [row["id"] for row in self.rows("SELECT id FROM meetings ORDER BY id")]


def test_a_link_reads_as_its_hub_and_no_other(db, store):
    with db.transaction() as cur:
        cur.execute("CREATE TABLE meetings (id text, hub_id text)")
        cur.execute("INSERT INTO meetings VALUES ('m-1', 'el-dorado'), ('m-2', 'alpine')")
        cur.execute("SELECT consortium_scope_by_hub('meetings', 'hub_id')")
    kernel = SimpleNamespace(db=db, store=store, read_model=Meetings)
    kernel.reading = lambda caller: Kernel.reading(kernel, caller)
    secret = issue(db)
    with links.reading(kernel, KIND, secret, "calendar") as (link, read_model):
        assert link.hub_id == "el-dorado"
        assert read_model.all_meetings() == ["m-1"]
        assert read_model.caller.may_read_hub("el-dorado")
        assert not read_model.caller.may_read_hub("alpine")
        assert not read_model.caller.may_write_hub("el-dorado")
    for wrong in (issue(db, "per-2"), secret + "x"):
        with pytest.raises(NotFound) as unknown, links.reading(kernel, KIND, wrong, "calendar",
                                                               object_id="per-1"):
            pass
        assert unknown.value.detail == "no calendar"
