"""IANA time zones by name, as a request may give one: one lookup for every service.

A name is looked up among the zone database's names, never as a path: ``zoneinfo`` opens
``America`` (a folder) or ``../x`` as files and fails in ways no client should see (an
``IsADirectoryError`` is a 500). Files that name no place (the machine's own setting, the zone
of "no zone set") are not zones here.
"""

from __future__ import annotations

import functools
import zoneinfo

NOT_A_PLACE = {"localtime", "posixrules", "Factory"}


@functools.cache
def names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - NOT_A_PLACE)


def zone_named(name: object) -> zoneinfo.ZoneInfo | None:
    """The zone of that IANA name (America/Los_Angeles), or None for anything else."""
    if not isinstance(name, str) or name not in names():
        return None
    return zoneinfo.ZoneInfo(name)
