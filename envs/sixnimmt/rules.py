"""6 nimmt! card rules shared by the engine, the solver and the bots
(normative text: shared/rules/sixnimmt.md).

Numba-compiled scalar helpers; callable from Python and from other numba functions.
"""

from __future__ import annotations

import numba as nb
import numpy as np

NUM_ROWS = 4
ROW_CAPACITY = 5  # the 6th card takes the row
MAX_DECK = 104


def _bullheads_table(m: int) -> np.ndarray:
    t = np.zeros(m + 1, dtype=np.int8)
    for c in range(1, m + 1):
        if c == 55:
            t[c] = 7
        elif c % 11 == 0:
            t[c] = 5
        elif c % 10 == 0:
            t[c] = 3
        elif c % 5 == 0:
            t[c] = 2
        else:
            t[c] = 1
    return t


BULLHEADS = _bullheads_table(MAX_DECK)
"""``BULLHEADS[c]`` = penalty of card c (index 0 unused, = 0)."""
BULLHEADS.setflags(write=False)


@nb.njit(cache=True, inline="always")
def bullheads(card: int) -> int:
    if card == 55:
        return 7
    if card % 11 == 0:
        return 5
    if card % 10 == 0:
        return 3
    if card % 5 == 0:
        return 2
    return 1


@nb.njit(cache=True)
def target_row(row_last: np.ndarray, card: int) -> int:
    """The row card ``card`` goes to: the row whose last card is the largest one below ``card``;
    -1 when no row's last card is below it (the player must take a row of their choice)."""
    best = -1
    best_last = 0
    for r in range(row_last.shape[0]):
        last = row_last[r]
        if last < card and last > best_last:
            best = r
            best_last = last
    return best


@nb.njit(cache=True)
def row_bullheads(row: np.ndarray, length: int) -> int:
    """Bullheads of the first ``length`` cards of ``row``."""
    total = 0
    for k in range(length):
        total += bullheads(row[k])
    return total


@nb.njit(cache=True)
def cheapest_row(rows: np.ndarray, row_len: np.ndarray) -> int:
    """The row with the fewest bullheads, ties -> lowest row index (``rows`` int[4, 5], ``row_len`` int[4]).
    This is the ``row_choice="auto"`` rule and the heuristic bots' row chooser."""
    best = 0
    best_b = row_bullheads(rows[0], row_len[0])
    for r in range(1, rows.shape[0]):
        b = row_bullheads(rows[r], row_len[r])
        if b < best_b:
            best = r
            best_b = b
    return best
