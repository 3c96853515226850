"""Domain modules do no I/O: importing one loads no database, broker or metrics library, so
the domain is tested in milliseconds and can never reach a server by accident."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO = ("psycopg2", "psycogreen", "nameko", "kombu", "amqp", "eventlet", "prometheus_client",
      "werkzeug")
# A service's pure modules are its domain (a module, or every module of a package) and its
# contracts: found by themselves, a new service's included.
PURE = sorted([*ROOT.glob("services/*/domain.py"), *ROOT.glob("services/*/domain/*.py"),
               *ROOT.glob("services/*/contracts.py"), *ROOT.glob("tests/fixtures/*/domain.py"),
               ROOT / "eventstore/aggregate.py", ROOT / "eventstore/contracts.py",
               ROOT / "eventstore/testing.py"])


def loaded_by(module: str) -> list[str]:
    probe = (f"import sys, json; import {module}; "
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return [m for m in json.loads(out) if m in IO]


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(ROOT)))
def test_importing_a_domain_module_loads_nothing_that_does_io(path):
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    assert loaded_by(module) == []


def test_the_probe_sees_a_module_that_does_io():
    assert "psycopg2" in loaded_by("eventstore.store")


def test_consumers_do_not_import_the_kernel():
    """The kernel's consumers and its nameko dependencies once imported each other; now the
    kernel uses the consumers, and not the other way round."""
    probe = ("import sys, eventstore.consumers; "
             "print('eventstore.kernel' in sys.modules or 'eventstore.entrypoints' in sys.modules)")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_the_gateway_loads_no_database_driver():
    """The gateway owns no data: it imports the call context, not the kernel."""
    assert "psycopg2" not in loaded_by("gateway.service")
