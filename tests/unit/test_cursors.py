"""Opaque page cursors: a token holds a list's position, signed for one list and one caller;
any other token, or one edited by a single character, is 422 naming `after`."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore import cursors
from eventstore.errors import ValidationError
from eventstore.identity import Identity

ANA = Identity(sub="ana", role="facilitator", hubs=("el-dorado",))
KIND = "desk.hub-bookings.v1:el-dorado"
STATE = {"at": "2027-02-09T17:00:00+00:00", "id": "bkg-1", "rank": 0.25}


def refused(token, kind=KIND, caller=ANA):
    with pytest.raises(ValidationError) as error:
        cursors.decode(kind, token, caller)
    assert list(error.value.errors) == ["after"]


def test_a_token_reads_back_as_the_position_it_was_made_of():
    token = cursors.encode(KIND, STATE, ANA)
    assert cursors.PATTERN.fullmatch(token)
    assert cursors.decode(KIND, token, ANA) == STATE
    assert cursors.decode(KIND, None, ANA) is None   # the first page


@pytest.mark.parametrize("other", [
    Identity(sub="bo", role="facilitator", hubs=("el-dorado",)),         # another person
    Identity(sub="ana", role="facilitator", hubs=("el-dorado", "alpine")),  # another scope
    Identity(sub="ana", role="member", hubs=("el-dorado",)),
    Identity(sub="ana", role="facilitator", hubs=("el-dorado",), member="m-1"),
], ids=["subject", "hubs", "role", "member"])
def test_a_token_given_to_one_caller_is_refused_for_another(other):
    refused(cursors.encode(KIND, STATE, ANA), caller=other)


def test_a_token_of_one_list_is_refused_by_another():
    refused(cursors.encode(KIND, STATE, ANA), kind="desk.hub-bookings.v1:alpine")
    refused(cursors.encode(KIND, STATE, ANA), kind="desk.hub-bookings.v2:el-dorado")


@given(st.data())
def test_a_token_edited_in_any_one_character_is_refused(data):
    token = cursors.encode(KIND, STATE, ANA)
    at = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = data.draw(st.sampled_from([c for c in alphabet if c != token[at]]))
    refused(token[:at] + other + token[at + 1:])


def test_a_position_rewritten_by_hand_is_refused():
    token = cursors.encode(KIND, STATE, ANA)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    moved = raw[:16] + json.dumps({**STATE, "id": "bkg-0"}, sort_keys=True,
                                  separators=(",", ":")).encode()
    refused(base64.urlsafe_b64encode(moved).rstrip(b"=").decode())


@pytest.mark.parametrize("garbage", ["", "bkg-1", "x" * 513, "abc=", "a.b", "ab cd",
                                     "A", "AAAA", "A" * 22, 42, ["a"]])
def test_garbage_is_refused_not_a_failure(garbage):
    refused(garbage)


def test_a_position_that_would_make_a_token_too_long_is_a_programming_error():
    with pytest.raises(ValueError):
        cursors.encode(KIND, {"id": "x" * 500}, ANA)


def test_a_page_gives_a_token_of_its_last_row_only_when_there_is_more():
    rows = [{"id": f"b-{n}"} for n in range(3)]
    more = cursors.page(rows, 2, KIND, ANA, lambda row: {"id": row["id"]})
    assert more["items"] == rows[:2]
    assert cursors.decode(KIND, more["next"], ANA) == {"id": "b-1"}
    assert cursors.page(rows, 3, KIND, ANA, lambda row: {"id": row["id"]})["next"] is None
    assert cursors.page([], 3, KIND, ANA, lambda row: {"id": row["id"]}) == {
        "items": [], "next": None}


def test_a_token_spelled_another_way_for_the_same_bytes_is_refused():
    # base64 leaves the low bits of a last character unused: a decoder that ignores them
    # would take a token edited there as the token itself.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    state = next({"id": "x" * n} for n in range(3)
                 if (16 + len(json.dumps({"id": "x" * n}, separators=(",", ":")))) % 3)
    token = cursors.encode(KIND, state, ANA)
    twin = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
    assert base64.urlsafe_b64decode(twin + "=" * (-len(twin) % 4)) == \
        base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    refused(twin)
