"""The equivalent mutants make mutation leaves out of its score name lines that still exist:
an entry whose line was edited away would otherwise excuse nothing, or the wrong line after an
edit that happens to restore its text."""

from __future__ import annotations

import tomllib

from tests.mutation.run import EQUIVALENT, ROOT, equivalents, modules


def test_every_equivalent_mutant_is_of_a_module_mutated_and_a_line_it_has():
    known = equivalents()
    assert known, f"no equivalents in {EQUIVALENT}"
    mutated = modules()
    for entry in known:
        assert entry["module"] in mutated, entry
        lines = {line.strip() for line in (ROOT / entry["module"]).read_text().splitlines()}
        assert entry["line"] in lines, f"{entry['module']} has no line {entry['line']!r}"
        assert entry["reason"].strip() and entry["operator"].startswith("core/"), entry


def test_every_equivalents_file_is_well_formed():
    for path in sorted(EQUIVALENT.glob("*.toml")):
        for entry in tomllib.loads(path.read_text())["equivalent"]:
            assert set(entry) <= {"operator", "line", "column", "reason"}, (path.name, entry)
