"""Mutation testing of the pure domain modules: ``make mutation``.

Every pure module (``services/*/domain.py``, ``services/*/domain/*.py`` and the few other pure
modules listed in ``OTHER``) is mutated by cosmic-ray, one mutant at a time, and its unit tests
are run against each mutant: a rule whose mutant survives is a rule no test pins. Prints the
score per module (killed / (mutants - equivalent)), lists the survivors and the equivalent
mutants with their reasons (tests/mutation/equivalent/<module>.toml), and fails under
``--fail-under``.

Why a copy of the tree: cosmic-ray mutates the files on disk, by paths relative to the working
directory. Each module is tested in a copy of its own, in a process of its own (two at a time):
the working directory belongs to a process, so two modules in threads of one process would
mutate each other's copies, or the checkout. The run checks the checkout is as it found it.
Why a sample: a module's mutants are many alike; up to ``--sample`` of them, drawn with a fixed
seed, give a stable score in minutes. Mutants inside annotations are left out: with
``from __future__ import annotations`` annotations are never evaluated, so every such mutant is
equivalent.

    .venv/bin/python -m tests.mutation.run [--sample 300] [--fail-under 90] [--only PATTERN]
"""

from __future__ import annotations

import argparse
import ast
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# One file per module: ``[[equivalent]]`` entries with ``operator``, ``line`` (the source line,
# stripped), optionally ``column`` (where on the line, when another mutant of the operator on
# it is not equivalent), and the ``reason`` no test can tell the mutant from the original.
EQUIVALENT = Path(__file__).with_name("equivalent")

# The kernel's pure modules, with the unit tests that pin them (file patterns in tests/unit); a
# service's are found by themselves (``modules``).
OTHER = {
    "eventstore/validation.py": "test_validation*.py",
    "eventstore/aggregate.py": "test_aggregate*.py",
    "eventstore/repository.py": "test_repository_unit*.py",
    "eventstore/contracts.py": "test_contracts*.py",
    "eventstore/ids.py": "test_ids*.py",
}


def modules() -> dict[str, list[str]]:
    """Each pure module and its unit tests: a service's domain (``services/<service>/domain.py``,
    or each module of its ``domain`` package) is pinned by the unit tests named after the
    service (tests/unit/test_<service>_*.py), a new service's included."""
    def tests(pattern: str) -> list[str]:
        return sorted(p.name for p in (ROOT / "tests/unit").glob(pattern))
    found: dict[str, list[str]] = {}
    for path in sorted([*ROOT.glob("services/*/domain.py"),
                        *ROOT.glob("services/*/domain/*.py")]):
        service = path.relative_to(ROOT).parts[1]
        found[str(path.relative_to(ROOT))] = tests(f"test_{service}_*.py")
    found.update({module: tests(pattern) for module, pattern in OTHER.items()})
    return found


@dataclass
class Outcome:
    module: str
    killed: int = 0
    survivors: list[dict] = field(default_factory=list)
    equivalent: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def counted(self) -> int:
        return self.killed + len(self.survivors)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 100.0


def in_annotation(source_tree: ast.AST, start: tuple[int, int]) -> bool:
    line, col = start
    for node in ast.walk(source_tree):
        annotations = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            annotations = [a.annotation for a in [*args.args, *args.kwonlyargs,
                                                  *args.posonlyargs, args.vararg, args.kwarg]
                           if a is not None and a.annotation is not None]
            if node.returns is not None:
                annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations = [node.annotation]
        for a in annotations:
            if (a.lineno, a.col_offset) <= (line, col) <= (a.end_lineno, a.end_col_offset):
                return True
    return False


def equivalents() -> list[dict]:
    known = []
    for path in sorted(EQUIVALENT.glob("*.toml")):
        for entry in tomllib.loads(path.read_text()).get("equivalent", []):
            known.append({"module": path.stem.replace(".", "/") + ".py", **entry})
    return known


def is_equivalent(entry: dict, module: str, operator: str, line: str, column: int) -> bool:
    return (entry["module"] == module and entry["operator"] == operator
            and entry["line"] == line and entry.get("column", column) == column)


def copy_tree(destination: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run_module(module: str, tests: list[str], sample: int, seed: int,
               known: list[dict], parent: int) -> Outcome:
    from cosmic_ray.commands.init import init
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    outcome = Outcome(module)
    if not tests or not all((ROOT / "tests/unit" / t).exists() for t in tests):
        outcome.errors.append(f"no unit tests for {module} (expected {tests})")
        return outcome
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree = Path(tmp) / "tree"
        copy_tree(tree)
        # Only what unit tests need: pytest's plugins for the API tests (schemathesis) and
        # hypothesis's statistics take a second to load, twice the time of most test runs.
        # No bytecode cache (-B): a .pyc is trusted by the source's size and mtime in whole
        # seconds, so a mutant of the same length written within the second of the one before
        # would be tested as that one.
        command = (f"{sys.executable} -B -m pytest -x -q -p no:cacheprovider --noconftest "
                   "-p no:schemathesis -p no:hypothesispytest -p no:anyio "
                   + " ".join(f"tests/unit/{t}" for t in tests))
        baseline = subprocess.run(command.split(), cwd=tree, capture_output=True, text=True)
        if baseline.returncode != 0:
            outcome.errors.append(f"the unit tests fail unmutated:\n{baseline.stdout[-2000:]}")
            return outcome
        cwd = os.getcwd()
        os.chdir(tree)
        try:
            source = (tree / module).read_text()
            lines = source.splitlines()
            tree_ast = ast.parse(source)
            with use_db(str(Path(tmp) / "session.sqlite"), WorkDB.Mode.create) as db:
                init([Path(module)], db, {})
                items = [i for i in db.work_items
                         if not in_annotation(tree_ast, tuple(i.mutations[0].start_pos))]
            random.Random(seed).shuffle(items)
            chosen = items[:sample]
            for n, item in enumerate(chosen, start=1):
                if os.getppid() != parent:
                    # The run was stopped: nobody waits for the answer, and a worker left
                    # behind would wait on its queue for ever.
                    shutil.rmtree(tmp, ignore_errors=True)
                    os._exit(1)
                result = mutate_and_test(item.mutations, command, 60.0)
                if n % 50 == 0 or n == len(chosen):
                    print(f"{module}: {n} of {len(chosen)} mutants tried", file=sys.stderr,
                          flush=True)
                spec = item.mutations[0]
                line = lines[spec.start_pos[0] - 1].strip()
                described = {"module": module, "operator": spec.operator_name,
                             "line_number": spec.start_pos[0],
                             "column": spec.start_pos[1], "line": line}
                if result.worker_outcome == WorkerOutcome.NO_TEST:
                    continue          # cosmic-ray found nothing to mutate there after all
                if result.worker_outcome != WorkerOutcome.NORMAL:
                    outcome.errors.append(f"{described}: the mutation itself failed: "
                                          f"{result.output}")
                elif result.is_killed:
                    outcome.killed += 1
                else:
                    match = next((k for k in known if is_equivalent(
                        k, module, spec.operator_name, line, spec.start_pos[1])), None)
                    if match:
                        outcome.equivalent.append({**described, "reason": match["reason"]})
                    else:
                        outcome.survivors.append(described)
        finally:
            os.chdir(cwd)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fail-under", type=float, default=90.0)
    parser.add_argument("--only", default="", help="test only modules whose path has this")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    known = equivalents()
    chosen = {m: t for m, t in modules().items() if args.only in m}
    before = {m: (ROOT / m).read_bytes() for m in chosen}
    with ProcessPoolExecutor(args.workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_module, m, chosen[m], args.sample, args.seed, known,
                               os.getpid()) for m in chosen]
        outcomes = [f.result() for f in futures]
    print(f"\n{'module':42} {'killed':>7} {'counted':>8} {'equiv.':>7} {'score':>7}")
    for o in outcomes:
        print(f"{o.module:42} {o.killed:7} {o.counted:8} {len(o.equivalent):7} "
              f"{o.score:6.1f}%")
    total = sum(o.killed for o in outcomes), sum(o.counted for o in outcomes)
    print(f"{'all':42} {total[0]:7} {total[1]:8} "
          f"{sum(len(o.equivalent) for o in outcomes):7} "
          f"{100.0 * total[0] / max(total[1], 1):6.1f}%")
    for o in outcomes:
        for error in o.errors:
            print(f"\n{o.module}: {error}")
        for s in o.survivors:
            print(f"survived  {s['module']}:{s['line_number']}:{s['column']} {s['operator']}: "
                  f"{s['line']}")
        for e in o.equivalent:
            print(f"equivalent {e['module']}:{e['line_number']}:{e['column']} {e['operator']}: "
                  f"{e['line']}"
                  f"\n           because {e['reason']}")
    print(json.dumps({o.module: round(o.score, 1) for o in outcomes}))
    touched = [m for m in chosen if (ROOT / m).read_bytes() != before[m]]
    if touched:
        # Edited by hand meanwhile, or mutated in place by a runner bug: either way the
        # figures above may not be of the code as it is now.
        print(f"the checkout's {', '.join(touched)} changed during the run: if you did not "
              "edit it, restore it (git checkout) and report this", file=sys.stderr)
        return 2
    failing = [o for o in outcomes if o.errors or o.score < args.fail_under]
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
