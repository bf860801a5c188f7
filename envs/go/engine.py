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
XORs per group), so each empty point costs O(1) plus a hash-table probe. ``GoGame.random_playouts`` (serial
or threaded) plays whole uniformly random games inside compiled code (benchmarks, rollouts).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import numba as nb
import numpy as np

from envs.core import IllegalActionError, seeds_for

MIN_SIZE = 2
MAX_SIZE = 25
COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP column letters (no I)

# Reasons a point is not a legal move (codes returned by the compiled checks).
LEGAL, OCCUPIED, SUICIDE, SUPERKO, GAME_OVER, OUT_OF_RANGE = 0, 1, 2, 3, 4, 5
HASH_HIT = 6  # internal: the hash of the resulting colouring is in the history; an exact comparison decides
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
# Compiled core. ``board`` is one game's int8[P] row; ``stack`` int32[P] and ``mark`` int64[P] are scratch
# arrays. Stamps make ``mark`` reusable without clearing: an evaluation with base stamp ``b`` marks the stones
# of the flood from its k-th neighbour with ``b + 1 + k``; callers advance their stamp by ``STAMPS`` per
# evaluation.
STAMPS = 5


@nb.njit(cache=True, inline="always")
def _fill(board, start, p, nbr, zob, stack, top, mark, fs, base):
    """Flood the group of ``start`` with stamp ``fs`` (pushing its stones on ``stack`` from ``top``). Returns
    (has a liberty other than ``p``, new top, XOR of the group's Zobrist keys). Stops early once a liberty is
    found; a stone marked by an earlier flood of the same evaluation (stamp in ``(base, fs)``) belongs to a
    group such an early stop left unfinished, which therefore has a liberty."""
    col = board[start]
    mark[start] = fs
    stack[top] = start
    i = top
    top += 1
    gh = np.uint64(0)
    while i < top:
        s = stack[i]
        i += 1
        gh ^= zob[col - 1, s]
        for k in range(4):
            r = nbr[s, k]
            if r < 0:
                break
            b = board[r]
            if b == 0:
                if r != p:
                    return True, top, gh
            elif b == col and mark[r] != fs:
                if mark[r] > base:
                    return True, top, gh
                mark[r] = fs
                stack[top] = r
                top += 1
    return False, top, gh


@nb.njit(cache=True, inline="always")
def _evaluate(board, p, color, h, nbr, zob, stack, mark, base):
    """What playing ``color`` on the empty point ``p`` does, without changing ``board``.

    Returns (kind, hash after the move, n): kind 0 = ordinary move, ``stack[:n]`` the captured opponent
    stones; kind 1 = multi-stone suicide, ``stack[:n]`` the mover's other stones removed with ``p``; kind 2 =
    single-stone suicide (nothing changes)."""
    opp = 3 - color
    nh = h ^ zob[color - 1, p]
    top = 0
    has_lib = False
    own_nb = False
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            break
        b = board[q]
        if b == 0:
            has_lib = True
        elif b == opp:
            if mark[q] <= base:
                start = top
                lib, top, gh = _fill(board, q, p, nbr, zob, stack, top, mark, base + 1 + k, base)
                if lib:
                    top = start
                else:
                    nh ^= gh
        else:
            own_nb = True
    if top > 0 or has_lib:
        return 0, nh, top
    if not own_nb:
        return 2, h, 0
    removed = np.uint64(0)
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            break
        if board[q] == color and mark[q] <= base:
            lib, top, gh = _fill(board, q, p, nbr, zob, stack, top, mark, base + 1 + k, base)
            if lib:
                return 0, nh, 0
            removed ^= gh
    return 1, h ^ removed, top


@nb.njit(cache=True, inline="always")
def _apply(board, p, color, kind, stack, n):
    board[p] = color
    for i in range(n):
        board[stack[i]] = 0
    if kind == 1:
        board[p] = 0


@nb.njit(cache=True)
def _replay(moves, k, out, nbr, zob, stack, mark, stamp):
    """``out`` := the colouring after the first ``k`` turns of ``moves``. Returns the next free stamp."""
    out[:] = 0
    npts = out.shape[0]
    for i in range(k):
        a = moves[i]
        if a < npts:
            color = 1 + (i & 1)
            kind, _, n = _evaluate(out, a, color, np.uint64(0), nbr, zob, stack, mark, stamp)
            stamp += STAMPS
            _apply(out, a, color, kind, stack, n)
    return stamp


@nb.njit(cache=True)
def _seen(
    g,
    nh,
    p,
    color,
    kind,
    n,
    board,
    prev_board,
    moves,
    hashes,
    table,
    num_moves,
    nbr,
    zob,
    stack,
    mark,
    stamp,
    cand,
    past,
):
    """Whether the colouring produced by the evaluated move (hash ``nh``) occurred earlier in game ``g``.
    Exact: every hash hit is confirmed by comparing colourings. Returns (seen, next free stamp)."""
    size = table.shape[1]
    slot = np.int64(nh & np.uint64(size - 1))
    built = False
    while table[g, slot] >= 0:
        t = table[g, slot]
        if hashes[g, t] == nh:
            if not built:
                cand[:] = board[g]
                _apply(cand, p, color, kind, stack, n)
                built = True
            if t == num_moves[g]:
                ref = board[g]
            elif t == num_moves[g] - 1:
                ref = prev_board[g]
            else:
                # ``stack`` held the evaluated move's stones, already used for ``cand``: replay may reuse it
                stamp = _replay(moves[g], t, past, nbr, zob, stack, mark, stamp)
                ref = past
            same = True
            for i in range(cand.shape[0]):
                if cand[i] != ref[i]:
                    same = False
                    break
            if same:
                return True, stamp
        slot = (slot + 1) & (size - 1)
    return False, stamp


@nb.njit(cache=True, inline="always")
def _hash_seen(tb, hs, nh):
    """Whether hash ``nh`` is among one game's colourings so far (table row ``tb``, hash history ``hs``): a
    necessary condition for a repeat."""
    size = tb.shape[0]
    slot = np.int64(nh & np.uint64(size - 1))
    while tb[slot] >= 0:
        if hs[tb[slot]] == nh:
            return True
        slot = (slot + 1) & (size - 1)
    return False


@nb.njit(cache=True, inline="always")
def _point_status(g, p, board, to_play, hashes, table, num_moves, nbr, zob, stack, mark, stamp):
    """Legality code of a move on point ``p`` in running game ``g`` (LEGAL, OCCUPIED, SUICIDE, or HASH_HIT:
    its colouring's hash is in the history, so ``_seen`` must decide between LEGAL and SUPERKO), with
    (kind, hash, n) of the evaluation and the next free stamp. Kept to few arrays: this is the hot path."""
    if board[g, p] != 0:
        return OCCUPIED, 0, np.uint64(0), 0, stamp
    color = to_play[g] + 1
    kind, nh, n = _evaluate(board[g], p, color, hashes[g, num_moves[g]], nbr, zob, stack, mark, stamp)
    stamp += STAMPS
    if kind == 2:
        return SUICIDE, kind, nh, n, stamp
    if _hash_seen(table[g], hashes[g], nh):
        return HASH_HIT, kind, nh, n, stamp
    return LEGAL, kind, nh, n, stamp


@nb.njit(cache=True)
def _resolve_hit(
    g,
    nh,
    p,
    kind,
    n,
    board,
    prev_board,
    to_play,
    moves,
    hashes,
    table,
    num_moves,
    nbr,
    zob,
    stack,
    mark,
    stamp,
    cand,
    past,
):
    """SUPERKO or LEGAL for a HASH_HIT from ``_point_status``, and the next free stamp."""
    seen, stamp = _seen(
        g,
        nh,
        p,
        to_play[g] + 1,
        kind,
        n,
        board,
        prev_board,
        moves,
        hashes,
        table,
        num_moves,
        nbr,
        zob,
        stack,
        mark,
        stamp,
        cand,
        past,
    )
    return (SUPERKO if seen else LEGAL), stamp


@nb.njit(cache=True)
def _table_insert(tb, t, nh):
    """Add turn ``t``'s colouring (hash ``nh``) to one game's table ``tb``."""
    size = tb.shape[0]
    slot = np.int64(nh & np.uint64(size - 1))
    while tb[slot] >= 0:
        slot = (slot + 1) & (size - 1)
    tb[slot] = t


@nb.njit(cache=True)
def _table_bump(tb, hs, t):
    """The entry of turn ``t``'s colouring now points at turn ``t + 1`` (a pass repeated it)."""
    size = tb.shape[0]
    slot = np.int64(hs[t] & np.uint64(size - 1))
    while tb[slot] != t:
        slot = (slot + 1) & (size - 1)
    tb[slot] = t + 1


@nb.njit(cache=True, inline="always")
def _commit(brd, prev, mv, hs, tb, t, a, color, kind, nh, n, stack):
    """Record turn ``t`` of one game (row views): action ``a`` whose evaluation (kind, hash, n, ``stack``) is
    known (ignored for the pass ``a == P``); updates the board, the previous board, the move record, the hash
    history and the colouring table. The caller advances the per-game counters."""
    prev[:] = brd
    mv[t] = a
    if a == brd.shape[0]:
        hs[t + 1] = hs[t]
        _table_bump(tb, hs, t)
    else:
        _apply(brd, a, color, kind, stack, n)
        hs[t + 1] = nh
        _table_insert(tb, t + 1, nh)


@nb.njit(cache=True, inline="always")
def _advance(g, a, npts, to_play, passes, num_moves, done, truncated, max_moves):
    """The per-game counters after game ``g`` played ``a``: turn count, side to move, passes, end flags."""
    t = num_moves[g] + 1
    num_moves[g] = t
    to_play[g] = 1 - to_play[g]
    passes[g] = passes[g] + 1 if a == npts else 0
    if passes[g] >= 2:
        done[g] = True
    elif t >= max_moves:
        done[g] = True
        truncated[g] = True


@nb.njit(cache=True)
def _do_turn(
    g,
    a,
    board,
    prev_board,
    to_play,
    passes,
    moves,
    hashes,
    table,
    num_moves,
    done,
    truncated,
    max_moves,
    nbr,
    zob,
    stack,
    mark,
    stamp,
):
    """Play the (already validated) action ``a`` in game ``g``. Returns the next free stamp."""
    npts = board.shape[1]
    t = num_moves[g]
    color = to_play[g] + 1
    kind, nh, n = 0, np.uint64(0), 0
    if a != npts:
        kind, nh, n = _evaluate(board[g], a, color, hashes[g, t], nbr, zob, stack, mark, stamp)
        stamp += STAMPS
    _commit(board[g], prev_board[g], moves[g], hashes[g], table[g], t, a, color, kind, nh, n, stack)
    _advance(g, a, npts, to_play, passes, num_moves, done, truncated, max_moves)
    return stamp


@nb.njit(cache=True)
def _label_groups(board, nbr, zob, gid, glibs, ghash, stack, libmark):
    """Label the groups of one colouring: ``gid[p]`` the group of stone p (-1 on empty points), ``glibs[k]``
    the number of distinct liberties of group k, ``ghash[k]`` the XOR of its stones' Zobrist keys.
    ``libmark`` must hold values < 0 on entry."""
    gid[:] = -1
    k = 0
    for s0 in range(board.shape[0]):
        c = board[s0]
        if c == 0 or gid[s0] >= 0:
            continue
        gid[s0] = k
        stack[0] = s0
        top = 1
        i = 0
        libs = 0
        h = np.uint64(0)
        while i < top:
            s = stack[i]
            i += 1
            h ^= zob[c - 1, s]
            for j in range(4):
                r = nbr[s, j]
                if r < 0:
                    break
                b = board[r]
                if b == 0:
                    if libmark[r] != k:
                        libmark[r] = k
                        libs += 1
                elif b == c and gid[r] < 0:
                    gid[r] = k
                    stack[top] = r
                    top += 1
        glibs[k] = libs
        ghash[k] = h
        k += 1


@nb.njit(cache=True)
def _legal_masks(board, prev_board, to_play, moves, hashes, table, num_moves, done, nbr, zob, out):
    """Legal masks of all games. Groups are labelled once per position, so each empty point costs O(1) (its
    neighbours' groups and liberty counts give captures, suicide and the resulting hash); only a hash found in
    the history goes through ``_point_status``/``_resolve_hit`` for the exact comparison."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    cand = np.empty(npts, np.int8)
    past = np.empty(npts, np.int8)
    gid = np.empty(npts, np.int32)
    glibs = np.empty(npts, np.int32)
    ghash = np.empty(npts, np.uint64)
    libmark = np.empty(npts, np.int32)
    near = np.empty(4, np.int32)
    stamp = 1
    for g in range(board.shape[0]):
        if done[g]:
            out[g, :] = False
            continue
        brd = board[g]
        libmark[:] = -1
        _label_groups(brd, nbr, zob, gid, glibs, ghash, stack, libmark)
        color = to_play[g] + 1
        h = hashes[g, num_moves[g]]
        for p in range(npts):
            if brd[p] != 0:
                out[g, p] = False
                continue
            nh = h ^ zob[color - 1, p]
            removed = np.uint64(0)
            lives = False  # an empty neighbour, a capture, or an own neighbour group with another liberty
            own_nb = False
            m = 0
            for j in range(4):
                q = nbr[p, j]
                if q < 0:
                    break
                b = brd[q]
                if b == 0:
                    lives = True
                    continue
                k = gid[q]
                dup = False
                for i in range(m):
                    if near[i] == k:
                        dup = True
                if dup:
                    continue
                near[m] = k
                m += 1
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
            if not _hash_seen(table[g], hashes[g], nh):
                out[g, p] = True
                continue
            code, kind, nh, n, stamp = _point_status(
                g, p, board, to_play, hashes, table, num_moves, nbr, zob, stack, mark, stamp
            )
            if code == HASH_HIT:
                code, stamp = _resolve_hit(
                    g, nh, p, kind, n, board, prev_board, to_play, moves, hashes, table, num_moves, nbr, zob,
                    stack, mark, stamp, cand, past,
                )  # fmt: skip
            out[g, p] = code == LEGAL
        out[g, npts] = True


@nb.njit(cache=True)
def _check_actions(board, prev_board, to_play, moves, hashes, table, num_moves, done, nbr, zob, actions):
    """First illegal action of the batch as (game, reason code), or (-1, 0) when all are legal."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    cand = np.empty(npts, np.int8)
    past = np.empty(npts, np.int8)
    stamp = 1
    for g in range(board.shape[0]):
        a = actions[g]
        if a == -1:
            continue
        if a < -1 or a > npts:
            return g, OUT_OF_RANGE
        if done[g]:
            return g, GAME_OVER
        if a == npts:
            continue
        code, kind, nh, n, stamp = _point_status(
            g, a, board, to_play, hashes, table, num_moves, nbr, zob, stack, mark, stamp
        )
        if code == HASH_HIT:
            code, stamp = _resolve_hit(
                g,
                nh,
                a,
                kind,
                n,
                board,
                prev_board,
                to_play,
                moves,
                hashes,
                table,
                num_moves,
                nbr,
                zob,
                stack,
                mark,
                stamp,
                cand,
                past,
            )
        if code != LEGAL:
            return g, code
    return -1, 0


@nb.njit(cache=True)
def _step_all(
    board,
    prev_board,
    to_play,
    passes,
    moves,
    hashes,
    table,
    num_moves,
    done,
    truncated,
    max_moves,
    nbr,
    zob,
    actions,
):
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    stamp = 1
    for g in range(board.shape[0]):
        if actions[g] != -1:
            stamp = _do_turn(
                g,
                actions[g],
                board,
                prev_board,
                to_play,
                passes,
                moves,
                hashes,
                table,
                num_moves,
                done,
                truncated,
                max_moves,
                nbr,
                zob,
                stack,
                mark,
                stamp,
            )


@nb.njit(cache=True)
def _step_then_masks(
    board,
    prev_board,
    to_play,
    passes,
    moves,
    hashes,
    table,
    num_moves,
    done,
    truncated,
    max_moves,
    nbr,
    zob,
    actions,
    mask_out,
):
    """``_step_all`` then ``_legal_masks`` of the new positions into ``mask_out``, in one compiled call."""
    _step_all(
        board,
        prev_board,
        to_play,
        passes,
        moves,
        hashes,
        table,
        num_moves,
        done,
        truncated,
        max_moves,
        nbr,
        zob,
        actions,
    )
    _legal_masks(board, prev_board, to_play, moves, hashes, table, num_moves, done, nbr, zob, mask_out)


@nb.njit(cache=True)
def _area_one(board, nbr, stack, mark, stamp):
    """(black area, white area) of one colouring: stones + empty regions reaching only that colour."""
    b_area = 0
    w_area = 0
    for p in range(board.shape[0]):
        c = board[p]
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
                    b = board[r]
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
        out[g, 0], out[g, 1] = _area_one(board[g], nbr, stack, mark, g + 1)


@nb.njit(cache=True)
def _observe(board, seat, moves, num_moves, out):
    """Fill ``out`` float32[N, 4 + H, P] with the observation planes (see ``GoGame.observe``)."""
    npts = board.shape[1]
    for g in range(board.shape[0]):
        own = seat[g] + 1
        out[g, :, :] = 0.0
        for p in range(npts):
            b = board[g, p]
            if b == 0:
                out[g, 2, p] = 1.0
            elif b == own:
                out[g, 0, p] = 1.0
            else:
                out[g, 1, p] = 1.0
        if seat[g] == 0:
            out[g, 3, :] = 1.0
        for j in range(out.shape[1] - 4):
            t = num_moves[g] - 1 - j
            if t >= 0 and moves[g, t] < npts:
                out[g, 4 + j, moves[g, t]] = 1.0


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
def _playout_one(
    g,
    board,
    prev_board,
    to_play,
    passes,
    moves,
    hashes,
    table,
    num_moves,
    done,
    truncated,
    max_moves,
    nbr,
    zob,
    rng,
):
    """Play game ``g`` to its end with uniformly random legal actions (pass included), by rejection sampling:
    draw uniformly from all N*N + 1 actions until a legal one comes up (points found illegal this turn are
    remembered, so each is evaluated at most once per turn). Returns the turns played."""
    npts = board.shape[1]
    stack = np.empty(npts, np.int32)
    mark = np.zeros(npts, np.int64)
    cand = np.empty(npts, np.int8)
    past = np.empty(npts, np.int8)
    illegal = np.zeros(npts, np.int64)  # == played + 1: found illegal on this turn
    brd, prev, mv, hs, tb = board[g], prev_board[g], moves[g], hashes[g], table[g]
    stamp = 1
    played = 0
    while not done[g]:
        t = num_moves[g]
        color = to_play[g] + 1
        while True:
            a = _rand_below(rng, g, npts + 1)
            kind, nh, n = 0, np.uint64(0), 0
            if a == npts:
                break
            if brd[a] != 0 or illegal[a] == played + 1:
                continue
            kind, nh, n = _evaluate(brd, a, color, hs[t], nbr, zob, stack, mark, stamp)
            stamp += STAMPS
            if kind != 2:
                if not _hash_seen(tb, hs, nh):
                    break
                code, stamp = _resolve_hit(
                    g, nh, a, kind, n, board, prev_board, to_play, moves, hashes, table, num_moves, nbr, zob,
                    stack, mark, stamp, cand, past,
                )  # fmt: skip
                if code == LEGAL:  # (a hash collision) the exact check reused ``stack``: evaluate again
                    kind, nh, n = _evaluate(brd, a, color, hs[t], nbr, zob, stack, mark, stamp)
                    stamp += STAMPS
                    break
            illegal[a] = played + 1
        _commit(brd, prev, mv, hs, tb, t, a, color, kind, nh, n, stack)
        _advance(g, a, npts, to_play, passes, num_moves, done, truncated, max_moves)
        played += 1
    return played


@nb.njit(cache=True)
def _playouts(
    board,
    prev_board,
    to_play,
    passes,
    moves,
    hashes,
    table,
    num_moves,
    done,
    truncated,
    max_moves,
    nbr,
    zob,
    rng,
):
    total = 0
    for g in range(board.shape[0]):
        total += _playout_one(
            g,
            board,
            prev_board,
            to_play,
            passes,
            moves,
            hashes,
            table,
            num_moves,
            done,
            truncated,
            max_moves,
            nbr,
            zob,
            rng,
        )
    return total


@nb.njit(cache=True, parallel=True)
def _playouts_parallel(
    board,
    prev_board,
    to_play,
    passes,
    moves,
    hashes,
    table,
    num_moves,
    done,
    truncated,
    max_moves,
    nbr,
    zob,
    rng,
):
    played = np.zeros(board.shape[0], np.int64)
    for g in nb.prange(board.shape[0]):
        played[g] = _playout_one(
            g,
            board,
            prev_board,
            to_play,
            passes,
            moves,
            hashes,
            table,
            num_moves,
            done,
            truncated,
            max_moves,
            nbr,
            zob,
            rng,
        )
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
        return GoState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def take(self, idx: np.ndarray) -> GoState:
        idx = np.asarray(idx, dtype=np.int64)
        return GoState(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


class GoGame:
    """Batched strict Tromp-Taylor Go (``envs.core.BatchedGame``), immutable configuration.

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
        self._table_size = 1 << (2 * (self.max_moves + 1) - 1).bit_length()

    def __repr__(self) -> str:
        return (
            f"GoGame(board_size={self.board_size}, komi={self.komi}, max_moves={self.max_moves}, "
            f"history={self.history})"
        )

    def _arrays(self, s: GoState) -> tuple:
        return (s.board, s.prev_board, s.to_play, s.moves, s.hashes, s.table, s.num_moves, s.done)

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
        return np.where(state.done, -1, state.to_play).astype(np.int8)

    def legal_mask(self, state: GoState, out: np.ndarray | None = None) -> np.ndarray:
        """bool[N, A] legal actions (all False for finished games); ``out`` (bool or int8 [N, A]), when given,
        is filled and returned instead of a new array."""
        if out is None:
            out = np.empty((len(state), self.num_actions), dtype=bool)
        _legal_masks(*self._arrays(state), self._nbr, self._zob, out)
        return out

    def observe(self, state: GoState, player: int | np.ndarray) -> np.ndarray:
        """float32[N, 4 + history, S, S]: the observer's stones, the opponent's, empty points, a plane of ones
        when the observer is Black (zeros for White), then the history planes (see the class docstring)."""
        n, s = len(state), self.board_size
        if isinstance(player, (int, np.integer)) and player in (0, 1):
            seat = self._one_seat[player] if n == 1 else np.full(n, player, dtype=np.int64)
        else:
            seat = np.broadcast_to(np.asarray(player, dtype=np.int64), (n,))
            if ((seat != 0) & (seat != 1)).any():
                raise ValueError(f"player must be 0 (black) or 1 (white), got {player!r}")
        obs = np.empty((n, 4 + self.history, self.num_points), dtype=np.float32)
        _observe(state.board, seat, state.moves, state.num_moves, obs)
        return obs.reshape(n, 4 + self.history, s, s)

    def illegal_action(self, state: GoState, actions: np.ndarray) -> tuple[int, str] | None:
        """The first game whose action is illegal, with text naming the action and why; None when all are
        legal. ``actions``: an int array, one entry per game (-1 = untouched), else IllegalActionError."""
        actions = np.asarray(actions)
        if actions.shape != (len(state),) or not np.issubdtype(actions.dtype, np.integer):
            raise IllegalActionError(
                f"actions must be an int array of shape ({len(state)},), got {actions!r}"
            )
        g, code = _check_actions(*self._arrays(state), self._nbr, self._zob, actions.astype(np.int64))
        if g < 0:
            return None
        return g, f"action {action_name(int(actions[g]), self.board_size)} is illegal: {REASONS[code]}"

    def step(self, state: GoState, actions: np.ndarray) -> None:
        found = self.illegal_action(state, actions)
        if found is not None:
            raise IllegalActionError(f"game {found[0]}: {found[1]}")
        self.step_unchecked(state, np.asarray(actions, dtype=np.int64))

    def step_unchecked(self, state: GoState, actions: np.ndarray, mask_out: np.ndarray | None = None) -> None:
        """``step`` without validation, for callers whose int64 ``actions`` come from ``legal_mask`` of this
        very state (the AEC env); an illegal action here corrupts the state. With ``mask_out`` (bool or int8
        [N, A]) the new legal masks are written there in the same compiled call."""
        arrays = (state.board, state.prev_board, state.to_play, state.passes, state.moves, state.hashes)
        arrays += (
            state.table,
            state.num_moves,
            state.done,
            state.truncated,
            self.max_moves,
            self._nbr,
            self._zob,
        )
        if mask_out is None:
            _step_all(*arrays, actions)
        else:
            _step_then_masks(*arrays, actions, mask_out)

    def terminal(self, state: GoState) -> np.ndarray:
        return state.done.copy()

    def truncated(self, state: GoState) -> np.ndarray:
        return state.truncated.copy()

    def returns(self, state: GoState) -> np.ndarray:
        """float32[N, 2]: (+1, -1) when Black won, (-1, +1) when White won, 0 for draws and running games."""
        black = np.where(state.done, np.sign(self.score(state)), 0).astype(np.float32)
        return np.stack([black, -black], axis=1)

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
        return int(
            fn(
                state.board,
                state.prev_board,
                state.to_play,
                state.passes,
                state.moves,
                state.hashes,
                state.table,
                state.num_moves,
                state.done,
                state.truncated,
                self.max_moves,
                self._nbr,
                self._zob,
                rng,
            )
        )
