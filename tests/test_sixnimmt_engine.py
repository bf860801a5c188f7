"""The batched 6 nimmt! engine: hand-made tricks, invariants under random play, rewards, information hiding,
determinization, bad input, and a differential test against the plain-Python reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tests.sixnimmt_reference import ReferenceGame
from tests.sixnimmt_reference import bullheads as ref_bullheads
from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.sixnimmt.engine import ROW_CHOICE, SELECT, SixNimmtGame, SixNimmtState, decode_observation
from zeroleague.envs.sixnimmt.rules import BULLHEADS

M = 104


def card(c: int) -> int:
    return c - 1


def row(game: SixNimmtGame, j: int) -> int:
    return game.max_card + j


def rows_of(state: SixNimmtState, g: int = 0) -> list[list[int]]:
    return [[int(c) for c in state.rows[g, j, : state.row_len[g, j]]] for j in range(4)]


def play(game: SixNimmtGame, state: SixNimmtState, *actions: int) -> None:
    for a in actions:
        game.step(state, np.array([a]))


def assert_same(a: SixNimmtState, b: SixNimmtState) -> None:
    for x, y in zip(a.arrays(), b.arrays(), strict=True):
        np.testing.assert_array_equal(x, y)


def random_actions(game: SixNimmtGame, state: SixNimmtState, rng: np.random.Generator) -> np.ndarray:
    mask = game.legal_mask(state)
    keys = np.where(mask, rng.random(mask.shape), -1.0)
    return np.where(mask.any(1), keys.argmax(1), -1)


# --------------------------------------------------------------------------------------------- card table
def test_penalty_table():
    assert int(BULLHEADS[1:105].sum()) == 171
    assert int(BULLHEADS[1:25].sum()) == 38
    assert [int(BULLHEADS[c]) for c in (1, 5, 10, 11, 55, 66, 100, 104)] == [1, 2, 3, 5, 7, 5, 3, 1]
    assert all(int(BULLHEADS[c]) == ref_bullheads(c) for c in range(1, 105))


# ------------------------------------------------------------------------------------------ hand-made tricks
def test_normal_placement_sees_earlier_placements():
    game = SixNimmtGame()
    s = game.deal_state([[55, 2], [52, 3]], [10, 20, 50, 60])
    assert game.current_player(s)[0] == 0
    play(game, s, card(55))
    assert game.current_player(s)[0] == 1 and rows_of(s) == [[10], [20], [50], [60]]  # nothing placed yet
    play(game, s, card(52))
    assert rows_of(s) == [[10], [20], [50, 52, 55], [60]]  # 52 first, then 55 after it
    assert game.penalties(s).tolist() == [[0, 0]] and s.phase[0] == SELECT and s.trick[0] == 9


def test_sixth_card_takes_the_row():
    game = SixNimmtGame()
    s = game.deal_state([[6, 90], [7, 91]], [[1, 2, 3, 4, 5], 20, 50, 60])
    play(game, s, card(6), card(7))
    assert rows_of(s) == [[6, 7], [20], [50], [60]]
    assert game.penalties(s).tolist() == [[6, 0]]  # 1+1+1+1+2
    assert game.returns(s).tolist() == [[-6.0, 6.0]]


ROWS = [[10, 11], [20, 22, 25], [30], [40, 44, 55]]  # bullheads 3+5=8, 3+5+2=10, 3, 3+5+7=15


@pytest.mark.parametrize(
    ("choice", "rows_after", "taken"),
    [
        (0, [[5], [20, 22, 25], [30, 35], [40, 44, 55]], 8),
        (1, [[10, 11], [5], [30, 35], [40, 44, 55]], 10),
        (2, [[10, 11], [20, 22, 25, 35], [5], [40, 44, 55]], 3),
        (3, [[10, 11], [20, 22, 25], [30, 35], [5]], 15),
    ],
)
@pytest.mark.parametrize("chooser", [0, 1])
def test_too_low_card_any_row(choice, rows_after, taken, chooser):
    game = SixNimmtGame()
    hands = [[5, 90], [35, 91]] if chooser == 0 else [[35, 90], [5, 91]]
    s = game.deal_state(hands, ROWS)
    play(game, s, card(hands[0][0]), card(hands[1][0]))
    assert s.phase[0] == ROW_CHOICE and game.current_player(s)[0] == chooser
    mask = game.legal_mask(s)[0]
    assert mask[M:].all() and not mask[:M].any()
    assert rows_of(s) == ROWS  # nothing placed before the choice
    obs = decode_observation(game.observe(s, chooser), M, 2)
    assert obs.row_choice[0] and sorted(obs.revealed[0].tolist()) == [5, 35]
    play(game, s, row(game, choice))
    assert rows_of(s) == rows_after  # then 35 is placed on the rows the choice left
    pens = [0, 0]
    pens[chooser] = taken
    assert game.penalties(s)[0].tolist() == pens
    assert s.phase[0] == SELECT and game.current_player(s)[0] == 0


def test_too_low_choice_changes_where_the_other_card_goes():
    # Rule-book example 2 shape: taking the row the higher card would join pushes it into a full row.
    game = SixNimmtGame()
    s = game.deal_state([[3, 90], [62, 91]], [[56, 57, 58, 59, 60], 61, 70, 80])
    play(game, s, card(3), card(62), row(game, 1))  # player_0 takes [61]: 62 must follow 60 (a full row)
    assert rows_of(s) == [[62], [3], [70], [80]]
    assert game.penalties(s)[0].tolist() == [1, 1 + 1 + 1 + 1 + 3]


def test_auto_row_choice_fewest_bullheads_lowest_index():
    game = SixNimmtGame(row_choice="auto")
    s = game.deal_state([[5, 90], [35, 91]], [[10, 11], [20], [30], [40]])  # 8, 3, 3, 3 -> row 1
    play(game, s, card(5), card(35))
    assert s.phase[0] == SELECT and rows_of(s) == [[10, 11], [5], [30, 35], [40]]
    assert game.penalties(s)[0].tolist() == [3, 0]
    s = game.deal_state([[5, 90], [35, 91]], [[10, 11], [20, 21], [30], [44]])  # 8, 4, 3, 5 -> row 2
    play(game, s, card(5), card(35))
    assert rows_of(s) == [[10, 11], [20, 21, 35], [5], [44]]


def test_only_the_lowest_card_can_be_too_low():
    for kw in ({}, {"max_card": 24}, {"num_players": 4}):
        game = SixNimmtGame(**kw)
        s = game.init(200, 11)
        rng = np.random.default_rng(0)
        choices = 0
        while not game.terminal(s).all():
            for g in np.flatnonzero(s.phase == ROW_CHOICE):
                choices += 1
                trick = s.trick_cards[g]
                low = s.pending[g, s.to_act[g]]
                assert low == trick.min()  # the chooser's card is the lowest of the trick
                assert all(s.rows[g, j, s.row_len[g, j] - 1] > low for j in range(4))  # and below every row
            game.step(s, random_actions(game, s, rng))
        assert choices > 50


# ------------------------------------------------------------------------------------ rounds and rewards
def test_round_end_deals_again_below_target():
    game = SixNimmtGame(target_score=66)
    s = game.deal_state([[6], [7]], [[1, 2, 3, 4, 5], 20, 50, 60], totals=[10, 12])
    play(game, s, card(6), card(7))
    assert s.phase[0] == SELECT and s.round_no[0] == 1 and s.trick[0] == 0
    assert game.penalties(s)[0].tolist() == [16, 12] and s.round_pen[0].tolist() == [0, 0]
    assert s.hand_count[0].tolist() == [10, 10] and s.hand[0].sum() == 20
    assert s.seen[0].sum() == 4 and (s.row_len[0] == 1).all()
    assert game.returns(s)[0].tolist() == [-4.0, 4.0]  # margin carries over


@pytest.mark.parametrize(
    ("totals", "round_pen", "expect_pen", "expect_win"),
    [
        ([50, 60], [0, 10], [56, 70], [1.0, -1.0]),  # player_0 reaches 56, player_1 70 >= 66: player_0 wins
        ([60, 60], [0, 6], [66, 66], [0.0, 0.0]),  # equal totals: a draw
        ([70, 50], [0, 0], [76, 50], [-1.0, 1.0]),
    ],
)
def test_target_score_end_and_win_reward(totals, round_pen, expect_pen, expect_win):
    for reward in ("win", "margin"):
        game = SixNimmtGame(target_score=66, reward=reward)
        s = game.deal_state(
            [[6], [7]], [[1, 2, 3, 4, 5], 20, 50, 60], totals=totals, round_penalties=round_pen
        )
        play(game, s, card(6), card(7))
        assert game.terminal(s)[0] and game.current_player(s)[0] == -1 and not game.legal_mask(s).any()
        assert game.penalties(s)[0].tolist() == expect_pen
        margin = [expect_pen[1] - expect_pen[0], expect_pen[0] - expect_pen[1]]
        assert game.returns(s)[0].tolist() == (expect_win if reward == "win" else margin)


def test_single_round_ends_after_hand_size_tricks():
    game = SixNimmtGame(hand_size=3, max_card=20)
    s = game.init(50, 4)
    rng = np.random.default_rng(1)
    selections = 0
    while not game.terminal(s).all():
        selections += int((s.phase == SELECT).sum())
        game.step(s, random_actions(game, s, rng))
    assert selections == 50 * 3 * 2 and (s.round_no == 1).all() and (s.hand_count == 0).all()


@pytest.mark.parametrize(
    "kw", [{}, {"max_card": 24}, {"target_score": 66}, {"target_score": 30, "max_card": 24}]
)
def test_margin_returns_equal_the_penalty_difference(kw):
    game = SixNimmtGame(**kw)
    s = game.init(300, 5)
    rng = np.random.default_rng(2)
    while not game.terminal(s).all():
        game.step(s, random_actions(game, s, rng))
        pen = game.penalties(s)
        np.testing.assert_array_equal(
            game.returns(s), np.stack([pen[:, 1] - pen[:, 0], pen[:, 0] - pen[:, 1]], 1)
        )
    if "target_score" in kw:
        assert (game.penalties(s).max(1) >= kw["target_score"]).all() and (s.round_no > 1).any()


def test_win_reward_and_multi_player_zero_sum():
    game = SixNimmtGame(target_score=66, reward="win")
    s = game.init(300, 6)
    steps = 0
    rng = np.random.default_rng(3)
    while not game.terminal(s).all():
        assert (game.returns(s)[~game.terminal(s)] == 0).all()  # nothing before the end
        game.step(s, random_actions(game, s, rng))
        steps += 1
    pen = game.penalties(s)
    expect = np.sign(pen[:, 1] - pen[:, 0])
    np.testing.assert_array_equal(game.returns(s)[:, 0], expect)
    np.testing.assert_array_equal(game.returns(s)[:, 1], -expect)
    game = SixNimmtGame(num_players=3, target_score=40, reward="win")
    s = game.init(100, 7)
    game.random_playouts(s, 8)
    pen = game.penalties(s)
    winners = pen == pen.min(1, keepdims=True)
    np.testing.assert_allclose(game.returns(s), 3 * winners / winners.sum(1, keepdims=True) - 1, rtol=1e-6)
    game = SixNimmtGame(num_players=3)
    s = game.init(100, 9)
    game.random_playouts(s, 10)
    pen = game.penalties(s).astype(np.float64)
    np.testing.assert_allclose(game.returns(s), (pen.sum(1, keepdims=True) - pen) / 2 - pen, atol=1e-4)


def test_init_and_playouts_are_deterministic():
    game = SixNimmtGame(target_score=66)
    a, b = game.init(20, 3), game.init(20, 3)
    assert_same(a, b)
    assert not np.array_equal(a.hand, game.init(20, 4).hand)
    game.random_playouts(a, 1)
    game.random_playouts(b, 1)
    assert_same(a, b)
    c = game.init(20, 3)
    game.random_playouts(c, 2)
    assert not np.array_equal(a.total_pen, c.total_pen)


# ---------------------------------------------------------------------------------------- information
def _mid_trick_states(game: SixNimmtGame, n: int, seed: int) -> SixNimmtState:
    """n games after a few random tricks, at a trick start (player_0 to select)."""
    s = game.init(n, seed)
    rng = np.random.default_rng(seed)
    target = rng.integers(0, game.hand_size - 1, size=n)
    for _ in range(10 * game.hand_size):
        act = random_actions(game, s, rng)
        act[(s.trick >= target) & (s.phase == SELECT) & (s.to_act == 0)] = -1
        if (act == -1).all():
            break
        game.step(s, act)
    assert (s.phase == SELECT).all() and (s.to_act == 0).all()
    return s


def test_observation_and_information_state_hide_the_opponents_choice_and_hand():
    game = SixNimmtGame()
    base = _mid_trick_states(game, 40, 21)
    rng = np.random.default_rng(0)
    for g in range(len(base)):
        variants = []
        hand0 = np.flatnonzero(base.hand[g, 0])
        unseen = [
            c for c in range(1, M + 1) if not (base.seen[g, c] or base.hand[g, 0, c] or base.hand[g, 1, c])
        ]
        for trial in range(3):
            s = base.take(np.array([g]))
            if trial == 2:  # a different hidden hand for player_0, drawn from the cards player_1 cannot see
                s.hand[0, 0] = False
                s.hand[0, 0, rng.choice(unseen, size=len(hand0), replace=False)] = True
            play(game, s, card(int(rng.choice(np.flatnonzero(s.hand[0, 0])))))
            assert game.current_player(s)[0] == 1
            variants.append(s)
        obs = [game.observe(v, 1) for v in variants]
        infos = [game.information_state(v, 1) for v in variants]
        for o, i in zip(obs[1:], infos[1:], strict=True):
            np.testing.assert_array_equal(o, obs[0])
            assert_same(i, infos[0])
        i = infos[0]
        assert i.to_act[0] == 0 and (i.pending[0] == 0).all()
        assert i.hand_count[0].tolist() == base.hand_count[g].tolist()
        assert not i.hand[0, 0].any() and i.rng[0] == 0
        np.testing.assert_array_equal(i.hand[0, 1], base.hand[g, 1])
    # the observer's own hand does show
    o = game.observe(base, 0)
    assert not np.array_equal(o, game.observe(base, 1))


def test_tactical_information_state_keeps_hands_hides_pending():
    game = SixNimmtGame(max_card=24)
    s = game.init(1, 3)
    hand0 = s.hand[0, 0].copy()
    c = int(np.flatnonzero(hand0)[0])
    play(game, s, card(c))
    i = game.information_state(s, 1)
    np.testing.assert_array_equal(i.hand[0, 0], hand0)  # the pending card went back, the hand is known
    assert (i.pending[0] == 0).all() and i.to_act[0] == 0
    o = decode_observation(game.observe(s, 1), 24, 2)
    sl = game.obs_slices
    unseen = game.observe(s, 1)[0, sl["unseen"]]
    np.testing.assert_array_equal(unseen > 0.5, hand0[1:])  # unseen = player_0's whole hand incl. pending
    assert not o.hand[0, c]
    w = game.sample_worlds(i, 1, np.random.default_rng(0))
    np.testing.assert_array_equal(w.hand, i.hand)


def test_sampled_worlds_agree_with_the_information_state():
    game = SixNimmtGame(target_score=66)
    base = _mid_trick_states(game, 60, 31)
    game.step(base, random_actions(game, base, np.random.default_rng(1)))  # player_0 selects; player_1 to act
    info = game.information_state(base, 1)
    rng = np.random.default_rng(5)
    for _ in range(5):
        w = game.sample_worlds(info, 1, rng)
        for name in ("rows", "row_len", "seen", "round_pen", "total_pen", "ret", "phase", "to_act", "trick",
                     "hand_count", "pending", "round_no"):  # fmt: skip
            np.testing.assert_array_equal(getattr(w, name), getattr(info, name))
        np.testing.assert_array_equal(w.hand[:, 1], base.hand[:, 1])
        assert (w.hand[:, 0].sum(1) == base.hand_count[:, 0] + 1).all()  # the pending card is back in a hand
        assert not (w.hand[:, 0] & (w.hand[:, 1] | w.seen)).any()  # only unseen cards
        assert (w.rng != 0).all()
        game.step(w, random_actions(game, w, rng))  # the world is playable
    assert not np.array_equal(w.hand, game.sample_worlds(info, 1, rng).hand)


def test_sampled_hands_are_uniform_over_unseen_cards():
    game = SixNimmtGame()
    s = _mid_trick_states(game, 1, 41)
    info = game.information_state(s, 1)
    n = 8000
    worlds = game.sample_worlds(info.take(np.zeros(n, dtype=np.int64)), 1, np.random.default_rng(123))
    unseen = [c for c in range(1, M + 1) if not (s.seen[0, c] or s.hand[0, 1, c])]
    counts = worlds.hand[:, 0].sum(0)
    assert counts[[c for c in range(M + 1) if c not in unseen]].sum() == 0
    k = int(s.hand_count[0, 0])
    observed = counts[unseen]
    assert observed.sum() == n * k
    # expected n*k/|unseen| each; chi-square goodness of fit (draws within a world are without replacement,
    # which only lowers the variance, so the test is conservative)
    p = stats.chisquare(observed, np.full(len(unseen), n * k / len(unseen))).pvalue
    assert p > 1e-3, p
    # pairs are uniform too: how often two fixed unseen cards land together
    a, b = unseen[0], unseen[1]
    together = (worlds.hand[:, 0, a] & worlds.hand[:, 0, b]).sum()
    u = len(unseen)
    expect = n * k * (k - 1) / (u * (u - 1))
    assert abs(together - expect) < 5 * np.sqrt(expect), (together, expect)


# -------------------------------------------------------------------------------------------- bad input
def test_illegal_actions_raise_and_change_nothing():
    game = SixNimmtGame()
    s = game.deal_state([[5, 90], [35, 91]], ROWS)
    before = s.copy()
    with pytest.raises(IllegalActionError, match="card 36 is not in player_0's hand"):
        game.step(s, np.array([card(36)]))
    with pytest.raises(IllegalActionError, match="row action outside a row choice"):
        game.step(s, np.array([row(game, 2)]))
    with pytest.raises(IllegalActionError, match="not an action"):
        game.step(s, np.array([M + 4]))
    assert_same(s, before)
    play(game, s, card(5), card(35))
    before = s.copy()
    with pytest.raises(IllegalActionError, match="card action during player_0's row choice"):
        game.step(s, np.array([card(90)]))
    assert_same(s, before)
    # one bad game in a batch: no game changes
    batch = game.init(3, 0)
    before = batch.copy()
    acts = random_actions(game, batch, np.random.default_rng(0))
    acts[1] = row(game, 0)
    with pytest.raises(IllegalActionError, match="game 1"):
        game.step(batch, acts)
    assert_same(batch, before)
    game.step(batch, np.array([-1, -1, -1]))
    assert_same(batch, before)


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"max_card": 23}, "23"),
        ({"max_card": 105}, "105"),
        ({"num_players": 1}, "1"),
        ({"num_players": 11}, "11"),
        ({"num_players": 3, "max_card": 33}, "33"),
        ({"reward": "score"}, "score"),
        ({"row_choice": "cheapest"}, "cheapest"),
        ({"target_score": 0}, "0"),
    ],
)
def test_bad_options(kw, word):
    with pytest.raises(ValueError, match=f"{list(kw)[-1]}.*{word}"):
        SixNimmtGame(**kw)


def test_bad_deal_state():
    game = SixNimmtGame()
    with pytest.raises(ValueError, match="appear twice"):
        game.deal_state([[5, 6], [6, 7]], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="105"):
        game.deal_state([[5, 105], [6, 7]], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="ascending"):
        game.deal_state([[5, 50], [6, 7]], [[3, 2], 10, 20, 30])


# ----------------------------------------------------------------------------------------- reference
def _differential(kw: dict, n: int, seed: int) -> int:
    game = SixNimmtGame(**kw)
    s = game.init(n, seed)
    M_ = game.max_card

    def deal_of(g: int):
        hands = [[c for c in range(1, M_ + 1) if s.hand[g, p, c]] for p in range(game.num_players)]
        return hands, [int(s.rows[g, j, 0]) for j in range(4)]

    refs = [
        ReferenceGame(
            deal_of(g), M_, game.row_choice, game.target_score, game.reward, next_deal=lambda g=g: deal_of(g)
        )
        for g in range(n)
    ]
    rng = np.random.default_rng(seed)
    steps = 0
    while not game.terminal(s).all():
        mask = game.legal_mask(s)
        acts = np.full(n, -1, dtype=np.int64)
        for g, ref in enumerate(refs):
            legal = ref.legal_actions()
            assert np.flatnonzero(mask[g]).tolist() == legal
            assert game.current_player(s)[g] == ref.current_player()
            if legal:
                acts[g] = legal[rng.integers(len(legal))]
        game.step(s, acts)
        for g, ref in enumerate(refs):
            if acts[g] >= 0:
                ref.step(int(acts[g]))
            assert rows_of(s, g) == ref.rows
            assert game.penalties(s)[g].tolist() == ref.penalties()
            np.testing.assert_allclose(game.returns(s)[g], ref.rewards, atol=1e-4)
        steps += 1
    assert all(r.done for r in refs)
    return sum(r.rounds for r in refs)


DIFF_CONFIGS = [
    {},
    {"row_choice": "auto"},
    {"max_card": 24},
    {"max_card": 24, "row_choice": "auto"},
    {"max_card": 24, "target_score": 40, "reward": "win"},
    {"num_players": 3, "max_card": 60},
]


@pytest.mark.parametrize("kw", DIFF_CONFIGS)
def test_matches_reference(kw):
    assert _differential(kw, 60, 100) >= 60


@pytest.mark.slow
@pytest.mark.parametrize("kw", DIFF_CONFIGS)
def test_matches_reference_long(kw):
    assert _differential(kw, 1500, 200) >= 1500
