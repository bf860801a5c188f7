"""A slow, plain-Python reference of the 6 nimmt! rules (shared/rules/sixnimmt.md), written without the
engine.

One game, plain lists. The differential tests play it in lockstep with ``zeroleague.envs.sixnimmt.engine``; the
throughput benchmark times it. Actions as in the env: ``c - 1`` plays card c, ``max_card + j`` takes row j.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def bullheads(card: int) -> int:
    """Penalty of one card: 55 -> 7, multiples of 11 -> 5, of 10 -> 3, of 5 -> 2, else 1."""
    if card == 55:
        return 7
    if card % 11 == 0:
        return 5
    if card % 10 == 0:
        return 3
    if card % 5 == 0:
        return 2
    return 1


Deal = tuple[list[list[int]], list[int]]


def random_deal(rnd: random.Random, num_players: int, max_card: int, hand_size: int) -> Deal:
    deck = list(range(1, max_card + 1))
    rnd.shuffle(deck)
    hands = [sorted(deck[p * hand_size : (p + 1) * hand_size]) for p in range(num_players)]
    k = num_players * hand_size
    return hands, deck[k : k + 4]


class ReferenceGame:
    """One game. ``deal``: the first deal (hands, 4 row starters); ``next_deal()``: the deal of each later
    round (only with ``target_score``)."""

    def __init__(
        self,
        deal: Deal,
        max_card: int = 104,
        row_choice: str = "player",
        target_score: int | None = None,
        reward: str = "margin",
        next_deal: Callable[[], Deal] | None = None,
    ):
        self.num_players = len(deal[0])
        self.max_card = max_card
        self.hand_size = len(deal[0][0])
        self.row_choice = row_choice
        self.target_score = target_score
        self.reward = reward
        self.next_deal = next_deal
        self.totals = [0] * self.num_players
        self.rewards = [0.0] * self.num_players
        self.done = False
        self.rounds = 0
        self._start_round(deal)

    def _start_round(self, deal: Deal) -> None:
        hands, starters = deal
        self.hands = [sorted(h) for h in hands]
        self.rows = [[c] for c in starters]
        self.round_pen = [0] * self.num_players
        self.chosen: list[int | None] = [None] * self.num_players
        self.to_place: list[tuple[int, int]] = []  # (card, owner) still to place this trick, ascending
        self.chooser: int | None = None  # seat making a row choice
        self.tricks = 0

    # ------------------------------------------------------------------------------------------------ queries
    def current_player(self) -> int:
        if self.done:
            return -1
        if self.chooser is not None:
            return self.chooser
        return self.chosen.index(None)

    def legal_actions(self) -> list[int]:
        if self.done:
            return []
        if self.chooser is not None:
            return [self.max_card + j for j in range(4)]
        return [c - 1 for c in self.hands[self.current_player()]]

    def penalties(self) -> list[int]:
        return [t + r for t, r in zip(self.totals, self.round_pen, strict=True)]

    # ------------------------------------------------------------------------------------------------- moves
    def step(self, action: int) -> None:
        if action not in self.legal_actions():
            raise ValueError(f"illegal action {action}")
        if self.chooser is not None:
            card, owner = self.to_place.pop(0)
            self._take(owner, action - self.max_card, card)
            self.chooser = None
            self._place_rest()
            return
        p = self.current_player()
        card = action + 1
        self.hands[p].remove(card)
        self.chosen[p] = card
        if None not in self.chosen:
            self.to_place = sorted((c, q) for q, c in enumerate(self.chosen))
            self._place_rest()

    def _take(self, player: int, row: int, card: int) -> None:
        b = sum(bullheads(c) for c in self.rows[row])
        self.rows[row] = [card]
        self.round_pen[player] += b
        if self.reward == "margin":
            for q in range(self.num_players):
                self.rewards[q] += -b if q == player else b / (self.num_players - 1)

    def _place_rest(self) -> None:
        while self.to_place:
            card, owner = self.to_place[0]
            below = [j for j in range(4) if self.rows[j][-1] < card]
            if not below:
                if self.row_choice == "player":
                    self.chooser = owner
                    return
                cost = [sum(bullheads(c) for c in row) for row in self.rows]
                self._take(owner, cost.index(min(cost)), card)
            else:
                j = max(below, key=lambda r: self.rows[r][-1])
                if len(self.rows[j]) == 5:
                    self._take(owner, j, card)
                else:
                    self.rows[j].append(card)
            self.to_place.pop(0)
        self.chosen = [None] * self.num_players
        self.tricks += 1
        if self.tricks == self.hand_size:
            self._end_round()

    def _end_round(self) -> None:
        self.totals = self.penalties()
        self.round_pen = [0] * self.num_players
        self.rounds += 1
        if self.target_score is not None and max(self.totals) < self.target_score:
            assert self.next_deal is not None, "a target_score match needs next_deal"
            self._start_round(self.next_deal())
            return
        self.done = True
        if self.reward == "win":
            best = min(self.totals)
            winners = self.totals.count(best)
            n = self.num_players
            self.rewards = [(n / winners if t == best else 0.0) - 1.0 for t in self.totals]


def play_random_round(rnd: random.Random, num_players: int = 2, max_card: int = 104, hand_size: int = 10,
                      row_choice: str = "player") -> list[int]:  # fmt: skip
    """Deal and play one round with uniformly random legal actions; returns the penalties."""
    game = ReferenceGame(random_deal(rnd, num_players, max_card, hand_size), max_card, row_choice)
    while not game.done:
        game.step(rnd.choice(game.legal_actions()))
    return game.penalties()
