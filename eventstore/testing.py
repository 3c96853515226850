"""given / when / then for aggregates, without a database:

    given(Member, "m-1", [("MemberEnrolled", {...})]) \\
        .when(lambda m: m.assign_role(*received("p-1", "sponsor"))) \\
        .then([("RoleAssigned", {"person_id": "p-1", "role": "sponsor"})])

Values reach an aggregate as a service receives them: the history's data as the store gives it
back (decoded from JSON), and command arguments through ``received`` (decoded from a request's
JSON). A test's own literals are interned by Python, so a rule that compared them with ``is``
where it means ``==`` would pass with them and fail with a real request; decoded values catch
it (``make mutation`` tries exactly that).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from .aggregate import Aggregate
from .errors import ValidationError
from .events import RecordedEvent

GivenEvent = tuple[str, dict[str, Any]]


class Scenario:
    def __init__(self, aggregate: type[Aggregate], id: str,  # noqa: A002
                 history: Sequence[GivenEvent], hub_id: str | None = None) -> None:
        self.instance = aggregate(id)
        for version, (event_type, data) in enumerate(history, start=1):
            self.instance.replay(RecordedEvent(
                version, 0, f"00000000-0000-0000-0000-{version:012d}", id,
                aggregate.stream_type, version, event_type, 1, hub_id, _as_stored(data), {},
                datetime.now(UTC)))
        self._error: BaseException | None = None
        self._ran = False

    def when(self, command: Callable[[Any], Any]) -> Scenario:
        try:
            command(self.instance)
        except Exception as exc:  # noqa: BLE001 - kept for then_raises
            self._error = exc
        self._ran = True
        return self

    def then(self, expected: Sequence[GivenEvent]) -> Any:
        """The command recorded exactly these events; returns the aggregate for more checks."""
        assert self._ran, "call when() first"
        if self._error is not None:
            raise AssertionError(f"the command raised {self._error!r}") from self._error
        recorded = [(e.type, e.data) for e in self.instance.pending]
        assert recorded == list(expected), f"recorded {recorded}, expected {list(expected)}"
        return self.instance

    def then_raises(self, error: type[BaseException], match: str = "") -> BaseException:
        """The command was refused with ``error`` (mentioning ``match``) and recorded nothing."""
        assert self._ran, "call when() first"
        assert isinstance(self._error, error), f"expected {error.__name__}, got {self._error!r}"
        assert match.lower() in str(self._error).lower(), f"{match!r} not in {self._error}"
        assert self.instance.pending == [], "a refused command must record nothing"
        return self._error

    def then_refuses(self, field: str) -> Any:
        """The command was refused as bad input naming ``field`` (a 422), recording nothing."""
        error: Any = self.then_raises(ValidationError)
        assert field in error.errors, f"{field!r} not named: {error.errors}"
        return error


def given(aggregate: type[Aggregate], id: str,  # noqa: A002
          history: Sequence[GivenEvent] = (), hub_id: str | None = None) -> Scenario:
    return Scenario(aggregate, id, history, hub_id)


def received(*values: Any) -> Any:
    """Command arguments as a request delivers them: decoded from JSON, not the test's own
    (interned) literals. One value gives it back; several give a tuple."""
    decoded = json.loads(json.dumps(list(values)))
    return decoded[0] if len(values) == 1 else tuple(decoded)


def _as_stored(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data))
