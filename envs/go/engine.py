"""Batched Go engine under strict Tromp-Taylor rules (normative text: shared/rules/go.md).

``GoGame`` implements ``envs.core.BatchedGame`` for ``go_v0``. Seat 0 is Black (moves first), seat 1 is White.
Points are indexed row-major, ``index = row * N + col`` with row 0 at the top; action ``N*N`` is the pass.

Rules as implemented: a move colours an empty point, clears the opponent's groups without liberties, then the
mover's own (so multi-stone suicide is legal and removes the group). Positional superko: a move whose
resulting colouring equals any earlier colouring of the game (the empty start included) is illegal; hence
single-stone suicide (board unchanged) and plain ko recapture are illegal. Passing is always legal while the
game runs. Two consecutive passes end the game (``terminal``). ``max_moves`` turns (passes counted, default
``2*N*N``) end it too (``terminal`` and ``truncated``); either way the position is scored as it stands: area =
stones + empty points that reach only that colour; ``score = black area - white area - komi``; the sign
decides, 0 is a draw.

State (``GoState``, all arrays with leading axis = game index, public contract):
``board`` int8[N, S*S] (0 empty, 1 black, 2 white); ``prev_board`` the colouring one turn earlier;
``to_play`` int8[N] (0 black, 1 white); ``passes`` int8[N] consecutive passes; ``num_moves`` int32[N] turns
played; ``moves`` int16[N, max_moves] the action of every turn (``moves[i, :num_moves[i]]``, pass = S*S; this
record is what SGF export and GTP clients read); ``hashes`` uint64[N, max_moves+1] the Zobrist hash of the
colouring after each turn (``hashes[i, 0]`` = empty board = 0); ``table`` int32[N, T] an open-addressing hash
set of the distinct colourings seen (each slot holds the latest turn index with that colouring, -1 = empty
slot); ``done``/``truncated`` bool[N].

Exact superko: a candidate colouring whose Zobrist hash is in the table is compared point by point with the
stored colouring of that turn: the current board or ``prev_board`` when the turn is the last or the one before
(every simple ko), otherwise the colouring rebuilt by replaying ``moves`` from the empty board. A hash
collision can therefore never forbid a legal move.

Hot paths are numba functions over these arrays. A single move is evaluated by local flood fills from its
neighbours (stopping at the first liberty); a legal mask labels the groups once (liberty counts and Zobrist
XORs per group), so each empty point costs O(1) plus a hash-table probe (a point next to an empty point that
is no group's last liberty just adds a stone). ``step`` checks and plays a batch in one compiled call.
``GoGame.random_playouts`` (serial or threaded) plays whole uniformly random games inside compiled code
(benchmarks, rollouts).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields
from operator import attrgetter

import numba as nb
import numpy as np

from zeroleague.envs.core import IllegalActionError, seeds_for

MIN_SIZE = 2
MAX_SIZE = 25
COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP column letters (no I)

# Reasons a point is not a legal move (codes returned by the compiled checks).
LEGAL, OCCUPIED, SUICIDE, SUPERKO, GAME_OVER, OUT_OF_RANGE = 0, 1, 2, 3, 4, 5
REASONS = {
    OCCUPIED: "the point is occupied",
    SUICIDE: "single-stone suicide (the board would not change: positional superko)",
    SUPERKO: "positional superko (the resulting position occurred earlier in the game)",
    GAME_OVER: "the game is over",
    OUT_OF_RANGE: "not an action of this board (expected -1 for 'untouched', 0..N*N-1 or the pass N*N)",
}


def check_board_size(board_size: object) -> int:
    """``board_size`` as an int, or a TypeError/ValueError naming the bad value (ints 2..25 only)."""
    if isinstance(board_size, bool) or not isinstance(board_size, (int, np.integer)):
        raise TypeError(f"board_size must be an int in {MIN_SIZE}..{MAX_SIZE}, got {board_size!r}")
    if not MIN_SIZE <= int(board_size) <= MAX_SIZE:
        raise ValueError(f"board_size must be in {MIN_SIZE}..{MAX_SIZE}, got {board_size!r}")
    return int(board_size)


def action_name(action: int, board_size: int) -> str:
    """Human text for an action: ``'40 (row 4, col 4, E5)'``, ``'81 (pass)'`` (GTP vertex, row 0 = top)."""
    n = board_size
    if action == n * n:
        return f"{action} (pass)"
    if 0 <= action < n * n:
        r, c = divmod(int(action), n)
        return f"{action} (row {r}, col {c}, {COLUMNS[c]}{n - r})"
    return f"{action}"


@functools.cache
def _tables(board_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-size immutable tables: neighbours int32[P, 4] (-1 padded at the end), Zobrist keys uint64[2, P]."""
    n = board_size
    nbr = np.full((n * n, 4), -1, dtype=np.int32)
    for r in range(n):
        for c in range(n):
            k = 0
            for dr, dc in ((-1, 0), (0, -1), (0, 1), (1, 0)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < n and 0 <= cc < n:
                    nbr[r * n + c, k] = rr * n + cc
                    k += 1
    zob = np.random.default_rng(0x60_2B_0A_11 + n).integers(1, 2**64 - 1, size=(2, n * n), dtype=np.uint64)
    nbr.setflags(write=False)
    zob.setflags(write=False)
    return nbr, zob


# ------------------------------------------------------------------------------------------------------------
# Compiled core. Every function takes the batch arrays whole, with a game index ``g``, and indexes them by
# (game, point). The cost to avoid is numba's reference counting (an atomic update per array): it counts every
# row view it makes (``board[g]``) and, in an inlined helper, every array the helper receives unless its
# pruning can drop the count, which in practice it can only for a helper with no nested helper call or array
# access inside a branch-with-a-loop (early returns, if/elif chains and calls under branches all defeat it).
# Before the per-move helpers (``_evaluate``, ``_apply``, ``_commit``, ``_advance``, ``_hash_seen``,
# ``_label_groups``) were written that way, the counting cost more than the rules on 9x9 (legal masks 4x,
# checks 3x); the rare paths (the exact superko comparison) are plain calls.
# ``stack`` int32[P] and ``mark`` int64[P] are scratch arrays; ``cand`` and ``past`` are int8[1, P] scratch
# colourings (row 0). Stamps make ``mark`` reusable without clearing: an evaluation with base stamp ``b`` marks
# the stones of the flood from its k-th neighbour with ``b + 1 + k``; callers advance their stamp by
# ``STAMPS`` per evaluation.
STAMPS = 5


@nb.njit(cache=True, inline="always")
def _evaluate(board, g, p, color, h, nbr, zob, stack, mark, base):
    """What playing ``color`` on the empty point ``p`` of game ``g`` (whose colouring has hash ``h``) does,
    without changing ``board``.

    Returns (kind, hash after the move, n): kind 0 = ordinary move, ``stack[:n]`` the captured opponent
    stones; kind 1 = multi-stone suicide, ``stack[:n]`` the mover's other stones removed with ``p``; kind 2 =
    single-stone suicide (nothing changes).

    Neighbours j = 0..3: the opponent groups around ``p``, captured when ``p`` is their last liberty; j = 4..7,
    only when the move then has no liberty and captures nothing: the mover's groups around ``p`` (all without
    another liberty: multi-stone suicide). The group of the neighbour in direction k is flooded with stamp
    ``base + 1 + k``, stopping at the first liberty other than ``p``; a stone marked by an earlier flood of this
    evaluation (stamp > ``base``, not its own) belongs to a group such an early stop left unfinished, which
    therefore has a liberty. One loop and no helper call, so that numba drops the reference counting of the
    arrays (which cost more than the rules when it did not)."""
    nh = h ^ zob[color - 1, p]
    top = 0
    has_lib = False
    own_nb = False
    kind = 0
    removed = np.uint64(0)
    for j in range(8):
        k = j & 3
        if j == 4 and top == 0 and not has_lib:
            kind = 1 if own_nb else 2
        q = nbr[p, k]
        if q < 0:
            continue
        b = board[g, q]
        if j < 4:
            if b == 0:
                has_lib = True
            elif b == color:
                own_nb = True
            if b != 3 - color:
                continue
        elif kind != 1 or b != color:
            continue
        if mark[q] > base:  # flooded already from another side
            continue
        fs = base + 1 + k
        start = top
        mark[q] = fs
        stack[top] = q
        i = top
        top += 1
        gh = np.uint64(0)
        lib = False
        while i < top and not lib:
            s = stack[i]
            i += 1
            gh ^= zob[b - 1, s]
            for m in range(4):
                r = nbr[s, m]
                if r < 0:
                    break
                c = board[g, r]
                if c == 0:
                    if r != p:
                        lib = True
                        break
                elif c == b and mark[r] != fs:
                    if mark[r] > base:
                        lib = True
                        break
                    mark[r] = fs
                    stack[top] = r
                    top += 1
        if j < 4:
            if lib:
                top = start
            else:
                nh ^= gh
        elif lib:
            kind, top = 0, 0
        else:
            removed ^= gh
    if kind == 2:
        nh = h
    elif kind == 1:
        nh = h ^ removed
    return kind, nh, top


@nb.njit(cache=True, inline="always")
def _apply(board, g, p, color, kind, stack, n):
    """Play an evaluated move (kind, ``stack[:n]``: ``_evaluate``) on game ``g``'s board: colour ``p`` (left
    empty by a suicide) and clear the removed stones. The pass (``p == P``) changes nothing."""
    if p < board.shape[1]:
        board[g, p] = 0 if kind == 1 else color
    for i in range(n):
        board[g, stack[i]] = 0


@nb.njit(cache=True)
def _replay(moves, g, k, out, nbr, zob, stack, mark, stamp):
    """``out[0]`` := the colouring of game ``g`` after its first ``k`` turns. Returns the next free stamp."""
    npts = out.shape[1]
    out[0, :] = 0
    for i in range(k):
        a = moves[g, i]
        if a < npts:
            color = 1 + (i & 1)
            kind, _, n = _evaluate(out, 0, a, color, np.uint64(0), nbr, zob, stack, mark, stamp)
            stamp += STAMPS
            _apply(out, 0, a, color, kind, stack, n)
    return stamp


@nb.njit(cache=True, inline="always")
def _same_rows(a, ga, b, gb):
    """Whether row ``ga`` of ``a`` equals row ``gb`` of ``b``."""
    for i in range(a.shape[1]):
        if a[ga, i] != b[gb, i]:
            return False
    return True


@nb.njit(cache=True, inline="always")
def _hash_seen(table, hashes, g, nh):
    """Whether hash ``nh`` is among game ``g``'s colourings so far: a necessary condition for a repeat."""
    size = table.shape[1]
    slot = np.int64(nh & np.uint64(size - 1))
    seen = False
    while table[g, slot] >= 0 and not seen:
        seen = hashes[g, table[g, slot]] == nh
        slot = (slot + 1) & (size - 1)
    return seen


@nb.njit(cache=True)
def _exact_status(g, p, board, prev_board, to_play, moves, hashes, table, num_moves, nbr, zob, stack, mark,
                  stamp, cand, past):  # fmt: skip
    """SUPERKO or LEGAL for a move on the empty point ``p`` of running game ``g`` that is no single-stone
    suicide and whose colouring's hash is in the history (``_hash_seen``), exactly: every colouring of the
    history with that hash is compared point by point with the result (the current board or ``prev_board``
    for the last two turns, every simple ko; else the colouring rebuilt by replaying ``moves``). Returns (code,
    next free stamp); clobbers ``stack``."""
    color = to_play[g] + 1
    kind, nh, n = _evaluate(board, g, p, color, hashes[g, num_moves[g]], nbr, zob, stack, mark, stamp)
    stamp += STAMPS
    size = table.shape[1]
    slot = np.int64(nh & np.uint64(size - 1))
    built = False
    while table[g, slot] >= 0:
        t = table[g, slot]
        if hashes[g, t] == nh:
            if not built:
                for i in range(board.shape[1]):
                    cand[0, i] = board[g, i]
                _apply(cand, 0, p, color, kind, stack, n)
                built = True
            if t == num_moves[g]:
                same = _same_rows(cand, 0, board, g)
            elif t == num_moves[g] - 1:
                same = _same_rows(cand, 0, prev_board, g)
            else:
                # ``stack`` held the evaluated move's stones, already used for ``cand``: replay may reuse it
                stamp = _replay(moves, g, t, past, nbr, zob, stack, mark, stamp)
                same = _same_rows(cand, 0, past, 0)
            if same:
                return SUPERKO, stamp
        slot = (slot + 1) & (size - 1)
    return LEGAL, stamp


@nb.njit(cache=True, inline="always")
def _commit(board, prev_board, moves, hashes, table, g, t, a, color, kind, nh, n, stack):
    """Record turn ``t`` of game ``g``: action ``a`` whose evaluation (kind, hash ``nh`` of the resulting
    colouring, n, ``stack``) is known (for the pass: 0, the current hash, 0); updates the board, the previous
    board, the move record, the hash history and the colouring table (a new colouring gets an entry for turn
    ``t + 1``; a pass repeats the colouring, whose entry then points at turn ``t + 1``). The caller advances
    the per-game counters (``_advance``). Written without branches around the array accesses, so that numba
    drops their reference counting."""
    npts = board.shape[1]
    for i in range(npts):
        prev_board[g, i] = board[g, i]
    moves[g, t] = a
    hashes[g, t + 1] = nh
    size = table.shape[1]
    slot = np.int64(nh & np.uint64(size - 1))
    while table[g, slot] >= 0 and not (a == npts and table[g, slot] == t):
        slot = (slot + 1) & (size - 1)
    table[g, slot] = t + 1
    _apply(board, g, a, color, kind, stack, n)


@nb.njit(cache=True, inline="always")
def _advance(g, a, npts, to_play, passes, num_moves, done, truncated, max_moves):
    """The per-game counters after game ``g`` played ``a``: turn count, side to move, passes, end flags."""
    t = num_moves[g] + 1
    num_moves[g] = t
    to_play[g] = 1 - to_play[g]
    passes[g] = (passes[g] + 1) * (a == npts)
    done[g] = (passes[g] >= 2) | (t >= max_moves)  # (branch-free: numba then drops the reference counting)
    truncated[g] = (passes[g] < 2) & (t >= max_moves)


@nb.njit(cache=True, inline="always")
def _label_groups(board, g, nbr, zob, gid, glibs, ghash, stack, libmark, stone_nbrs, only_lib):
    """Label the groups of game ``g``'s colouring: ``gid[p]`` the group of stone p (-1 on empty points),
    ``glibs[k]`` the number of distinct liberties of group k, ``ghash[k]`` the XOR of its stones' Zobrist
    keys; ``stone_nbrs[p]`` the number of stones next to the empty point p; ``only_lib[p]`` whether the empty
    point p is the only liberty of a group. ``libmark`` is scratch."""
    npts = board.shape[1]
    for p in range(npts):
        gid[p] = -1
        libmark[p] = -1
        stone_nbrs[p] = 0
        only_lib[p] = False
    k = 0
    for s0 in range(npts):
        c = board[g, s0]
        if c == 0 or gid[s0] >= 0:
            continue
        gid[s0] = k
        stack[0] = s0
        top = 1
        i = 0
        libs = 0
        lib = 0
        h = np.uint64(0)
        while i < top:
            s = stack[i]
            i += 1
            h ^= zob[c - 1, s]
            for j in range(4):
                r = nbr[s, j]
                if r < 0:
                    break
                b = board[g, r]
                if b == 0:
                    stone_nbrs[r] += 1
                    if libmark[r] != k:
                        libmark[r] = k
                        libs += 1
                        lib = r
                elif b == c and gid[r] < 0:
                    gid[r] = k
                    stack[top] = r
                    top += 1
        glibs[k] = libs
        ghash[k] = h
        if libs == 1:
            only_lib[lib] = True
        k += 1


@nb.njit(cache=True)
def _legal_masks(board, prev_board, to_play, moves, hashes, table, num_moves, done, nbr, zob, out):
    """Legal masks of all games. Groups are labelled once per position, so each empty point costs O(1) plus a
    probe of the history table: a point next to an empty point that is no group's only liberty just adds a
    stone (no capture, no suicide); at the others the neighbours' groups and liberty counts give captures,
    suicide and the resulting hash. Only a hash found in the table goes through ``_exact_status``."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    cand = np.empty((1, npts), np.int8)
    past = np.empty((1, npts), np.int8)
    gid = np.empty(npts, np.int32)
    glibs = np.empty(npts, np.int32)
    ghash = np.empty(npts, np.uint64)
    libmark = np.empty(npts, np.int32)
    stone_nbrs = np.empty(npts, np.int32)
    only_lib = np.empty(npts, np.bool_)
    degree = np.zeros(npts, np.int32)  # points on the board next to each point
    for p in range(npts):
        for j in range(4):
            degree[p] += nbr[p, j] >= 0
    stamp = 1
    for g in range(board.shape[0]):
        if done[g]:
            for p in range(npts + 1):
                out[g, p] = False
            continue
        _label_groups(board, g, nbr, zob, gid, glibs, ghash, stack, libmark, stone_nbrs, only_lib)
        color = to_play[g] + 1
        h = hashes[g, num_moves[g]]
        for p in range(npts):
            if board[g, p] != 0:
                out[g, p] = False
                continue
            nh = h ^ zob[color - 1, p]
            if stone_nbrs[p] == degree[p] or only_lib[p]:  # else: no capture, no suicide
                removed = np.uint64(0)
                lives = False  # an empty neighbour, a capture, or an own neighbour group with another liberty
                own_nb = False
                k0, k1, k2 = -1, -1, -1  # the distinct neighbour groups met so far (a 4th needs no record)
                for j in range(4):
                    q = nbr[p, j]
                    if q < 0:
                        break
                    b = board[g, q]
                    if b == 0:
                        lives = True
                        continue
                    k = gid[q]
                    if k == k0 or k == k1 or k == k2:
                        continue
                    if k0 < 0:
                        k0 = k
                    elif k1 < 0:
                        k1 = k
                    else:
                        k2 = k
                    if b != color:
                        if glibs[k] == 1:  # its only liberty is p: captured
                            nh ^= ghash[k]
                            lives = True
                    else:
                        own_nb = True
                        if glibs[k] >= 2:
                            lives = True
                        else:
                            removed ^= ghash[k]
                if not lives:
                    if not own_nb:
                        out[g, p] = False  # single-stone suicide
                        continue
                    nh = h ^ removed  # multi-stone suicide
            if _hash_seen(table, hashes, g, nh):
                code, stamp = _exact_status(g, p, board, prev_board, to_play, moves, hashes, table, num_moves,
                                            nbr, zob, stack, mark, stamp, cand, past)  # fmt: skip
                out[g, p] = code == LEGAL
            else:
                out[g, p] = True
        out[g, npts] = True


@nb.njit(cache=True)
def _check_actions(board, prev_board, to_play, moves, hashes, table, num_moves, done, nbr, zob, actions):
    """First illegal action of the batch as (game, reason code), or (-1, 0) when all are legal."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    cand = np.empty((1, npts), np.int8)
    past = np.empty((1, npts), np.int8)
    stamp = 1
    bad, code = -1, LEGAL
    for g in range(board.shape[0]):
        a = actions[g]
        if bad >= 0 or a == -1:
            continue
        if a < -1 or a > npts:
            bad, code = g, OUT_OF_RANGE
        elif done[g]:
            bad, code = g, GAME_OVER
        elif a < npts:
            if board[g, a] != 0:
                bad, code = g, OCCUPIED
            else:
                kind, nh, _ = _evaluate(board, g, a, to_play[g] + 1, hashes[g, num_moves[g]], nbr, zob, stack, mark,
                                        stamp)  # fmt: skip
                stamp += STAMPS
                if kind == 2:
                    bad, code = g, SUICIDE
                elif _hash_seen(table, hashes, g, nh):
                    c, stamp = _exact_status(g, a, board, prev_board, to_play, moves, hashes, table, num_moves, nbr,
                                             zob, stack, mark, stamp, cand, past)  # fmt: skip
                    if c != LEGAL:
                        bad, code = g, c
    return bad, code


@nb.njit(cache=True)
def _step_all(board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated, max_moves,
              nbr, zob, actions):  # fmt: skip
    """Play the (already validated) ``actions`` (-1: game untouched)."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    stamp = 1
    for g in range(board.shape[0]):
        a = actions[g]
        if a == -1:
            continue
        t = num_moves[g]
        color = to_play[g] + 1
        kind, nh, n = 0, hashes[g, t], 0
        if a != npts:
            kind, nh, n = _evaluate(board, g, a, color, hashes[g, t], nbr, zob, stack, mark, stamp)
            stamp += STAMPS
        _commit(board, prev_board, moves, hashes, table, g, t, a, color, kind, nh, n, stack)
        _advance(g, a, npts, to_play, passes, num_moves, done, truncated, max_moves)


@nb.njit(cache=True)
def _step_checked(board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated,
                  max_moves, nbr, zob, actions):  # fmt: skip
    """``_check_actions``, then ``_step_all`` when every action is legal (else nothing changes); returns the
    check's (game, reason code)."""
    g, code = _check_actions(board, prev_board, to_play, moves, hashes, table, num_moves, done, nbr, zob, actions)
    if g < 0:
        _step_all(board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated, max_moves,
                  nbr, zob, actions)  # fmt: skip
    return g, code


@nb.njit(cache=True)
def _step_then_masks(board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated,
                     max_moves, nbr, zob, actions, mask_out):  # fmt: skip
    """``_step_all`` then ``_legal_masks`` of the new positions into ``mask_out``, in one compiled call."""
    _step_all(board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated, max_moves,
              nbr, zob, actions)  # fmt: skip
    _legal_masks(board, prev_board, to_play, moves, hashes, table, num_moves, done, nbr, zob, mask_out)


@nb.njit(cache=True)
def _area_one(board, g, nbr, stack, mark, stamp):
    """(black area, white area) of game ``g``'s colouring: stones + empty regions reaching only that colour."""
    b_area = 0
    w_area = 0
    for p in range(board.shape[1]):
        c = board[g, p]
        if c == 1:
            b_area += 1
        elif c == 2:
            w_area += 1
        elif mark[p] != stamp:
            mark[p] = stamp
            stack[0] = p
            top = 1
            i = 0
            touch = 0  # bit 1: reaches black, bit 2: reaches white
            while i < top:
                s = stack[i]
                i += 1
                for k in range(4):
                    r = nbr[s, k]
                    if r < 0:
                        break
                    b = board[g, r]
                    if b == 0:
                        if mark[r] != stamp:
                            mark[r] = stamp
                            stack[top] = r
                            top += 1
                    else:
                        touch |= b
            if touch == 1:
                b_area += top
            elif touch == 2:
                w_area += top
    return b_area, w_area


@nb.njit(cache=True)
def _areas(board, nbr, out):
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    for g in range(board.shape[0]):
        out[g, 0], out[g, 1] = _area_one(board, g, nbr, stack, mark, g + 1)


@nb.njit(cache=True)
def _returns(board, done, nbr, komi, out):
    """``out`` float32[N, 2] := (+1, -1) / (-1, +1) / 0 by the sign of black area - white area - komi for
    finished games, 0 for running ones (only finished boards are scored)."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    for g in range(board.shape[0]):
        r = 0.0
        if done[g]:
            b_area, w_area = _area_one(board, g, nbr, stack, mark, g + 1)
            d = b_area - w_area - komi
            r = 1.0 if d > 0 else (-1.0 if d < 0 else 0.0)
        out[g, 0] = r
        out[g, 1] = -r


@nb.njit(cache=True)
def _observe(board, seat, moves, num_moves, out):
    """Fill ``out`` float32[N, 4 + H, P] with the observation planes (see ``GoGame.observe``); returns the
    first game whose seat is not 0 or 1 (nothing written from there on), or -1."""
    npts = board.shape[1]
    planes = out.shape[1]
    for g in range(board.shape[0]):
        if seat[g] != 0 and seat[g] != 1:
            return g
        own = np.int8(seat[g] + 1)
        opp = np.int8(2 - seat[g])
        black = np.float32(1.0 if seat[g] == 0 else 0.0)
        # one plane per loop: simple loops that LLVM vectorises
        for p in range(npts):
            out[g, 0, p] = np.float32(board[g, p] == own)
        for p in range(npts):
            out[g, 1, p] = np.float32(board[g, p] == opp)
        for p in range(npts):
            out[g, 2, p] = np.float32(board[g, p] == 0)
        for p in range(npts):
            out[g, 3, p] = black
        for j in range(4, planes):
            for p in range(npts):
                out[g, j, p] = 0.0
            t = num_moves[g] - 1 - (j - 4)
            if t >= 0 and moves[g, t] < npts:
                out[g, j, moves[g, t]] = 1.0
    return -1


@nb.njit(cache=True, inline="always")
def _rand_below(rng, g, bound):
    """Uniform int in [0, bound) from game ``g``'s xorshift64* stream ``rng[g]`` (bound < 2**32)."""
    x = rng[g]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[g] = x
    r = (x * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(32)
    return np.int64((r * np.uint64(bound)) >> np.uint64(32))


@nb.njit(cache=True)
def _playout_one(g, board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated,
                 max_moves, nbr, zob, rng):  # fmt: skip
    """Play game ``g`` to its end with uniformly random legal actions (pass included), by rejection sampling:
    draw uniformly from all N*N + 1 actions until a legal one comes up (points found illegal this turn are
    remembered, so each is evaluated at most once per turn). Returns the turns played."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    cand = np.empty((1, npts), np.int8)
    past = np.empty((1, npts), np.int8)
    illegal = np.zeros(npts, np.int64)  # == played + 1: found illegal on this turn
    stamp = 1
    played = 0
    while not done[g]:
        t = num_moves[g]
        color = to_play[g] + 1
        while True:
            a = _rand_below(rng, g, npts + 1)
            kind, nh, n = 0, hashes[g, t], 0
            if a == npts:
                break
            if board[g, a] != 0 or illegal[a] == played + 1:
                continue
            kind, nh, n = _evaluate(board, g, a, color, hashes[g, t], nbr, zob, stack, mark, stamp)
            stamp += STAMPS
            if kind != 2:
                if not _hash_seen(table, hashes, g, nh):
                    break
                code, stamp = _exact_status(g, a, board, prev_board, to_play, moves, hashes, table, num_moves, nbr,
                                            zob, stack, mark, stamp, cand, past)  # fmt: skip
                if code == LEGAL:  # (a hash collision) the exact check reused ``stack``: evaluate again
                    kind, nh, n = _evaluate(board, g, a, color, hashes[g, t], nbr, zob, stack, mark, stamp)
                    stamp += STAMPS
                    break
            illegal[a] = played + 1
        _commit(board, prev_board, moves, hashes, table, g, t, a, color, kind, nh, n, stack)
        _advance(g, a, npts, to_play, passes, num_moves, done, truncated, max_moves)
        played += 1
    return played


@nb.njit(cache=True)
def _playouts(board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated, max_moves,
              nbr, zob, rng):  # fmt: skip
    total = 0
    for g in range(board.shape[0]):
        total += _playout_one(g, board, prev_board, to_play, passes, moves, hashes, table, num_moves, done,
                              truncated, max_moves, nbr, zob, rng)  # fmt: skip
    return total


@nb.njit(cache=True, parallel=True)
def _playouts_parallel(board, prev_board, to_play, passes, moves, hashes, table, num_moves, done, truncated,
                       max_moves, nbr, zob, rng):  # fmt: skip
    played = np.zeros(board.shape[0], np.int64)
    for g in nb.prange(board.shape[0]):
        played[g] = _playout_one(g, board, prev_board, to_play, passes, moves, hashes, table, num_moves, done,
                                 truncated, max_moves, nbr, zob, rng)  # fmt: skip
    return played.sum()


# ------------------------------------------------------------------------------------------------------------


@dataclass
class GoState:
    """N Go games as arrays (leading axis = game index); field meanings in the module docstring."""

    board: np.ndarray
    prev_board: np.ndarray
    to_play: np.ndarray
    passes: np.ndarray
    num_moves: np.ndarray
    moves: np.ndarray
    hashes: np.ndarray
    table: np.ndarray
    done: np.ndarray
    truncated: np.ndarray

    def __len__(self) -> int:
        return self.board.shape[0]

    def copy(self) -> GoState:
        return GoState(*(a.copy() for a in _get_arrays(self)))

    def take(self, idx: np.ndarray) -> GoState:
        idx = np.asarray(idx, dtype=np.int64)  # (``take`` copies rows faster, indexing single values)
        return GoState(*(a.take(idx, axis=0) if a.ndim == 2 else a[idx] for a in _get_arrays(self)))


_get_arrays = attrgetter(*(f.name for f in fields(GoState)))  # the fields in declaration order, as a tuple


class GoGame:
    """Batched strict Tromp-Taylor Go (``zeroleague.envs.core.BatchedGame``), immutable configuration.

    ``GoGame(board_size=19, komi=7.5, max_moves=None, history=0)``: ``max_moves`` caps the turns (passes
    counted; None = ``2*N*N``); ``history`` adds that many planes to observations, plane j marking the point
    played ``j + 1`` turns ago (all zero for a pass or before the start).
    """

    env_id = "go_v0"
    num_players = 2
    perfect_information = True

    def __init__(
        self, board_size: int = 19, komi: float = 7.5, max_moves: int | None = None, history: int = 0
    ):
        self.board_size = check_board_size(board_size)
        if (
            isinstance(komi, bool)
            or not isinstance(komi, (int, float, np.integer, np.floating))
            or not math.isfinite(komi)
        ):
            raise TypeError(f"komi must be a finite number, got {komi!r}")
        self.komi = float(komi)
        n2 = self.board_size**2
        if max_moves is None:
            max_moves = 2 * n2
        if (
            isinstance(max_moves, bool)
            or not isinstance(max_moves, (int, np.integer))
            or not 1 <= max_moves < 2**15
        ):
            raise ValueError(f"max_moves must be an int in 1..32767 (or None for 2*N*N), got {max_moves!r}")
        self.max_moves = int(max_moves)
        if isinstance(history, bool) or not isinstance(history, (int, np.integer)) or history < 0:
            raise ValueError(f"history must be an int >= 0, got {history!r}")
        self.history = int(history)
        self.num_points = n2
        self.num_actions = n2 + 1
        self.pass_action = n2
        self.obs_shape = (4 + self.history, self.board_size, self.board_size)
        self._nbr, self._zob = _tables(self.board_size)
        self._one_seat = (np.zeros(1, np.int64), np.ones(1, np.int64))  # observe's seat array for one game
        # a power of 2 with room for every turn's colouring at a load factor <= 2/3
        self._table_size = 1 << (3 * (self.max_moves + 1) // 2).bit_length()

    def __repr__(self) -> str:
        return (
            f"GoGame(board_size={self.board_size}, komi={self.komi}, max_moves={self.max_moves}, "
            f"history={self.history})"
        )

    def _arrays(self, s: GoState) -> tuple:
        """What the read-only kernels (masks, checks) take, the tables included."""
        return (s.board, s.prev_board, s.to_play, s.moves, s.hashes, s.table, s.num_moves, s.done, self._nbr, self._zob)

    def _step_arrays(self, s: GoState) -> tuple:
        """What the stepping kernels take, the tables included."""
        return (s.board, s.prev_board, s.to_play, s.passes, s.moves, s.hashes, s.table, s.num_moves, s.done,
                s.truncated, self.max_moves, self._nbr, self._zob)  # fmt: skip

    def _actions(self, state: GoState, actions: np.ndarray) -> np.ndarray:
        """``actions`` as int64[N], else IllegalActionError (the actions' values are checked by the kernels)."""
        arr = np.asarray(actions)
        if arr.shape != (len(state),) or arr.dtype.kind not in "iu":
            raise IllegalActionError(f"actions must be an int array of shape ({len(state)},), got {actions!r}")
        return arr.astype(np.int64, copy=False)

    def _illegal_text(self, actions: np.ndarray, g: int, code: int) -> str:
        return f"action {action_name(int(actions[g]), self.board_size)} is illegal: {REASONS[code]}"

    # --- BatchedGame ----------------------------------------------------------------------------------------

    def init(self, n: int, seed: int | np.ndarray = 0) -> GoState:
        """N empty boards, Black to play. ``seed`` is checked but unused (Go has no chance)."""
        seeds_for(n, seed)
        p, m = self.num_points, self.max_moves
        table = np.full((n, self._table_size), -1, dtype=np.int32)
        table[:, 0] = 0  # the empty colouring (hash 0) is turn 0
        return GoState(
            board=np.zeros((n, p), np.int8),
            prev_board=np.zeros((n, p), np.int8),
            to_play=np.zeros(n, np.int8),
            passes=np.zeros(n, np.int8),
            num_moves=np.zeros(n, np.int32),
            moves=np.full((n, m), -1, np.int16),
            hashes=np.zeros((n, m + 1), np.uint64),
            table=table,
            done=np.zeros(n, bool),
            truncated=np.zeros(n, bool),
        )

    def current_player(self, state: GoState) -> np.ndarray:
        return np.where(state.done, np.int8(-1), state.to_play)

    def legal_mask(self, state: GoState, out: np.ndarray | None = None) -> np.ndarray:
        """bool[N, A] legal actions (all False for finished games); ``out`` (bool or int8 [N, A]), when given,
        is filled and returned instead of a new array."""
        if out is None:
            out = np.empty((len(state), self.num_actions), dtype=bool)
        _legal_masks(*self._arrays(state), out)
        return out

    def observe(self, state: GoState, player: int | np.ndarray) -> np.ndarray:
        """float32[N, 4 + history, S, S]: the observer's stones, the opponent's, empty points, a plane of ones
        when the observer is Black (zeros for White), then the history planes (see the class docstring)."""
        n, s = len(state), self.board_size
        if isinstance(player, (int, np.integer)) and player in (0, 1):
            seat = self._one_seat[player] if n == 1 else np.full(n, player, dtype=np.int64)
        else:
            seat = np.asarray(player, dtype=np.int64)
            if seat.shape != (n,):
                seat = np.broadcast_to(seat, (n,))
        obs = np.empty((n, 4 + self.history, self.num_points), dtype=np.float32)
        if _observe(state.board, seat, state.moves, state.num_moves, obs) >= 0:
            raise ValueError(f"player must be 0 (black) or 1 (white), got {player!r}")
        return obs.reshape(n, 4 + self.history, s, s)

    def illegal_action(self, state: GoState, actions: np.ndarray) -> tuple[int, str] | None:
        """The first game whose action is illegal, with text naming the action and why; None when all are
        legal. ``actions``: an int array, one entry per game (-1 = untouched), else IllegalActionError."""
        actions = self._actions(state, actions)
        g, code = _check_actions(*self._arrays(state), actions)
        return None if g < 0 else (g, self._illegal_text(actions, g, code))

    def step(self, state: GoState, actions: np.ndarray) -> None:
        """Validates every action and plays them all, or raises IllegalActionError (naming the first illegal
        action) and changes nothing: one compiled call."""
        actions = self._actions(state, actions)
        g, code = _step_checked(*self._step_arrays(state), actions)
        if g >= 0:
            raise IllegalActionError(f"game {g}: {self._illegal_text(actions, g, code)}")

    def step_unchecked(self, state: GoState, actions: np.ndarray, mask_out: np.ndarray | None = None) -> None:
        """``step`` without validation, for callers whose int64 ``actions`` come from ``legal_mask`` of this
        very state (the AEC env); an illegal action here corrupts the state. With ``mask_out`` (bool or int8
        [N, A]) the new legal masks are written there in the same compiled call."""
        if mask_out is None:
            _step_all(*self._step_arrays(state), actions)
        else:
            _step_then_masks(*self._step_arrays(state), actions, mask_out)

    def terminal(self, state: GoState) -> np.ndarray:
        return state.done.copy()

    def truncated(self, state: GoState) -> np.ndarray:
        return state.truncated.copy()

    def returns(self, state: GoState) -> np.ndarray:
        """float32[N, 2]: (+1, -1) when Black won, (-1, +1) when White won, 0 for draws and running games."""
        out = np.empty((len(state), 2), dtype=np.float32)
        _returns(state.board, state.done, self._nbr, self.komi, out)
        return out

    def copy(self, state: GoState) -> GoState:
        return state.copy()

    def take(self, state: GoState, idx: np.ndarray) -> GoState:
        return state.take(idx)

    def information_state(self, state: GoState, player: int | np.ndarray) -> GoState:
        return state.copy()

    def sample_worlds(
        self, info_state: GoState, player: int | np.ndarray, rng: np.random.Generator
    ) -> GoState:
        return info_state.copy()

    # --- Go specific ----------------------------------------------------------------------------------------

    def area(self, state: GoState) -> np.ndarray:
        """int32[N, 2]: (black area, white area) of each board as it stands (Tromp-Taylor)."""
        out = np.empty((len(state), 2), dtype=np.int32)
        _areas(state.board, self._nbr, out)
        return out

    def score(self, state: GoState) -> np.ndarray:
        """float32[N]: black area - white area - komi (positive: Black wins)."""
        a = self.area(state)
        return (a[:, 0] - a[:, 1] - self.komi).astype(np.float32)

    def random_playouts(self, state: GoState, seed: int | np.ndarray, parallel: bool = False) -> int:
        """Play every running game of ``state`` to its end in place with uniformly random legal actions (the
        pass included), game i drawing from the i-th stream of ``seed``. ``parallel`` spreads games over
        threads (same result). Returns the number of turns played."""
        rng = seeds_for(len(state), seed).astype(np.uint64) | np.uint64(1)  # xorshift state must be nonzero
        fn = _playouts_parallel if parallel else _playouts
        return int(fn(*self._step_arrays(state), rng))
