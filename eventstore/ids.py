"""Ids of objects, and whose they are.

A client may choose the id of a new object of a hub, but only inside that hub's namespace:
``<hub id>.<name>`` (``el-dorado.buckeye-persistence``). So no client can create, or probe
for, an id in another county's namespace: an id outside its own is refused before anything
is looked up, whether or not it is taken (docs/decisions/004-tenancy-and-identity.md). Ids the
server chooses are random and have no dot (``mem-3f9a0c1b2d4e``); hub ids have none either.
Plain Python: domain modules may import it.
"""

from __future__ import annotations

import re
import uuid

from .errors import ValidationError

NAME = r"[a-z0-9][a-z0-9-]{0,62}"
HUB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
CHOSEN_ID = re.compile(rf"^([a-z0-9][a-z0-9-]{{1,62}})\.{NAME}$")
# Any id a route or a body may name: a hub's, the server's or a client's.
ANY_ID = re.compile(rf"^[a-z0-9][a-z0-9-]{{1,62}}(\.{NAME})?$")
ID_RULE = "lower-case letters, digits and dashes (a client's own ids: <hub id>.<name>)"


def namespace_of(id_: str) -> str | None:
    """The hub whose namespace a client-chosen id is in (``el-dorado`` of ``el-dorado.07``);
    None for a server-chosen id or a hub's."""
    match = CHOSEN_ID.match(id_)
    return match.group(1) if match else None


def new_id(prefix: str) -> str:
    """A server-chosen id, like ``mem-3f9a0c1b2d4e``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def id_for(hub_id: str | None, chosen: str | None, prefix: str, field: str = "id") -> str:
    """The id of a new object of ``hub_id``: the client's, if it is in the hub's namespace,
    else a new one."""
    if chosen is None:
        return new_id(prefix)
    match = CHOSEN_ID.match(chosen)
    if match is None or match.group(1) != hub_id:
        raise ValidationError(f"{field} must be {hub_id}.<name>: a hub's own ids begin with "
                              "the hub's id and a dot",
                              {field: [f"{hub_id}.<name>, <name> of lower-case letters, "
                                       "digits and dashes"]})
    return chosen
