"""Exact solver for small two-player 6 nimmt! deals with open hands (rules: shared/rules/sixnimmt.md).

A *deal* (:class:`Deal`) is a position with both hands known to both players: a fresh deal of the small
tactical deck 1..2h+4 (h <= 5 cards each, 4 row starters, nothing unseen) or any later position of such a deal
or of a real game (e.g. the last tricks of a 24-card tactical game). The game from there on is a finite
two-player zero-sum game with simultaneous moves:

- each trick is a matrix game: player_0 picks a card (row of the matrix), player_1 a card (column), at once;
- after the reveal, if the lower card is below every row, its owner picks a row to take (a perfect-information
  decision made before the other card is placed), or the row is picked automatically (``row_choice="auto"``:
  fewest bullheads, ties the lowest row index);
- the payoff is player_0's *margin* over the rest of the deal: player_1's penalty minus player_0's penalty.

:func:`solve` computes the value by backward induction: each sub-game (both hands as bitmasks, the rows as a
tuple of tuples) is solved once and memoised; its trick matrix holds, for every card pair, the trick's margin
plus the continuation value, and the matrix game is solved exactly up to LP tolerance (saddle point, iterated
removal of weakly dominated cards, closed form for 2x2, else a linear programme solved by HiGHS: the one
matrix-game LP of the project, ``zeroleague.envs.matrix_game.solve_matrix_game``).

:func:`best_response_value` and :func:`exploitability` measure a fixed policy against its best response, with
the same recursion (:func:`resolve_trick` is the one place where a trick is resolved).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zeroleague.envs.matrix_game import solve_matrix_game
from zeroleague.envs.sixnimmt.engine import ROW_CHOICE, SELECT, SixNimmtGame, SixNimmtState
from zeroleague.envs.sixnimmt.rules import NUM_ROWS, ROW_CAPACITY, cheapest_row, row_bullheads, target_row

MAX_HAND = 5
"""Largest hand size solved exactly (5 cards each: seconds per deal; see benchmarks/sixnimmt_solver.py)."""

ROW_CHOICES = ("player", "auto")

Rows = tuple[tuple[int, ...], ...]
Key = tuple[int, int, Rows]  # (player_0's hand bitmask, player_1's hand bitmask, rows)
Policy = Callable[["Deal", int], "dict[int, float] | int"]
"""``policy(position, seat)``: a dict card -> probability at a trick boundary; a row (or a dict row ->
probability) at that seat's row choice."""


# ----------------------------------------------------------------------------------------------- trick rules
@functools.lru_cache(maxsize=1 << 16)
def _bulls(row: tuple[int, ...]) -> int:
    return int(row_bullheads(np.array(row, dtype=np.int64), len(row)))


def auto_row(rows: Rows) -> int:
    """The row the automatic rule takes (``rules.cheapest_row``: fewest bullheads, ties the lowest index)."""
    cards = np.zeros((NUM_ROWS, ROW_CAPACITY), dtype=np.int64)
    for j, r in enumerate(rows):
        cards[j, : len(r)] = r
    return int(cheapest_row(cards, np.array([len(r) for r in rows], dtype=np.int64)))


@functools.lru_cache(maxsize=1 << 18)
def _target_of(lasts: tuple[int, ...], card: int) -> int:
    return int(target_row(np.array(lasts, dtype=np.int64), card))


def _target(rows: Rows, card: int) -> int:
    """``rules.target_row`` for tuple rows (memoised: the solver asks the same question very often)."""
    return _target_of(tuple(r[-1] for r in rows), card)


def too_low_seat(rows: Rows, cards: tuple[int, int]) -> int:
    """The seat whose card must take a row of its choice in the trick ``cards`` = (player_0's, player_1's)
    played on ``rows``, or -1 when neither is too low. Only the lower card can be too low."""
    seat = 0 if cards[0] < cards[1] else 1
    return seat if _target(rows, cards[seat]) < 0 else -1


def resolve_trick(
    rows: Rows, cards: tuple[int, int], chosen_row: int | None = None
) -> tuple[Rows, tuple[int, int]]:
    """Place the trick ``cards`` = (player_0's card, player_1's card) on ``rows``; return the new rows and the
    bullheads each seat takes. Cards go in ascending order; a card joining a full row (5 cards) takes it and
    starts it again; the lower card, when below every row, takes ``chosen_row`` (which must then be given, and
    must be None otherwise) and starts it. Raises ValueError on a missing or superfluous row choice."""
    if cards[0] == cards[1]:
        raise ValueError(f"the two cards of a trick must differ, got {cards}")
    new = list(rows)
    pens = [0, 0]
    seat_low = 0 if cards[0] < cards[1] else 1
    for seat in (seat_low, 1 - seat_low):
        card = cards[seat]
        t = _target(tuple(new), card)
        if t < 0:
            if chosen_row is None:
                raise ValueError(f"card {card} is below every row: a row choice 0..{NUM_ROWS - 1} is needed")
            if not 0 <= chosen_row < NUM_ROWS:
                raise ValueError(f"row choice {chosen_row} is not a row index 0..{NUM_ROWS - 1}")
            pens[seat] += _bulls(new[chosen_row])
            new[chosen_row] = (card,)
            chosen_row = None
        elif len(new[t]) == ROW_CAPACITY:
            pens[seat] += _bulls(new[t])
            new[t] = (card,)
        else:
            new[t] = new[t] + (card,)
    if chosen_row is not None:
        raise ValueError(f"row choice {chosen_row} given, but neither card of {cards} is below every row")
    return tuple(new), (pens[0], pens[1])


# ----------------------------------------------------------------------------------------------------- deal
def _mask(cards: Sequence[int]) -> int:
    m = 0
    for c in cards:
        m |= 1 << c
    return m


def _cards(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _modes(row_choice: str | tuple[str, str]) -> tuple[str, str]:
    modes = (row_choice, row_choice) if isinstance(row_choice, str) else row_choice
    if not isinstance(modes, (tuple, list)) or len(modes) != 2 or any(m not in ROW_CHOICES for m in modes):
        raise ValueError(f"row_choice must be one of {ROW_CHOICES} or a pair of them, got {row_choice!r}")
    return modes[0], modes[1]


@dataclass(frozen=True)
class Deal:
    """A two-player open-hand position at a trick boundary (``pending is None``) or at a row choice.

    ``hands``: player_0's and player_1's cards (equal sizes, at most :data:`MAX_HAND`; stored sorted).
    ``rows``: the 4 rows, each 1..5 cards in ascending order (a fresh deal has 4 one-card rows).
    ``row_choice``: ``"player"`` (the owner of a too-low card picks the row, the official rule), ``"auto"``
    (fewest bullheads, ties the lowest index), or a pair giving each seat's rule.
    ``deck_size``: cards lie in 1..deck_size; None means the small tactical deck 2h+4 (h = cards each still
    to play, including a pending card).
    ``pending``: None at a trick boundary; else the revealed (player_0's, player_1's) cards of the current
    trick, no longer in the hands, whose lower card is below every row: the position is that card owner's row
    choice (only under the owner's "player" rule).
    Invalid input raises ValueError naming the bad value.
    """

    hands: tuple[tuple[int, ...], tuple[int, ...]]
    rows: Rows
    row_choice: str | tuple[str, str] = "player"
    deck_size: int | None = None
    pending: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if len(self.hands) != 2:
            raise ValueError(f"need exactly 2 hands, got {len(self.hands)}")
        hands = tuple(tuple(sorted(int(c) for c in h)) for h in self.hands)
        rows = tuple(tuple(int(c) for c in r) for r in self.rows)
        pending = None if self.pending is None else tuple(int(c) for c in self.pending)
        _modes(self.row_choice)
        h0, h1 = len(hands[0]), len(hands[1])
        if h0 != h1:
            raise ValueError(f"hands must have equal sizes, got {h0} and {h1}")
        in_hand = h0 + (pending is not None)
        if in_hand > MAX_HAND:
            raise ValueError(f"hand size {in_hand} is too large to solve exactly (at most {MAX_HAND})")
        if len(rows) != NUM_ROWS:
            raise ValueError(f"need exactly {NUM_ROWS} rows, got {len(rows)}")
        for r in rows:
            if not 1 <= len(r) <= ROW_CAPACITY:
                raise ValueError(f"row {r} must hold 1..{ROW_CAPACITY} cards")
            if any(a >= b for a, b in zip(r, r[1:], strict=False)):
                raise ValueError(f"row {r} is not in ascending order")
        deck = 2 * in_hand + NUM_ROWS if self.deck_size is None else int(self.deck_size)
        everything = [c for h in hands for c in h] + [c for r in rows for c in r] + list(pending or ())
        bad = [c for c in everything if not 1 <= c <= deck]
        if bad:
            raise ValueError(f"card(s) {bad} outside the deck 1..{deck}")
        if len(set(everything)) != len(everything):
            dup = sorted({c for c in everything if everything.count(c) > 1})
            raise ValueError(f"card(s) {dup} appear more than once")
        if pending is not None:
            if len(pending) != 2 or pending[0] == pending[1]:
                raise ValueError(f"pending must be two distinct cards, got {pending}")
            seat = too_low_seat(rows, pending)
            if seat < 0:
                raise ValueError(f"pending trick {pending} needs no row choice: no card is below every row")
            if _modes(self.row_choice)[seat] == "auto":
                raise ValueError(
                    f"pending trick {pending}: player_{seat}'s row is automatic (row_choice auto)"
                )
        object.__setattr__(self, "hands", hands)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "pending", pending)
        object.__setattr__(self, "deck_size", deck)
        if not isinstance(self.row_choice, str):
            object.__setattr__(self, "row_choice", tuple(self.row_choice))

    @classmethod
    def random(
        cls, hand_size: int, rng: np.random.Generator, row_choice: str | tuple[str, str] = "player"
    ) -> Deal:
        """A fresh deal of the deck 1..2*hand_size+4 drawn with ``rng``: both hands (sorted), 4 row starters
        in dealt order, the given ``row_choice``."""
        if not 1 <= hand_size <= MAX_HAND:
            raise ValueError(
                f"hand size {hand_size} must be 1..{MAX_HAND} (more is too large to solve exactly)"
            )
        h = hand_size
        cards = (rng.permutation(2 * h + NUM_ROWS) + 1).tolist()
        hands = (tuple(cards[:h]), tuple(cards[h : 2 * h]))
        return cls(hands, tuple((c,) for c in cards[2 * h :]), row_choice)

    @property
    def modes(self) -> tuple[str, str]:
        """Each seat's row-choice rule."""
        return _modes(self.row_choice)

    @property
    def chooser(self) -> int:
        """The seat making the pending row choice, -1 at a trick boundary."""
        return -1 if self.pending is None else too_low_seat(self.rows, self.pending)

    def _with(
        self, hands: tuple[tuple[int, ...], tuple[int, ...]], rows: Rows, pending: tuple[int, int] | None
    ) -> Deal:
        return Deal(hands, rows, self.row_choice, self.deck_size, pending)

    def play(self, card0: int, card1: int) -> tuple[Deal, tuple[int, int]]:
        """Play a trick: player_0 plays ``card0``, player_1 ``card1``. Returns the next position and the
        bullheads each seat took. When the lower card needs a row choice under the owner's "player" rule, the
        next position is that row choice (``pending`` set) and nothing is taken yet."""
        if self.pending is not None:
            raise ValueError(f"a row choice for the pending trick {self.pending} comes first")
        for seat, card in ((0, card0), (1, card1)):
            if card not in self.hands[seat]:
                raise ValueError(f"card {card} is not in player_{seat}'s hand {self.hands[seat]}")
        hands = (tuple(c for c in self.hands[0] if c != card0), tuple(c for c in self.hands[1] if c != card1))
        seat, rows, pens = _step(self.rows, (card0, card1), self.modes)
        return self._with(hands, rows, (card0, card1) if seat >= 0 else None), pens

    def choose_row(self, row: int) -> tuple[Deal, tuple[int, int]]:
        """Make the pending row choice and finish the trick; returns the next position and the bullheads
        taken."""
        if self.pending is None:
            raise ValueError("no row choice is pending")
        rows, pens = resolve_trick(self.rows, self.pending, row)
        return self._with(self.hands, rows, None), pens

    def key(self) -> Key:
        """The memo key: (hand bitmasks, rows); at a row choice the hands lack the trick's cards and the rows
        are those before the trick."""
        return _mask(self.hands[0]), _mask(self.hands[1]), self.rows


# ------------------------------------------------------------------------------------ shared recursion
Chooser = Callable[[int, Key, tuple[int, int], dict[int, float]], float]


def _step(rows: Rows, cards: tuple[int, int], modes: tuple[str, str]) -> tuple[int, Rows, tuple[int, int]]:
    """Reveal the trick ``cards``: returns (seat, rows, pens). When the lower card's owner must choose a row
    under the "player" rule, seat is that owner and rows/pens are the unchanged rows and (0, 0); otherwise
    seat is -1 and the trick is resolved (with the automatic row for a too-low card under "auto")."""
    seat = too_low_seat(rows, cards)
    if seat >= 0 and modes[seat] == "player":
        return seat, rows, (0, 0)
    new, pens = resolve_trick(rows, cards, auto_row(rows) if seat >= 0 else None)
    return -1, new, pens


def _row_options(after: Key, cards: tuple[int, int], value: Callable[[Key], float]) -> dict[int, float]:
    """Player_0's margin for each row taken by the too-low card of ``cards``; ``after`` = (hands without the
    trick's cards, rows before the trick), ``value`` = continuation value of a trick-boundary position."""
    m0, m1, rows = after
    out = {}
    for r in range(NUM_ROWS):
        new, (p0, p1) = resolve_trick(rows, cards, r)
        out[r] = p1 - p0 + value((m0, m1, new))
    return out


def _trick_matrix(
    key: Key, modes: tuple[str, str], value: Callable[[Key], float], choose: Chooser
) -> tuple[list[int], list[int], np.ndarray]:
    """The cards of each seat and the matrix of player_0's margins from the trick at ``key`` on: the trick's
    margin plus ``value`` of the next position; seat s's row choice: ``choose(s, after, cards, options)``."""
    m0, m1, rows = key
    c0, c1 = _cards(m0), _cards(m1)
    a = np.empty((len(c0), len(c1)))
    for i, x in enumerate(c0):
        for j, y in enumerate(c1):
            after = (m0 & ~(1 << x), m1 & ~(1 << y), rows)
            seat, new, (p0, p1) = _step(rows, (x, y), modes)
            if seat >= 0:
                a[i, j] = choose(seat, after, (x, y), _row_options(after, (x, y), value))
            else:
                a[i, j] = p1 - p0 + value((after[0], after[1], new))
    return c0, c1, a


def _best_row(seat: int, options: dict[int, float]) -> int:
    """The row best for ``seat`` (player_0 maximises the margin, player_1 minimises it); ties: lowest row."""
    sign = 1.0 if seat == 0 else -1.0
    return max(options, key=lambda r: (sign * options[r], -r))


# --------------------------------------------------------------------------------------------- solving
class Solution:
    """The solved game of one deal. ``value``: player_0's equilibrium margin; ``nodes``: distinct
    trick-boundary sub-games with cards left that were solved (grows when positions off the solved tree are
    queried)."""

    def __init__(self, deal: Deal) -> None:
        self.deal = deal
        self.modes = deal.modes
        self._memo: dict[Key, tuple[float, list[int], list[int], np.ndarray, np.ndarray]] = {}
        self.value = self.value_of(deal)

    @property
    def nodes(self) -> int:
        return len(self._memo)

    def _choose(self, seat: int, after: Key, cards: tuple[int, int], options: dict[int, float]) -> float:
        return options[_best_row(seat, options)]

    def _solve(self, key: Key) -> tuple[float, list[int], list[int], np.ndarray, np.ndarray]:
        if key[0] == 0:  # hands empty: the deal is over (not counted as a node)
            return 0.0, [], [], np.zeros(0), np.zeros(0)
        hit = self._memo.get(key)
        if hit is None:
            c0, c1, a = _trick_matrix(key, self.modes, self.value_at, self._choose)
            v, x, y = solve_matrix_game(a)
            hit = self._memo[key] = (v, c0, c1, x, y)
        return hit

    def value_at(self, key: Key) -> float:
        """Player_0's equilibrium margin from the trick-boundary position ``key`` on."""
        return self._solve(key)[0]

    def _check(self, deal: Deal) -> None:
        if deal.modes != self.modes:
            raise ValueError(
                f"position has row_choice {deal.row_choice!r}, solution {self.deal.row_choice!r}"
            )

    def value_of(self, deal: Deal) -> float:
        """Player_0's equilibrium margin from ``deal`` (any position with the same row-choice rule) on."""
        self._check(deal)
        if deal.pending is None:
            return self.value_at(deal.key())
        options = _row_options(deal.key(), deal.pending, self.value_at)
        return self._choose(deal.chooser, deal.key(), deal.pending, options)

    def strategy(self, deal: Deal, player: int) -> dict[int, float] | int:
        """The equilibrium play of ``player`` at ``deal``: at a trick boundary a dict card -> probability
        (cards played with probability 0 are left out); at a row choice made by ``player``, the chosen row
        (ties: the lowest index). Raises ValueError at another seat's row choice. Usable as the ``policy``
        of :func:`best_response_value`."""
        self._check(deal)
        if player not in (0, 1):
            raise ValueError(f"player must be 0 or 1, got {player}")
        if deal.pending is not None:
            if deal.chooser != player:
                raise ValueError(
                    f"the row choice at {deal.pending} is player_{deal.chooser}'s, not {player}'s"
                )
            return _best_row(player, _row_options(deal.key(), deal.pending, self.value_at))
        _, c0, c1, x, y = self._solve(deal.key())
        cards, probs = (c0, x) if player == 0 else (c1, y)
        return {c: float(p) for c, p in zip(cards, probs, strict=True) if p > 0}


def solve(deal: Deal) -> Solution:
    """Solve ``deal`` exactly (see the module docstring); the returned :class:`Solution` answers value and
    strategy queries for every sub-game."""
    return Solution(deal)


# --------------------------------------------------------------------------------------- best responses
def _as_distribution(choice: Any, allowed: Sequence[int], what: str) -> dict[int, float]:
    if isinstance(choice, (int, np.integer)):
        dist = {int(choice): 1.0}
    else:
        dist = {int(k): float(v) for k, v in choice.items()}
    bad = [k for k, v in dist.items() if v > 0 and k not in allowed]
    if bad or any(v < 0 for v in dist.values()) or abs(sum(dist.values()) - 1.0) > 1e-6:
        raise ValueError(
            f"policy returned {choice!r} for {what}; need probabilities summing to 1 over {allowed}"
        )
    return dist


def best_response_value(deal: Deal, policy: Policy, player: int) -> float:
    """The expected margin (for ``player``: its opponent's penalty minus its own) that ``player`` achieves by
    best responding to the opponent's fixed ``policy`` (knowing the policy, not the card it draws in the
    current trick). ``policy(position, seat)`` is asked only for the opponent's seat: at trick boundaries it
    returns a dict card -> probability; at the opponent's row choices a row index or a dict row ->
    probability (seats under the "auto" row rule are never asked for rows)."""
    if player not in (0, 1):
        raise ValueError(f"player must be 0 or 1, got {player}")
    opp, sign, modes = 1 - player, (1.0 if player == 0 else -1.0), deal.modes
    memo: dict[Key, float] = {}

    def position(after: Key, pending: tuple[int, int] | None = None) -> Deal:
        hands = (tuple(_cards(after[0])), tuple(_cards(after[1])))
        return Deal(hands, after[2], deal.row_choice, deal.deck_size, pending)

    def choose(seat: int, after: Key, cards: tuple[int, int], options: dict[int, float]) -> float:
        if seat == player:
            return options[_best_row(seat, options)]
        here = position(after, cards)
        dist = _as_distribution(policy(here, seat), range(NUM_ROWS), f"player_{seat}'s row choice at {here}")
        return sum(p * options[r] for r, p in dist.items())

    def value(key: Key) -> float:  # player_0's margin when `player` best responds
        if key in memo:
            return memo[key]
        if key[0] == 0:
            return 0.0
        c0, c1, a = _trick_matrix(key, modes, value, choose)
        theirs = c1 if player == 0 else c0
        here = position(key)
        dist = _as_distribution(policy(here, opp), theirs, f"player_{opp}'s card at {here}")
        q = np.array([dist.get(c, 0.0) for c in theirs])
        payoff = a @ q if player == 0 else q @ a  # player_0's margin for each of `player`'s cards
        memo[key] = float(payoff.max() if player == 0 else payoff.min())
        return memo[key]

    if deal.pending is None:
        return sign * value(deal.key())
    options = _row_options(deal.key(), deal.pending, value)
    return sign * choose(deal.chooser, deal.key(), deal.pending, options)


def exploitability(deal: Deal, policy_pair: Policy | tuple[Policy, Policy]) -> float:
    """Mean gain of the two best responses, (BR_0(policy_1) + BR_1(policy_0)) / 2, in margin points: >= 0, and
    0 exactly at an equilibrium (the game is zero-sum). ``policy_pair`` is one policy used for both seats or a
    pair (player_0's, player_1's); each is called only for its own seat."""
    p0, p1 = (policy_pair, policy_pair) if callable(policy_pair) else policy_pair
    return (best_response_value(deal, p1, 0) + best_response_value(deal, p0, 1)) / 2


# ------------------------------------------------------------------------------------------------ engine
def deal_from_state(game: SixNimmtGame, state: SixNimmtState, i: int) -> Deal:
    """Game ``i`` of an engine state (``zeroleague.envs.sixnimmt.engine``) as a :class:`Deal`: the true hands, the
    rows, the game's ``row_choice`` and ``max_card`` as ``deck_size``; during a row choice ``pending`` = the
    trick's revealed cards. Needs 2 players, at most :data:`MAX_HAND` cards left in each hand, and a trick
    boundary or a row choice (not between the two selections). The solver's value of the result is player_0's
    margin over the rest of the current round (earlier penalties and later rounds are not part of it); for
    decks with hidden hands it is the value of this open-hand world (e.g. one drawn by ``sample_worlds``)."""
    if game.num_players != 2:
        raise ValueError(f"the solver handles 2 players, the game has {game.num_players}")
    if not 0 <= i < len(state):
        raise ValueError(f"game index {i} outside 0..{len(state) - 1}")
    if state.phase[i] == SELECT and state.pending[i].any():
        raise ValueError(f"game {i} is between the two selections of a trick (a card chosen, not revealed)")
    hands = tuple(tuple(np.flatnonzero(state.hand[i, p]).tolist()) for p in range(2))
    rows = tuple(tuple(state.rows[i, j, : state.row_len[i, j]].tolist()) for j in range(NUM_ROWS))
    pending = tuple(state.trick_cards[i].tolist()) if state.phase[i] == ROW_CHOICE else None
    return Deal(hands, rows, game.row_choice, game.max_card, pending)  # type: ignore[arg-type]
