"""Batched 6 nimmt! engine (normative text: shared/rules/sixnimmt.md).

``SixNimmtGame`` implements ``zeroleague.envs.core.BatchedGame`` for ``sixnimmt_v0`` (cards 1..104) and
``sixnimmt_tactical_v0`` (cards 1..24). Options: ``num_players`` P (2..10), ``max_card`` M (deck 1..M, at
least P*hand_size + 4, at most 104), ``hand_size`` H, ``row_choice`` ("player": the owner of a too-low card
chooses any row in a row-choice turn; "auto": it takes the row with the fewest bullheads, ties -> lowest row
index), ``target_score`` (None: one round; else deal again until some match total is >= target at a round's
end), ``reward`` ("margin" or "win").

Actions: ``c - 1`` plays card c (1 <= c <= M); ``M + j`` takes row j (0 <= j < 4). ``num_actions = M + 4``.

Turn order (``current_player``): seats 0, 1, ..., P-1 each select a card (selection turns); after the last
selection all cards are revealed and placed automatically in ascending order, each seeing the rows left by the
placements before it. A card below every row's last card (only the lowest card of a trick can be) makes its
owner take a row: with ``row_choice="player"`` the resolution pauses for a row-choice turn of that owner (the
mask allows exactly the 4 row actions), then continues. After H tricks the round ends.

Rewards (``returns``, cumulative, zero-sum). ``margin``: a player who takes b bullheads gets -b and every
other player +b/(P-1) (for P = 2: the opponent gets +b), so a finished episode's return is, for P = 2, the
opponent's total minus one's own. ``win``: 0 until the end; then with W the set of players with the lowest
match total, each player gets ``P*[p in W]/|W| - 1`` (for P = 2: +1 win, -1 loss, 0 draw).

State (``SixNimmtState``; every array has the game index as leading axis; this layout is a public contract):
  ``hand``         bool[N, P, M+1]   ``hand[i, p, c]``: card c is in seat p's hand (index 0 unused)
  ``hand_count``   int8[N, P]        cards in each hand
  ``rows``         int16[N, 4, 5]    row cards in placement order (= ascending), 0-padded
  ``row_len``      int8[N, 4]
  ``seen``         bool[N, M+1]      cards face up this round: row starters and every revealed card
  ``pending``      int16[N, P]       the selected card not yet placed (0 = none)
  ``trick_cards``  int16[N, P]       this trick's revealed cards (0 before the reveal)
  ``round_pen``    int32[N, P]       bullheads taken this round
  ``total_pen``    int32[N, P]       match totals of the finished rounds
  ``ret``          float64[N, P]     cumulative reward
  ``phase``        int8[N]           0 selection, 1 row choice, 2 done
  ``to_act``       int8[N]           the seat to act (-1 when done)
  ``trick``        int8[N]           tricks finished this round
  ``round_no``     int16[N]          rounds finished
  ``rng``          uint64[N]         splitmix64 state (seeded from ``zeroleague.envs.core.seeds_for``); it deals the
                                     later rounds of a ``target_score`` match, so deals are deterministic

Observation for a player (``observe``; float32[D], D = 7M + 4 + 4 + 2P + 3 + P*M; ``obs_slices`` gives the
offsets; seats are listed relative to the observer: itself first, then the following seats in turn order):
  ``hand``        [M]     1 where the observer holds card c (index c-1)
  ``rows``        [4*M]   row j's cards one-hot at ``j*M + c-1`` (a row is ascending, so this is lossless)
  ``row_len``     [4]     row length / 5
  ``row_bulls``   [4]     row bullheads / 35
  ``seen``        [M]     cards face up this round (row starters and every revealed card)
  ``unseen``      [M]     cards 1..M neither in the observer's hand, nor seen, nor its own pending card (for
                          the tactical deck with P = 2 this is exactly the opponent's hand)
  ``round_pen``   [P]     each seat's bullheads this round / norm (norm = target_score, or 66 without one)
  ``total_pen``   [P]     each seat's match total including this round / norm
  ``phase``       [2]     one-hot: selection, row choice (all 0 when the game is over)
  ``trick``       [1]     tricks finished this round / H
  ``revealed``    [P*M]   during a row choice only: each seat's revealed card of this trick, one-hot; else 0
It never contains another seat's hand or pending card. ``decode_observation`` inverts the card slices (the
bots use it; encoder and decoder share ``obs_slices``).

Information state (``information_state(state, p)``): during a selection turn the other seats' pending cards go
back into their hands and the selection is rewound to the first seat without a pending card (the trick start
for the seat to act), so a search treats selections as simultaneous; when the deck leaves cards unseen (every
deck except P = 2 with M = 2H + 4) the other seats' hands are cleared ("unknown", ``hand_count`` kept); the
PRNG state (future deals) is zeroed. ``sample_worlds`` deals the unknown hands uniformly from the cards not in
p's hand, not seen this round and not pending, and draws fresh PRNG states from ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

import numba as nb
import numpy as np

from zeroleague.envs.core import IllegalActionError, seeds_for
from zeroleague.envs.sixnimmt.rules import (
    MAX_DECK,
    NUM_ROWS,
    ROW_CAPACITY,
    bullheads,
    cheapest_row,
    row_bullheads,
    target_row,
)

SELECT, ROW_CHOICE, DONE = 0, 1, 2
DEFAULT_NORM = 66  # penalty normaliser of the observation when there is no target score
ROW_BULLS_NORM = 35  # 5 cards x 7 bullheads bounds a row's bullheads
MAX_PLAYERS = 10

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)


@nb.njit(cache=True, inline="always")
def _rand_below(x: np.uint64, bound: int) -> tuple:
    """One splitmix64 step from state ``x``: ``(next state, uniform int in [0, bound))``, by multiply-shift of
    32 random bits (no division; bias < bound / 2^32). Scalars only: array arguments of inlined helpers cost
    numba reference counting on every call."""
    x = x + _GOLDEN
    z = (x ^ (x >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return x, int(((z >> _S32) * np.uint64(bound)) >> _S32)


# ---------------------------------------------------------------------------------------- state arrays
# The compiled functions receive the state as one tuple ``s`` in this field order and the options as ``cfg``.


@dataclass
class SixNimmtState:
    """N games of 6 nimmt! as arrays (leading axis = game); see the module docstring for every field."""

    hand: np.ndarray
    hand_count: np.ndarray
    rows: np.ndarray
    row_len: np.ndarray
    seen: np.ndarray
    pending: np.ndarray
    trick_cards: np.ndarray
    round_pen: np.ndarray
    total_pen: np.ndarray
    ret: np.ndarray
    phase: np.ndarray
    to_act: np.ndarray
    trick: np.ndarray
    round_no: np.ndarray
    rng: np.ndarray

    def __len__(self) -> int:
        return self.phase.shape[0]

    def arrays(self) -> tuple:
        return _get_arrays(self)

    def copy(self) -> SixNimmtState:
        return SixNimmtState(*(a.copy() for a in self.arrays()))

    def take(self, idx: np.ndarray) -> SixNimmtState:
        idx = np.asarray(idx, dtype=np.int64)
        return SixNimmtState(*(a[idx].copy() for a in self.arrays()))


_get_arrays = attrgetter(*(f.name for f in fields(SixNimmtState)))  # the fields in order, as a tuple


def _empty_state(n: int, p: int, m: int) -> SixNimmtState:
    return SixNimmtState(
        hand=np.zeros((n, p, m + 1), dtype=np.bool_),
        hand_count=np.zeros((n, p), dtype=np.int8),
        rows=np.zeros((n, NUM_ROWS, ROW_CAPACITY), dtype=np.int16),
        row_len=np.zeros((n, NUM_ROWS), dtype=np.int8),
        seen=np.zeros((n, m + 1), dtype=np.bool_),
        pending=np.zeros((n, p), dtype=np.int16),
        trick_cards=np.zeros((n, p), dtype=np.int16),
        round_pen=np.zeros((n, p), dtype=np.int32),
        total_pen=np.zeros((n, p), dtype=np.int32),
        ret=np.zeros((n, p), dtype=np.float64),
        phase=np.zeros(n, dtype=np.int8),
        to_act=np.zeros(n, dtype=np.int8),
        trick=np.zeros(n, dtype=np.int8),
        round_no=np.zeros(n, dtype=np.int16),
        rng=np.zeros(n, dtype=np.uint64),
    )


# -------------------------------------------------------------------------------------- compiled rules
# cfg = (P, M, H, auto_row_choice, target_score or 0, win_reward, hidden_hands). The compiled functions take
# the state as one tuple ``s`` in ``SixNimmtState`` field order. The per-move rules live in the body of one
# kernel (``_play``) that indexes the batch arrays directly: handing arrays to helper functions (inlined or
# not) costs numba reference counting per array per call, which dominated the move cost.


@nb.njit(cache=True)
def _deal(g, cfg, s, deck):
    """Shuffle 1..M with the game's PRNG and start a round: hands, row starters, cleared round fields.
    ``deck``: int64[M] scratch."""
    hand, hand_count, rows, row_len, seen, pending, trick_cards, round_pen = s[:8]
    phase, to_act, trick, rng = s[10], s[11], s[12], s[14]
    P, M, H = cfg[0], cfg[1], cfg[2]
    for i in range(M):
        deck[i] = i + 1
    x = rng[g]
    for i in range(M - 1, 0, -1):
        x, j = _rand_below(x, i + 1)
        deck[i], deck[j] = deck[j], deck[i]
    rng[g] = x
    for c in range(M + 1):
        seen[g, c] = False
        for p in range(P):
            hand[g, p, c] = False
    for p in range(P):
        for k in range(H):
            hand[g, p, deck[p * H + k]] = True
        hand_count[g, p] = H
        pending[g, p] = 0
        trick_cards[g, p] = 0
        round_pen[g, p] = 0
    for r in range(NUM_ROWS):
        for k in range(ROW_CAPACITY):
            rows[g, r, k] = 0
        c = deck[P * H + r]
        rows[g, r, 0] = c
        row_len[g, r] = 1
        seen[g, c] = True
    phase[g] = SELECT
    to_act[g] = 0
    trick[g] = 0


@nb.njit(cache=True)
def _deal_all(s, cfg):
    deck = np.empty(cfg[1], dtype=np.int64)
    for g in range(s[10].shape[0]):
        _deal(g, cfg, s, deck)


@nb.njit(cache=True)
def _legal_masks(s, cfg, out):
    hand, phase, to_act = s[0], s[10], s[11]
    M = cfg[1]
    out[:] = False
    for g in range(out.shape[0]):
        if phase[g] == SELECT:
            p = to_act[g]
            for c in range(1, M + 1):
                out[g, c - 1] = hand[g, p, c]
        elif phase[g] == ROW_CHOICE:
            for r in range(NUM_ROWS):
                out[g, M + r] = True


@nb.njit(cache=True)
def _first_illegal(s, cfg, actions):
    """The first game whose action is illegal (``actions[g]`` -1 leaves game g untouched); -1 if none."""
    hand, phase, to_act = s[0], s[10], s[11]
    M = cfg[1]
    for g in range(actions.shape[0]):
        a = actions[g]
        if a == -1:
            continue
        if a < -1 or a >= M + NUM_ROWS or phase[g] == DONE:
            return g
        if phase[g] == ROW_CHOICE:
            if a < M:
                return g
        elif a >= M or not hand[g, to_act[g], a + 1]:
            return g
    return -1


@nb.njit(cache=True)
def _step_all(s, cfg, actions):
    """Apply ``actions`` (see ``_play``) if every one is legal and return -1; else change nothing and return
    the first game with an illegal action."""
    bad = _first_illegal(s, cfg, actions)
    if bad < 0:
        _play(s, cfg, actions, np.empty(0, dtype=np.uint64), False)
    return bad


@nb.njit(cache=True)
def _play(s, cfg, actions, rand, to_end):
    """The move kernel. ``to_end`` False: apply the legal action ``actions[g]`` to each game g (-1: leave it
    untouched; ``rand`` unused). ``to_end`` True: play every game to its end with uniformly random legal
    actions drawn from ``rand`` (one splitmix64 state per game, advanced in place; ``actions`` unused), each
    hand mirrored in a card list for O(1) draws. Returns the number of rounds finished."""
    hand, hand_count, rows, row_len, seen, pending, trick_cards, round_pen, total_pen, ret = s[:10]
    phase, to_act, trick, round_no = s[10], s[11], s[12], s[13]
    P, M, H, auto, target, win = cfg[0], cfg[1], cfg[2], cfg[3], cfg[4], cfg[5]
    cards = np.empty((P, M + 1), dtype=np.int64)
    count = np.empty(P, dtype=np.int64)
    last = np.empty(NUM_ROWS, dtype=np.int16)
    deck = np.empty(M, dtype=np.int64)
    rounds = 0
    for g in range(phase.shape[0]):
        start = round_no[g]
        listed = -1  # the round whose hands ``cards`` mirrors
        moves = 0
        while True:
            # ---- the action
            if to_end:
                if phase[g] == DONE:
                    break
                if phase[g] == ROW_CHOICE:
                    x, j = _rand_below(rand[g], NUM_ROWS)
                    rand[g] = x
                    a = M + j
                else:
                    if listed != round_no[g]:
                        listed = round_no[g]
                        for q in range(P):
                            n = 0
                            for c in range(1, M + 1):  # branch-free: write always, keep if held
                                cards[q, n] = c
                                n += hand[g, q, c]
                            count[q] = n
                    p = to_act[g]
                    x, j = _rand_below(rand[g], count[p])
                    rand[g] = x
                    a = cards[p, j] - 1
                    count[p] -= 1
                    cards[p, j] = cards[p, count[p]]
            else:
                a = actions[g]
                if moves == 1 or a < 0:
                    break
            moves += 1
            # ---- apply it
            p = to_act[g]
            chosen = -1  # the row taken by seat p's row choice
            if phase[g] == ROW_CHOICE:
                chosen = a - M
                phase[g] = SELECT
            else:
                c = a + 1
                hand[g, p, c] = False
                hand_count[g, p] -= 1
                pending[g, p] = c
                nxt = p + 1
                while nxt < P and pending[g, nxt] != 0:  # seats that chose already (rewound info states)
                    nxt += 1
                if nxt < P:
                    to_act[g] = nxt
                    continue
                for q in range(P):
                    seen[g, pending[g, q]] = True
                    trick_cards[g, q] = pending[g, q]
            # ---- place the pending cards in ascending order until all are placed or a too-low card needs its
            # owner's row choice (then pause in the ROW_CHOICE phase)
            paused = False
            while True:
                if chosen >= 0:
                    owner, card, r = p, pending[g, p], chosen
                    chosen = -1
                else:
                    owner = -1
                    card = 1 << 30
                    for q in range(P):
                        if 0 < pending[g, q] < card:
                            owner = q
                            card = pending[g, q]
                    if owner < 0:
                        break
                    for j in range(NUM_ROWS):
                        last[j] = rows[g, j, row_len[g, j] - 1]
                    r = target_row(last, card)
                    if r < 0:
                        if not auto:
                            phase[g] = ROW_CHOICE
                            to_act[g] = owner
                            paused = True
                            break
                        r = cheapest_row(rows[g], row_len[g])
                    elif row_len[g, r] < ROW_CAPACITY:
                        rows[g, r, row_len[g, r]] = card
                        row_len[g, r] += 1
                        pending[g, owner] = 0
                        continue
                # the owner takes row r (margin reward: -b to it, +b/(P-1) to each other seat); card starts it
                b = row_bullheads(rows[g, r], row_len[g, r])
                for k in range(1, row_len[g, r]):
                    rows[g, r, k] = 0
                rows[g, r, 0] = card
                row_len[g, r] = 1
                round_pen[g, owner] += b
                if not win:
                    for q in range(P):
                        ret[g, q] += -b if q == owner else b / (P - 1)
                pending[g, owner] = 0
            if paused:
                continue
            # ---- the trick is over
            trick[g] += 1
            for q in range(P):
                trick_cards[g, q] = 0
            if trick[g] < H:
                phase[g] = SELECT
                to_act[g] = 0
                continue
            # ---- the round is over
            low = high = total_pen[g, 0] + round_pen[g, 0]
            for q in range(P):
                total_pen[g, q] += round_pen[g, q]
                round_pen[g, q] = 0
                low = min(low, total_pen[g, q])
                high = max(high, total_pen[g, q])
            round_no[g] += 1
            if target > 0 and high < target:
                _deal(g, cfg, s, deck)
                continue
            phase[g] = DONE
            to_act[g] = -1
            if win:
                n_low = 0
                for q in range(P):
                    n_low += total_pen[g, q] == low
                for q in range(P):
                    ret[g, q] = (P / n_low if total_pen[g, q] == low else 0.0) - 1.0
        rounds += round_no[g] - start
    return rounds


@nb.njit(cache=True)
def _observe_all(s, cfg, players, norm, out):
    hand, rows, row_len, seen, pending, trick_cards = s[0], s[2], s[3], s[4], s[5], s[6]
    round_pen, total_pen, phase, trick = s[7], s[8], s[10], s[12]
    P, M, H = cfg[0], cfg[1], cfg[2]
    o_rows = M
    o_len = 5 * M
    o_bulls = o_len + NUM_ROWS
    o_seen = o_bulls + NUM_ROWS
    o_unseen = o_seen + M
    o_round = o_unseen + M
    o_total = o_round + P
    o_phase = o_total + P
    o_trick = o_phase + 2
    o_rev = o_trick + 1
    out[:] = 0.0
    for g in range(out.shape[0]):
        me = players[g]
        for c in range(1, M + 1):
            if hand[g, me, c]:
                out[g, c - 1] = 1.0
            if seen[g, c]:
                out[g, o_seen + c - 1] = 1.0
            elif not hand[g, me, c] and pending[g, me] != c:
                out[g, o_unseen + c - 1] = 1.0
        for r in range(NUM_ROWS):
            n = row_len[g, r]
            for k in range(n):
                out[g, o_rows + r * M + rows[g, r, k] - 1] = 1.0
            out[g, o_len + r] = n / ROW_CAPACITY
            out[g, o_bulls + r] = row_bullheads(rows[g, r], n) / ROW_BULLS_NORM
        for k in range(P):
            q = (me + k) % P
            out[g, o_round + k] = round_pen[g, q] / norm
            out[g, o_total + k] = (total_pen[g, q] + round_pen[g, q]) / norm
            if phase[g] == ROW_CHOICE:
                out[g, o_rev + k * M + trick_cards[g, q] - 1] = 1.0
        if phase[g] != DONE:
            out[g, o_phase + phase[g]] = 1.0
        out[g, o_trick] = trick[g] / H


@nb.njit(cache=True)
def _observe_masked(s, cfg, players, norm, out, mask):
    """``_observe_all`` and the legal masks, cleared for the games where ``players[g]`` is not to act."""
    to_act = s[11]
    _observe_all(s, cfg, players, norm, out)
    _legal_masks(s, cfg, mask)
    for g in range(mask.shape[0]):
        if to_act[g] != players[g]:
            mask[g] = False


@nb.njit(cache=True)
def _information_states(s, cfg, players):
    """In place: make each game g what ``players[g]`` may see (see the module docstring)."""
    hand, hand_count, pending, phase, to_act, rng = s[0], s[1], s[5], s[10], s[11], s[14]
    P, hidden = cfg[0], cfg[6]
    for g in range(phase.shape[0]):
        me = players[g]
        if phase[g] == SELECT:
            first = -1
            for q in range(P):
                if q != me and pending[g, q] != 0:
                    hand[g, q, pending[g, q]] = True
                    hand_count[g, q] += 1
                    pending[g, q] = 0
                if first < 0 and pending[g, q] == 0:
                    first = q
            to_act[g] = first
        if hidden:
            for q in range(P):
                if q != me:
                    hand[g, q] = False
        rng[g] = 0


@nb.njit(cache=True)
def _sample_worlds(s, cfg, players, seeds):
    """In place: deal the unknown hands of the other seats uniformly from the unseen cards; reseed the
    PRNG."""
    hand, hand_count, seen, pending, phase, rng = s[0], s[1], s[4], s[5], s[10], s[14]
    P, M, hidden = cfg[0], cfg[1], cfg[6]
    pool = np.empty(M, dtype=np.int64)
    for g in range(phase.shape[0]):
        rng[g] = seeds[g]
        if not hidden or phase[g] == DONE:
            continue
        me = players[g]
        k = 0
        for c in range(1, M + 1):
            if hand[g, me, c] or seen[g, c]:
                continue
            taken = False
            for q in range(P):
                taken |= pending[g, q] == c
            if not taken:
                pool[k] = c
                k += 1
        for q in range(P):
            if q == me:
                continue
            hand[g, q] = False
            for _ in range(hand_count[g, q]):
                x, j = _rand_below(rng[g], k)
                rng[g] = x
                hand[g, q, pool[j]] = True
                k -= 1
                pool[j] = pool[k]


# ---------------------------------------------------------------------------------- observation layout


def obs_slices(max_card: int, num_players: int) -> dict[str, slice]:
    """Name -> slice of the observation vector (the layout documented in the module docstring)."""
    m, p = max_card, num_players
    sizes = [
        ("hand", m), ("rows", NUM_ROWS * m), ("row_len", NUM_ROWS), ("row_bulls", NUM_ROWS), ("seen", m),
        ("unseen", m), ("round_pen", p), ("total_pen", p), ("phase", 2), ("trick", 1), ("revealed", p * m),
    ]  # fmt: skip
    out, start = {}, 0
    for name, size in sizes:
        out[name] = slice(start, start + size)
        start += size
    return out


@dataclass
class ObservationView:
    """Card-level content of B observations (``decode_observation``)."""

    hand: np.ndarray  # bool[B, M+1]  hand[b, c]: the observer holds card c
    rows: np.ndarray  # int16[B, 4, 5] row cards ascending, 0-padded
    row_len: np.ndarray  # int8[B, 4]
    row_choice: np.ndarray  # bool[B]  the observer is choosing a row
    revealed: np.ndarray  # int16[B, P]  this trick's revealed cards during a row choice (observer first), else 0


def decode_observation(obs: np.ndarray, max_card: int, num_players: int) -> ObservationView:
    """Invert the card slices of ``observe`` output ``obs`` float32[B, D] (vectorised numpy)."""
    m, p = max_card, num_players
    sl = obs_slices(m, p)
    b = obs.shape[0]
    cards = np.arange(1, m + 1, dtype=np.int16)
    hand = np.zeros((b, m + 1), dtype=np.bool_)
    hand[:, 1:] = obs[:, sl["hand"]] > 0.5
    onehot = obs[:, sl["rows"]].reshape(b, NUM_ROWS, m) > 0.5
    row_cards = np.sort(np.where(onehot, cards, np.int16(m + 1)), axis=-1)[..., :ROW_CAPACITY]
    rows = np.where(row_cards > m, 0, row_cards).astype(np.int16)
    rev = obs[:, sl["revealed"]].reshape(b, p, m) > 0.5
    revealed = np.where(rev.any(-1), rev.argmax(-1) + 1, 0).astype(np.int16)
    return ObservationView(
        hand=hand,
        rows=rows,
        row_len=onehot.sum(-1).astype(np.int8),
        row_choice=obs[:, sl["phase"]][:, 1] > 0.5,
        revealed=revealed,
    )


# -------------------------------------------------------------------------------------------- the game


def _players(player: int | np.ndarray, n: int, num_players: int) -> np.ndarray:
    if isinstance(player, (int, np.integer)) and not isinstance(player, bool):  # the common one-seat case
        if not 0 <= player < num_players:
            raise ValueError(f"player must be a seat in 0..{num_players - 1}, got {player}")
        p = np.empty(n, dtype=np.int64)
        p.fill(player)
        return p
    p = np.asarray(player, dtype=np.int64)
    p = np.full(n, int(p), dtype=np.int64) if p.ndim == 0 else p
    if p.shape != (n,):
        raise ValueError(f"player must be an int or an array of shape ({n},), got shape {p.shape}")
    if n and (p.min() < 0 or p.max() >= num_players):
        raise ValueError(f"player must be a seat in 0..{num_players - 1}, got {p}")
    return p


class SixNimmtGame:
    """Batched 6 nimmt! (see the module docstring for rules, state, observation and information state)."""

    perfect_information = False

    def __init__(
        self,
        num_players: int = 2,
        max_card: int = MAX_DECK,
        hand_size: int = 10,
        row_choice: str = "player",
        target_score: int | None = None,
        reward: str = "margin",
        env_id: str = "sixnimmt_v0",
    ):
        for name, v in (("num_players", num_players), ("max_card", max_card), ("hand_size", hand_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {v!r}")
        if not 2 <= num_players <= MAX_PLAYERS:
            raise ValueError(f"num_players must be in 2..{MAX_PLAYERS}, got {num_players!r}")
        if not 1 <= hand_size <= 100:
            raise ValueError(f"hand_size must be in 1..100, got {hand_size!r}")
        need = num_players * hand_size + NUM_ROWS
        if need > MAX_DECK:
            raise ValueError(
                f"hand_size={hand_size!r} with {num_players} players deals {need} cards (num_players*hand_size + 4), "
                f"more than the {MAX_DECK}-card deck: hand_size must be at most {(MAX_DECK - NUM_ROWS) // num_players}"
            )
        if not need <= max_card <= MAX_DECK:
            raise ValueError(
                f"max_card must be in {need}..{MAX_DECK} (num_players*hand_size + 4 cards are dealt), got {max_card!r}"
            )
        if row_choice not in ("player", "auto"):
            raise ValueError(f"row_choice must be 'player' or 'auto', got {row_choice!r}")
        if target_score is not None and (
            isinstance(target_score, bool) or not isinstance(target_score, (int, np.integer)) or target_score < 1
        ):
            raise ValueError(f"target_score must be None or a positive int, got {target_score!r}")
        if reward not in ("margin", "win"):
            raise ValueError(f"reward must be 'margin' or 'win', got {reward!r}")
        self.env_id = env_id
        self.num_players = int(num_players)
        self.max_card = int(max_card)
        self.selection_actions = self.max_card  # card actions are simultaneous selections (envs/core.py)
        self.hand_size = int(hand_size)
        self.row_choice = row_choice
        self.target_score = None if target_score is None else int(target_score)
        self.reward = reward
        self.num_actions = self.max_card + NUM_ROWS
        self.hidden_hands = not (self.num_players == 2 and self.max_card == need)
        self.obs_slices = obs_slices(self.max_card, self.num_players)
        self.obs_shape = (self.obs_slices["revealed"].stop,)
        self._norm = float(self.target_score or DEFAULT_NORM)
        self._cfg = (
            self.num_players,
            self.max_card,
            self.hand_size,
            row_choice == "auto",
            self.target_score or 0,
            reward == "win",
            self.hidden_hands,
        )

    def __repr__(self) -> str:
        return (
            f"SixNimmtGame(env_id={self.env_id!r}, num_players={self.num_players}, max_card={self.max_card}, "
            f"hand_size={self.hand_size}, row_choice={self.row_choice!r}, target_score={self.target_score}, "
            f"reward={self.reward!r})"
        )

    def obs_high(self) -> np.ndarray:
        """Per-feature upper bound of the observation (1 except the penalty features)."""
        high = np.ones(self.obs_shape, dtype=np.float32)
        most = (self.target_score or 0) + int(np.sum([bullheads(c) for c in range(1, self.max_card + 1)]))
        high[self.obs_slices["round_pen"]] = most / self._norm
        high[self.obs_slices["total_pen"]] = most / self._norm
        return high

    # -------------------------------------------------------------------------------------------- contract
    def init(self, n: int, seed: int | np.ndarray = 0) -> SixNimmtState:
        state = _empty_state(n, self.num_players, self.max_card)
        state.rng[:] = seeds_for(n, seed).astype(np.uint64)
        _deal_all(state.arrays(), self._cfg)
        return state

    def current_player(self, state: SixNimmtState) -> np.ndarray:
        return state.to_act.copy()

    def legal_mask(self, state: SixNimmtState) -> np.ndarray:
        out = np.empty((len(state), self.num_actions), dtype=np.bool_)
        _legal_masks(state.arrays(), self._cfg, out)
        return out

    def observe(self, state: SixNimmtState, player: int | np.ndarray) -> np.ndarray:
        players = _players(player, len(state), self.num_players)
        out = np.empty((len(state), *self.obs_shape), dtype=np.float32)
        _observe_all(state.arrays(), self._cfg, players, self._norm, out)
        return out

    def observe_masked(self, state: SixNimmtState, player: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(observe(state, player), mask)`` in one compiled call: ``mask`` bool[N, num_actions] is
        ``legal_mask`` where ``player`` is the seat to act and all False elsewhere (the AEC env's
        ``action_mask``)."""
        players = _players(player, len(state), self.num_players)
        out = np.empty((len(state), *self.obs_shape), dtype=np.float32)
        mask = np.empty((len(state), self.num_actions), dtype=np.bool_)
        _observe_masked(state.arrays(), self._cfg, players, self._norm, out, mask)
        return out, mask

    def action_name(self, action: int) -> str:
        m = self.max_card
        if 0 <= action < m:
            return f"{action} (card {action + 1})"
        if m <= action < m + NUM_ROWS:
            return f"{action} (take row {action - m})"
        return f"{action}"

    def illegal_reason(self, state: SixNimmtState, g: int, action: int) -> str | None:
        """Why ``action`` is illegal in game g (None when it is legal)."""
        m, phase = self.max_card, state.phase[g]
        if not -1 <= action < self.num_actions:
            return f"not an action (expected -1 for 'untouched' or 0..{self.num_actions - 1})"
        if action == -1:
            return None
        if phase == DONE:
            return "the game is over"
        p = int(state.to_act[g])
        if phase == ROW_CHOICE:
            return (
                None if action >= m else f"a card action during player_{p}'s row choice (expected a row {m}..{m + 3})"
            )
        if action >= m:
            return "a row action outside a row choice"
        return None if state.hand[g, p, action + 1] else f"card {action + 1} is not in player_{p}'s hand"

    def step(self, state: SixNimmtState, actions: np.ndarray) -> None:
        actions = np.asarray(actions, dtype=np.int64)
        if actions.shape != (len(state),):
            raise ValueError(f"actions must have shape ({len(state)},), got {actions.shape}")
        g = _step_all(state.arrays(), self._cfg, actions)
        if g >= 0:
            a = int(actions[g])
            raise IllegalActionError(
                f"game {g}: action {self.action_name(a)} is illegal: {self.illegal_reason(state, g, a)}"
            )

    def terminal(self, state: SixNimmtState) -> np.ndarray:
        return state.phase == DONE

    def truncated(self, state: SixNimmtState) -> np.ndarray:
        return np.zeros(len(state), dtype=np.bool_)

    def returns(self, state: SixNimmtState) -> np.ndarray:
        return state.ret.astype(np.float32)

    def copy(self, state: SixNimmtState) -> SixNimmtState:
        return state.copy()

    def take(self, state: SixNimmtState, idx: np.ndarray) -> SixNimmtState:
        return state.take(idx)

    def information_state(self, state: SixNimmtState, player: int | np.ndarray) -> SixNimmtState:
        players = _players(player, len(state), self.num_players)
        info = state.copy()
        _information_states(info.arrays(), self._cfg, players)
        return info

    def sample_worlds(
        self, info_state: SixNimmtState, player: int | np.ndarray, rng: np.random.Generator
    ) -> SixNimmtState:
        players = _players(player, len(info_state), self.num_players)
        world = info_state.copy()
        seeds = rng.integers(0, 1 << 62, size=len(world), dtype=np.int64).astype(np.uint64)
        _sample_worlds(world.arrays(), self._cfg, players, seeds)
        return world

    # --------------------------------------------------------------------------------------------- helpers
    def penalties(self, state: SixNimmtState) -> np.ndarray:
        """int32[N, P] match totals including the current round."""
        return state.total_pen + state.round_pen

    def random_playouts(self, state: SixNimmtState, seed: int | np.ndarray) -> int:
        """Play every game of ``state`` to its end in place with uniformly random legal actions (compiled);
        returns the number of rounds finished."""
        rng = seeds_for(len(state), seed).astype(np.uint64)
        return int(_play(state.arrays(), self._cfg, np.empty(0, dtype=np.int64), rng, True))

    def deal_state(
        self,
        hands: list[list[int]],
        rows: list[int] | list[list[int]],
        *,
        seen: list[int] = (),
        round_penalties: list[int] | None = None,
        totals: list[int] | None = None,
        seed: int = 0,
    ) -> SixNimmtState:
        """A one-game state (N = 1) at the start of a trick, seat 0 to select: ``hands[p]`` seat p's cards
        (all hands the same size 1..hand_size; tricks already played = hand_size - that size), ``rows`` the 4
        rows, each a starter card or an ascending list of 1..5 cards, ``seen`` further cards revealed earlier
        this round (the row cards count as seen), ``round_penalties``/``totals`` bullheads taken this round /
        in finished rounds, ``seed`` the PRNG seed of later deals. ValueError naming the bad value
        otherwise."""
        P, M, H = self.num_players, self.max_card, self.hand_size
        if len(hands) != P:
            raise ValueError(f"hands must list {P} hands, got {len(hands)}")
        sizes = {len(h) for h in hands}
        if len(sizes) != 1 or not 1 <= sizes.pop() <= H:
            raise ValueError(f"hands must all have the same size in 1..{H}, got sizes {[len(h) for h in hands]}")
        if len(rows) != NUM_ROWS:
            raise ValueError(f"rows must list {NUM_ROWS} rows, got {len(rows)}")
        row_lists = [[r] if isinstance(r, (int, np.integer)) else list(r) for r in rows]
        for r in row_lists:
            if not 1 <= len(r) <= ROW_CAPACITY or any(a >= b for a, b in zip(r, r[1:], strict=False)):
                raise ValueError(f"a row must be an ascending list of 1..{ROW_CAPACITY} cards, got {r}")
        all_cards = [c for h in hands for c in h] + [c for r in row_lists for c in r] + list(seen)
        bad = [c for c in all_cards if not 1 <= c <= M]
        if bad:
            raise ValueError(f"cards must be in 1..{M}, got {bad}")
        if len(set(all_cards)) != len(all_cards):
            dup = sorted({c for c in all_cards if all_cards.count(c) > 1})
            raise ValueError(f"cards appear twice: {dup}")
        state = _empty_state(1, P, M)
        for p, h in enumerate(hands):
            state.hand[0, p, list(h)] = True
            state.hand_count[0, p] = len(h)
        for j, r in enumerate(row_lists):
            state.rows[0, j, : len(r)] = r
            state.row_len[0, j] = len(r)
            state.seen[0, r] = True
        state.seen[0, list(seen)] = True
        state.trick[0] = H - len(hands[0])
        if round_penalties is not None:
            state.round_pen[0] = round_penalties
        if totals is not None:
            state.total_pen[0] = totals
        pen = self.penalties(state)[0].astype(np.float64)
        if self.reward == "margin":  # returns so far = the margin of the penalties so far
            state.ret[0] = (pen.sum() - pen) / (P - 1) - pen
        state.rng[0] = seeds_for(1, seed)[0]
        return state
