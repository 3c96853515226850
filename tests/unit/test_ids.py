"""Ids: a client's own ids live in its hub's namespace; the server's are random."""

from __future__ import annotations

import re

import pytest

from eventstore.errors import ValidationError
from eventstore.ids import ANY_ID, CHOSEN_ID, HUB_ID, id_for, new_id


def test_the_server_picks_a_random_dotless_id_with_the_kind_in_front():
    ids = {new_id("mem") for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"mem-[0-9a-f]{12}", i) for i in ids)


def test_without_an_id_the_server_picks_one():
    assert re.fullmatch(r"per-[0-9a-f]{12}", id_for("el-dorado", None, "per"))


@pytest.mark.parametrize("chosen", ["el-dorado.07", "el-dorado.a", "el-dorado.buckeye-math"])
def test_a_client_may_choose_an_id_in_its_hubs_namespace(chosen):
    assert id_for("el-dorado", chosen, "mem") == chosen


@pytest.mark.parametrize("chosen", [
    "alpine.07",            # another hub's namespace, sorting before ...
    "zeta.07",              # ... and after this one
    "el-dorado-07",         # no namespace at all
    "el.dorado.07",         # a hub that is a prefix of the real one, a dot too many
    "el-dorado.",           # no name
    "el-dorado.-x",         # a name must start with a letter or digit
    "el-dorado.X",          # upper case
    "el-dorado.07.x",       # two dots
    "el-dorad.07",          # a hub one letter short
    ".07",
])
def test_any_other_id_is_refused_naming_the_field(chosen):
    with pytest.raises(ValidationError) as refused:
        id_for("el-dorado", chosen, "mem", field="id")
    assert refused.value.errors == {
        "id": ["el-dorado.<name>, <name> of lower-case letters, digits and dashes"]}


def test_the_patterns_tell_ids_apart():
    assert HUB_ID.match("el-dorado") and not HUB_ID.match("el-dorado.07")
    assert not HUB_ID.match("e") and HUB_ID.match("e" * 63) and not HUB_ID.match("e" * 64)
    assert CHOSEN_ID.match("el-dorado.07").group(1) == "el-dorado"
    assert not CHOSEN_ID.match("mem-3f9a0c1b2d4e")
    for any_id in ("el-dorado", "mem-3f9a0c1b2d4e", "el-dorado.07", "el-dorado." + "a" * 63):
        assert ANY_ID.match(any_id), any_id
    for bad in ("El", "a", "el-dorado.", "el-dorado.." , "x" * 64, "el-dorado." + "a" * 64):
        assert not ANY_ID.match(bad), bad


@pytest.mark.parametrize("id_, hub", [
    ("el-dorado.07", "el-dorado"), ("alpine.a", "alpine"), ("el-dorado.buckeye-math", "el-dorado"),
    ("mem-3f9a0c1b2d4e", None), ("el-dorado", None), ("El-Dorado.07", None), ("", None)])
def test_a_client_chosen_id_names_the_hub_whose_namespace_it_is_in(id_, hub):
    from eventstore.ids import namespace_of
    assert namespace_of(id_) == hub
