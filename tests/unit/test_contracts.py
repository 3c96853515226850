"""Published-event contracts hold between producers and consumers.

Read from the source, without servers: every published event a producer's domain records has
every field its contract declares, and every field a consumer reads from an event is declared
in the producer's contract. Renaming or dropping a field on either side fails here.
"""

from __future__ import annotations

import ast
import importlib
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eventstore.contracts import ContractViolation, Published, contracts_of
from eventstore.events import RecordedEvent

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS = sorted({p.parent for p in ROOT.glob("services/*/contracts.py")}
                   | {p.parent for p in ROOT.glob("tests/fixtures/*/contracts.py")})
# Every module with consumers: services', and those of modules services include (membership's
# directory), wherever they are.
CONSUMERS = sorted(p for p in [*ROOT.glob("services/**/*.py"), *ROOT.glob("tests/fixtures/**/*.py")]
                   if "@consumes(" in p.read_text())
ENVELOPE = {"recorded"}
# A service whose contracts are declared before the service is written records them in the
# fixture that stands in for it in the tests, until its own domain exists (scheduling's, for
# issue 17, was tests/fixtures/planner, until issue 18).
STAND_INS: dict[Path, Path] = {}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def contracts_in(folder: Path) -> list[type[Published]]:
    return contracts_of(importlib.import_module(module_name(folder / "contracts.py")))


def recorded_fields(source: str) -> dict[str, list[set[str] | None]]:
    """Per event type, the keyword names of each ``self.record("Type", ...)`` call (None for a
    call that passes a ``**`` mapping, whose keys cannot be read from the source)."""
    found: dict[str, list[set[str] | None]] = {}
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record" and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            names = {k.arg for k in node.keywords if k.arg is not None}
            splat = any(k.arg is None for k in node.keywords)
            found.setdefault(node.args[0].value, []).append(None if splat else names)
    return found


def has_domain(folder: Path) -> bool:
    return (folder / "domain.py").is_file() or (folder / "domain").is_dir()


def domain_source(folder: Path) -> str:
    files = [folder / "domain.py", *sorted((folder / "domain").glob("*.py"))]
    return "\n".join(f.read_text() for f in files if f.is_file())


def recording_folder(folder: Path) -> Path | None:
    """Where the events a contracts folder declares are recorded: its domain, or its stand-in's
    while it has none; None for a fixture that appends without aggregates (the ledger)."""
    if has_domain(folder):
        return folder
    stand_in = STAND_INS.get(folder)
    return stand_in if stand_in is not None and has_domain(stand_in) else None


def producer_problems(contract: type[Published], records: dict[str, list]) -> list[str]:
    calls = records.get(contract.type)
    if not calls:
        return [f"{contract.source} publishes {contract.type} but its domain never records it"]
    problems = []
    for names in calls:
        if names is None:
            problems.append(f"{contract.type} is recorded with a ** mapping: record published "
                            "events with their fields spelled out")
        elif missing := set(contract.fields()) - names:
            problems.append(f"{contract.type} is recorded without {sorted(missing)}")
    return problems


def consumed_reads(source: str) -> list[tuple[str, str, set[str]]]:
    """(handler, contract expression, attributes read from the event) of every ``@consumes``
    handler in a service module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name)
                    and decorator.func.id == "consumes"):
                event = node.args.args[2].arg
                reads = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
                         and isinstance(n.value, ast.Name) and n.value.id == event}
                found.append((node.name, ast.unparse(decorator.args[0]), reads))
    return found


def consumer_problems(path: Path) -> list[str]:
    module = importlib.import_module(module_name(path))
    problems = []
    for handler, expression, reads in consumed_reads(path.read_text()):
        contract = eval(expression, vars(module))  # noqa: S307 - a name in our own module
        unknown = reads - set(contract.fields()) - ENVELOPE
        if unknown:
            problems.append(f"{path.parent.name}.{handler} reads {sorted(unknown)}, which "
                            f"{contract.source}'s {contract.type} does not declare")
    return problems


@pytest.mark.parametrize("folder", PRODUCERS, ids=lambda p: p.name)
def test_every_published_event_is_recorded_with_its_declared_fields(folder):
    contracts = contracts_in(folder)
    assert contracts, f"{folder.name}/contracts.py declares nothing"
    recorder = recording_folder(folder)
    if recorder is None:
        assert folder.name == "ledger", f"{folder.name} records its events nowhere"
        return
    records = recorded_fields(domain_source(recorder))
    problems = [p for c in contracts for p in producer_problems(c, records)]
    assert problems == []


@pytest.mark.parametrize("path", CONSUMERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_field_a_consumer_reads_is_declared_by_the_producer(path):
    assert consumer_problems(path) == []


def test_the_consumers_read_are_those_of_every_module_that_has_some():
    """A module services include (membership's directory) is read like a service's own."""
    names = {str(p.relative_to(ROOT)) for p in CONSUMERS}
    assert {"services/membership/directory/__init__.py", "services/membership/service.py",
            "tests/fixtures/budget/service.py"} <= names
    assert "services/cycles/service.py" not in names   # it includes the directory instead


def test_every_service_is_checked_against_its_domain_package_or_stand_in():
    assert recording_folder(ROOT / "services/resources") == ROOT / "services/resources"
    assert recording_folder(ROOT / "services/membership") == ROOT / "services/membership"
    assert recording_folder(ROOT / "services/scheduling") == ROOT / "services/scheduling"


def test_the_checks_catch_a_renamed_field_on_either_side():
    from services.membership.contracts import MemberPreworkChanged
    renamed = recorded_fields(textwrap.dedent('''
        class Member:
            def note(self):
                self.record("MemberPreworkChanged", is_ready=True, missing=[])
    '''))
    assert producer_problems(MemberPreworkChanged, renamed) == [
        "MemberPreworkChanged is recorded without ['ready']"]
    assert producer_problems(MemberPreworkChanged, {}) == [
        "membership publishes MemberPreworkChanged but its domain never records it"]
    (_, _, reads), = consumed_reads(textwrap.dedent('''
        @consumes(membership.MemberPreworkChanged)
        def on_changed(self, session, event):
            session.read_model.prework(event.recorded.stream_id, event.is_ready)
    '''))
    assert reads - set(MemberPreworkChanged.fields()) - ENVELOPE == {"is_ready"}


def test_every_service_consumes_through_contracts_only():
    for path in CONSUMERS:
        source = path.read_text()
        assert 'event.data[' not in source and "event.data.get(" not in source, path


def recorded(type_: str, data: dict) -> RecordedEvent:
    return RecordedEvent(1, 1, "00000000-0000-0000-0000-000000000001", "mem-1", "member", 3,
                         type_, 1, "hub-a", data, {}, datetime.now(UTC))


def test_an_event_that_breaks_its_contract_is_refused_naming_the_fields():
    from services.membership.contracts import MemberPreworkChanged
    event = MemberPreworkChanged.from_event(
        recorded("MemberPreworkChanged", {"ready": True, "missing": [], "extra": 1}))
    assert (event.ready, event.missing, event.recorded.version) == (True, [], 3)
    with pytest.raises(ContractViolation) as refused:
        MemberPreworkChanged.from_event(recorded("MemberPreworkChanged",
                                                 {"ready": "yes", "missing": [1]}))
    assert set(refused.value.errors) == {"ready", "missing"}
    with pytest.raises(ContractViolation) as refused:
        MemberPreworkChanged.from_event(recorded("MemberPreworkChanged", {"ready": True}))
    assert refused.value.errors == {"missing": ["missing"]}


def test_a_contract_declares_json_types_only():
    with pytest.raises(TypeError, match="JSON types only"):
        class Bad(Published, source="x"):
            when: datetime
    with pytest.raises(TypeError, match="JSON types only"):
        class AlsoBad(Published, source="x"):
            whens: list[datetime] | None
