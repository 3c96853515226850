"""What may leave the platform about small groups (eventstore/disclosure.py): counts of 1 to 10
are suppressed with what derives from them, and a table's other cells with them so that no
suppressed count can be worked back out of what is shown (a property test does the working)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstore.disclosure import (
    TOTAL,
    Counts,
    count_or_none,
    derived_or_none,
    published,
    published_section,
    small,
    suppressed_cells,
    with_totals,
)


@pytest.mark.parametrize("count, hidden", [(None, False), (0, False), (1, True), (10, True),
                                           (11, False), (250, False)])
def test_counts_of_1_to_10_are_hidden_and_0_and_11_shown(count, hidden):
    assert small(count) is hidden
    assert count_or_none(count) == (None if hidden else count)


@pytest.mark.parametrize("group, shown", [(0, False), (None, False), (10, False), (11, True)])
def test_what_derives_from_a_small_or_empty_group_goes_with_it(group, shown):
    assert derived_or_none(4.5, group) == (4.5 if shown else None)


def test_a_table_carries_its_totals():
    full = with_totals({"a": {"x": 20, "y": 3}, "b": {"x": 12}})
    assert full == {"a": {"x": 20, "y": 3, TOTAL: 23}, "b": {"x": 12, "y": 0, TOTAL: 12},
                    TOTAL: {"x": 32, "y": 3, TOTAL: 35}}


def test_a_lone_small_cell_takes_the_next_smallest_of_its_row_and_column_with_it():
    table = {"district": {"K-8": 40, "K-12": 7, "9-12": 25},
             "charter": {"K-8": 30, "K-12": 45, "9-12": 22}}
    hidden = suppressed_cells(table)
    # 7 is small; its row's next smallest is 25, its column's is 45 (the only other); then
    # 25's column needs a second (22), and 45's and 22's row is fine with two.
    assert {("district", "K-12"), ("district", "9-12"), ("charter", "K-12"),
            ("charter", "9-12")} <= hidden
    shown = published(table)
    assert shown["district"]["K-8"] == 40 and shown["district"]["K-12"] is None
    assert shown[TOTAL][TOTAL] == 169


def test_a_table_with_nothing_small_hides_nothing():
    assert suppressed_cells({"a": {"x": 11, "y": 40}, "b": {"x": 0, "y": 12}}) == set()


def test_a_row_of_one_small_cell_hides_its_total_and_what_would_give_that_away():
    hidden = suppressed_cells({"a": {"x": 5}, "b": {"x": 30}})
    assert ("a", "x") in hidden and ("a", TOTAL) in hidden
    assert recomputable({"a": {"x": 5}, "b": {"x": 30}}, hidden) == set()


# -- the property: nothing suppressed can be worked out from what is shown ----------------------

def recomputable(table, hidden):
    """The hidden small cells whose value follows from the shown cells and the totals: each
    row and each column of the table with its totals sums to its total, a linear system in the
    hidden cells; a cell is determined when its unit vector is in the system's row space."""
    full = with_totals(table)
    unknowns = sorted(hidden, key=repr)
    index = {cell: i for i, cell in enumerate(unknowns)}
    equations = []
    columns = list(next(iter(full.values())))
    for r in full:
        equations.append([(r, c) for c in columns if c != TOTAL] and
                         ([((r, c), 1) for c in columns if c != TOTAL] + [((r, TOTAL), -1)]))
    for c in columns:
        equations.append([((r, c), 1) for r in full if r != TOTAL] + [((TOTAL, c), -1)])
    matrix = []
    for terms in equations:
        row = [Fraction(0)] * len(unknowns)
        for cell, coefficient in terms:
            if cell in index:
                row[index[cell]] += coefficient
        if any(row):
            matrix.append(row)
    base = rank(matrix)
    found = set()
    for cell, i in index.items():
        r, c = cell
        if not small(full[r][c]):
            continue
        unit = [Fraction(int(j == i)) for j in range(len(unknowns))]
        if rank([*matrix, unit]) == base:
            found.add(cell)
    return found


def rank(matrix):
    rows = [list(r) for r in matrix]
    count = 0
    width = len(rows[0]) if rows else 0
    for column in range(width):
        pivot = next((i for i in range(count, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            continue
        rows[count], rows[pivot] = rows[pivot], rows[count]
        for i in range(len(rows)):
            if i != count and rows[i][column] != 0:
                factor = rows[i][column] / rows[count][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[count], strict=True)]
        count += 1
    return count


counts = st.one_of(st.integers(0, 12), st.integers(0, 200))
tables = st.integers(1, 5).flatmap(lambda n_rows: st.integers(1, 5).flatmap(
    lambda n_cols: st.lists(st.lists(counts, min_size=n_cols, max_size=n_cols),
                            min_size=n_rows, max_size=n_rows)))


@settings(max_examples=400, deadline=None)
@given(tables)
def test_no_suppressed_count_can_be_recomputed_from_what_is_shown(cells):
    table = {f"r{i}": {f"c{j}": n for j, n in enumerate(row)} for i, row in enumerate(cells)}
    hidden = suppressed_cells(table)
    full = with_totals(table)
    # Every small count, totals included, is hidden …
    assert {(r, c) for r, row in full.items() for c, n in row.items() if small(n)} <= hidden
    # … and none of them follows from what is shown.
    assert recomputable(table, hidden) == set()
    shown = published(table)
    assert all((shown[r][c] is None) == ((r, c) in hidden) for r in full for c in full[r])


def test_the_check_finds_what_primary_suppression_alone_would_give_away():
    table = {"a": {"x": 5, "y": 40}, "b": {"x": 30, "y": 20}}
    primary = {("a", "x")}
    assert recomputable(table, primary) == {("a", "x")}
    assert recomputable(table, suppressed_cells(table)) == set()


@settings(max_examples=200, deadline=None)
@given(tables)
def test_a_summary_section_shows_nothing_a_reader_could_recompute(cells):
    """The agencies' summary publishes a service's ``Counts`` through ``published_section``:
    from what it shows alone (the hidden cells as nulls), no small count can be solved for."""
    table = {f"r{i}": {f"c{j}": n for j, n in enumerate(row)} for i, row in enumerate(cells)}
    section = published_section(Counts(table))
    shown = section["rows"]
    hidden = {(r, c) for r, row in shown.items() for c, n in row.items() if n is None}
    assert sorted(map(tuple, section["suppressed"])) == sorted(hidden)
    assert not [n for row in shown.values() for n in row.values() if small(n)]
    assert recomputable(table, hidden) == set()
    full = with_totals(table)
    assert all(shown[r][c] in (None, full[r][c]) for r in full for c in full[r])


def test_anything_but_a_table_of_counts_is_published_as_the_service_made_it():
    made = {"raters": None, "average_stars": None}
    assert published_section(made) is made
    assert published_section(Counts()) == {"rows": {}, "suppressed": []}
