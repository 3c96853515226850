"""What may leave the platform about small groups of people (issue 19): counts under 11 are
suppressed, with what is derived from them, and a table's other cells are suppressed with them
wherever a suppressed count could be worked back out of a total.

Pure: no I/O, so services' public forms, the state summary and their tests share it.

- **Primary suppression**, as the California Department of Education publishes: a count of 1
  to 10 people (enrollment, a measurement's group, attendance, raters) is not shown; 0 is (it
  names no one). A value derived from a small group (its average, a percentage) is suppressed
  with it.
- **Complementary suppression** (NCES SLDS Technical Brief 3): a table is published with its
  row and column totals, so a row or a column with exactly one suppressed cell gives it away
  (the total less the others). The next smallest shown cell of that row or column is
  suppressed too, and so on until no row or column has exactly one. That is not always enough
  (hidden cells can still close a loop that determines one of them), so the table is then
  solved as what a reader has — every row and column sums to its total, a linear system in
  the hidden cells — and while a hidden small count is determined by it, the next smallest
  shown cell of its row or column is hidden too. A cell of 0 may be hidden to hide another.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from fractions import Fraction
from typing import Any

SMALLEST_SHOWN = 11


def small(count: int | None) -> bool:
    """Whether a count of people is too small to show: 1 to 10."""
    return count is not None and 0 < count < SMALLEST_SHOWN


def count_or_none(count: int | None) -> int | None:
    """A count as it may be shown: None in place of 1 to 10."""
    return None if small(count) else count


def derived_or_none(value: Any, group: int | None) -> Any:
    """A value computed from a group (an average of its answers, a percentage): None when the
    group is small, or empty (no value to show)."""
    return None if small(group) or not group else value


Cell = tuple[Hashable, Hashable]
# The key of a table's totals, as a row and as a column.
TOTAL = "total"


def with_totals(table: Mapping[Hashable, Mapping[Hashable, int]]
                ) -> dict[Hashable, dict[Hashable, int]]:
    """The table with its row totals (column ``TOTAL``), column totals (row ``TOTAL``) and the
    grand total: each row and each column of it sums to its total cell."""
    columns = list(dict.fromkeys(c for row in table.values() for c in row))
    full = {r: {c: row.get(c, 0) for c in columns} for r, row in table.items()}
    for row in full.values():
        row[TOTAL] = sum(row.values())
    full[TOTAL] = {c: sum(full[r][c] for r in table) for c in [*columns, TOTAL]}
    return full


def suppressed_cells(table: Mapping[Hashable, Mapping[Hashable, int]]) -> set[Cell]:
    """The cells of a table of counts (row -> column -> count) and of its totals (``TOTAL``)
    not to show: the small ones, and enough others that none of those can be worked out from
    what is shown."""
    full = with_totals(table)
    hidden = {(r, c) for r, row in full.items() for c, n in row.items() if small(n)}
    lines = _lines(full)
    while True:
        _pair_lone_cells(lines, full, hidden)
        exposed = [cell for cell in sorted(determined(full, hidden), key=repr)
                   if small(full[cell[0]][cell[1]])]
        if not exposed:
            return hidden
        hidden.add(_next_smallest(lines, full, hidden, exposed[0]))


def _lines(full: Mapping[Hashable, Mapping[Hashable, int]]) -> list[list[Cell]]:
    """Every row and every column of the table with its totals, as its cells."""
    rows = [[(r, c) for c in row] for r, row in full.items()]
    columns = [[(r, c) for r in full] for c in next(iter(full.values()))]
    return rows + columns


def _pair_lone_cells(lines: list[list[Cell]], full: Mapping[Hashable, Mapping[Hashable, int]],
                     hidden: set[Cell]) -> None:
    """Hide, in each line with exactly one hidden cell, its smallest shown cell (the first of
    equals, in the table's order), until no line has exactly one."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line) == 1:
                hidden.add(min((c for c in line if c not in hidden),
                               key=lambda c: full[c[0]][c[1]]))
                changed = True


def _next_smallest(lines: list[list[Cell]], full: Mapping[Hashable, Mapping[Hashable, int]],
                   hidden: set[Cell], cell: Cell) -> Cell:
    """The smallest shown cell of a row or column through ``cell`` (there is one while
    ``cell`` can be worked out: a line of hidden cells alone determines nothing)."""
    shown = [c for line in lines if cell in line for c in line if c not in hidden]
    return min(shown, key=lambda c: (full[c[0]][c[1]], repr(c)))


def determined(full: Mapping[Hashable, Mapping[Hashable, int]], hidden: set[Cell]) -> set[Cell]:
    """The hidden cells a reader can work out: each row and column sums to its total (a
    linear system in the hidden cells, the shown ones known); a cell is determined when its
    unit vector is a combination of the system's equations."""
    unknowns = sorted(hidden, key=repr)
    index = {cell: i for i, cell in enumerate(unknowns)}
    system = []
    for line in _lines(full):
        *cells, total = line
        equation = [Fraction(0)] * len(unknowns)
        for cell, sign in [*((c, 1) for c in cells), (total, -1)]:
            if cell in index:
                equation[index[cell]] += sign
        if any(equation):
            system.append(equation)
    reduced = _reduced(system)
    return {cell for cell, i in index.items()
            if _in_span(reduced, [Fraction(int(j == i)) for j in range(len(unknowns))])}


def _reduced(rows: list[list[Fraction]]) -> list[list[Fraction]]:
    """The rows in reduced row echelon form (pivots 1, nothing else in their columns)."""
    rows = [list(r) for r in rows]
    pivot_row = 0
    width = len(rows[0]) if rows else 0
    for column in range(width):
        pivot = next((i for i in range(pivot_row, len(rows)) if rows[i][column]), None)
        if pivot is None:
            continue
        rows[pivot_row], rows[pivot] = rows[pivot], rows[pivot_row]
        lead = rows[pivot_row][column]
        rows[pivot_row] = [v / lead for v in rows[pivot_row]]
        for i, row in enumerate(rows):
            if i != pivot_row and row[column]:
                factor = row[column]
                rows[i] = [a - factor * b for a, b in zip(row, rows[pivot_row], strict=True)]
        pivot_row += 1
    return rows[:pivot_row]


def _in_span(reduced: list[list[Fraction]], vector: list[Fraction]) -> bool:
    rest = list(vector)
    for row in reduced:
        column = next(i for i, v in enumerate(row) if v)
        if rest[column]:
            factor = rest[column]
            rest = [a - factor * b for a, b in zip(rest, row, strict=True)]
    return not any(rest)


def published(table: Mapping[Hashable, Mapping[Hashable, int]]
              ) -> dict[Hashable, dict[Hashable, int | None]]:
    """The table with its totals as it may be shown: each hidden cell None."""
    hidden = suppressed_cells(table)
    return {r: {c: None if (r, c) in hidden else n for c, n in row.items()}
            for r, row in with_totals(table).items()}


class Counts(dict):
    """A table of counts (row -> column -> count) for the agencies' summary: published with
    its totals, small cells and those that would give them away suppressed."""


def published_section(value: Any) -> Any:
    """A summary's section as it may leave: a ``Counts`` table published (its hidden cells
    None, and listed under ``suppressed``); anything else as it is (the service made it from
    no small group, or suppressed it itself with ``derived_or_none``)."""
    if not isinstance(value, Counts):
        return value
    table: dict[Hashable, dict[Hashable, int]] = {
        str(r): {str(c): int(n) for c, n in row.items()} for r, row in value.items()}
    if not table:
        return {"rows": {}, "suppressed": []}
    shown = published(table)
    return {"rows": shown,
            "suppressed": sorted([str(r), str(c)] for r, row in shown.items()
                                 for c, n in row.items() if n is None)}
