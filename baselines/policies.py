"""What REINFORCE and the PPO best response share: small policy/value networks, masked sampling, the policy
Agent, the checkpoint file, and run-directory logging.

Networks (``net_config`` dicts, JSON-able, rebuilt by ``build_trunk`` / ``PolicyValueNet``):
``{"kind": "mlp", "hidden": [128, 128]}`` for flat observations (6 nimmt!): an MLP over the vector.
``{"kind": "conv", "channels": 32, "blocks": 3, "head_channels": 4}`` for planes ``[C, H, W]`` (Go): 3x3 convs
with padding, then a 1x1 conv to ``head_channels`` planes, flattened (``head_channels * H * W`` features).
``{"kind": "cards", "max_card": M, "num_players": P, "max_hand": H, "hidden": 64}`` for 6 nimmt!
(``CardTrunk``): card-structured, its output already holds every action's logit (``trunk_scores_actions``).
``default_net_config(game)`` picks "cards" for 6 nimmt!, else by the observation's rank. The same trunks are
PPO's features extractors.

Masking: ``masked_logits`` puts the most negative float at illegal actions (never -inf, so softmax,
log-softmax, entropy and their gradients stay finite), which gives illegal actions probability exactly 0.
``select_actions`` samples (or takes the argmax) under that mask in torch (the REINFORCE rollouts);
``PolicyAgent`` plays a trained model through ``zeroleague.agents.evaluator.Evaluator`` (REINFORCE and PPO agents).

Checkpoint (one ``torch.save`` file, loaded with ``weights_only=True``): ``format``, ``algo`` ("reinforce" or
"ppo"), ``weights`` (a state dict), ``net_config``, ``env_id``, ``env_kwargs``, ``game`` (``game_signature``:
env id, players, actions, observation shape and the engine's repr when it has one), ``step`` (training step)
and ``extra`` (algorithm specifics). ``load_checkpoint`` refuses, with a ``CheckpointError`` saying what
differs, a file that is not such a checkpoint, another algorithm, or another game / env kwargs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zeroleague.agents.base import BaseAgent, DecisionBatch, DecisionKeys, key_uniform
from zeroleague.agents.evaluator import FIXED_BATCH, Evaluator
from zeroleague.agents.registry import register_agent
from zeroleague.envs.core import BatchedGame
from zeroleague.envs.sixnimmt.engine import obs_slices
from zeroleague.envs.sixnimmt.rules import BULLHEADS, NUM_ROWS, ROW_CAPACITY

CHECKPOINT_FORMAT = "zeroleague-policy-v1"


# --- networks -----------------------------------------------------------------------------------------------


def default_net_config(game: BatchedGame) -> dict[str, Any]:
    """The card-structured net for 6 nimmt!, else an MLP for flat observations, a small conv net for
    ``[C, H, W]`` planes."""
    if game.env_id.startswith("sixnimmt"):
        return {
            "kind": "cards",
            "max_card": int(game.max_card),
            "num_players": int(game.num_players),
            "max_hand": int(game.hand_size),
            "hidden": 64,
        }
    if len(game.obs_shape) == 1:
        return {"kind": "mlp", "hidden": [128, 128]}
    if len(game.obs_shape) == 3:
        return {"kind": "conv", "channels": 32, "blocks": 3, "head_channels": 4}
    raise ValueError(f"no default network for observations of shape {game.obs_shape}")


def build_trunk(net_config: dict[str, Any], obs_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """The feature trunk described by ``net_config`` for observations ``obs_shape``, and its output width."""
    kind = net_config.get("kind")
    if kind == "cards":
        trunk = CardTrunk(
            int(net_config["max_card"]),
            int(net_config["num_players"]),
            int(net_config["max_hand"]),
            int(net_config["hidden"]),
        )
        if tuple(obs_shape) != (trunk.obs_dim,):
            raise ValueError(
                f"a cards trunk for max_card={trunk.max_card}, num_players={trunk.num_players} needs "
                f"observations of shape ({trunk.obs_dim},), got {obs_shape}"
            )
        return trunk, trunk.num_actions + trunk.hidden
    if kind == "mlp":
        if len(obs_shape) != 1:
            raise ValueError(f"an mlp trunk needs flat observations, got shape {obs_shape}")
        layers: list[nn.Module] = []
        width = obs_shape[0]
        for h in net_config["hidden"]:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        return nn.Sequential(*layers), width
    if kind == "conv":
        if len(obs_shape) != 3:
            raise ValueError(f"a conv trunk needs [C, H, W] observations, got shape {obs_shape}")
        c_in, h, w = obs_shape
        ch, head = int(net_config["channels"]), int(net_config["head_channels"])
        layers = []
        for _ in range(int(net_config["blocks"])):
            layers += [nn.Conv2d(c_in, ch, 3, padding=1), nn.ReLU()]
            c_in = ch
        layers += [nn.Conv2d(c_in, head, 1), nn.ReLU(), nn.Flatten()]
        return nn.Sequential(*layers), head * h * w
    raise ValueError(f"unknown network kind {kind!r} in net_config {net_config!r} (expected 'mlp', 'conv' or 'cards')")


def trunk_scores_actions(net_config: dict[str, Any]) -> bool:
    """Whether the trunk's first ``num_actions`` outputs are the action logits (the "cards" net), so the policy
    head is ``ActionScores`` rather than a linear layer."""
    return net_config.get("kind") == "cards"


def _mlp(*widths: int) -> nn.Sequential:
    """Linear layers of the given widths, each followed by a ReLU."""
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(w_in, w_out), nn.ReLU()]
    return nn.Sequential(*layers)


class CardTrunk(nn.Module):
    """A card-structured (DeepSets-style) trunk for 6 nimmt! observations (layout ``obs_slices(M, P)``).

    ``card_features`` turns each observation into per-card features ``float[B, M, card_dim]`` (card c at index
    c-1; see its docstring), per-row features ``float[B, 4, row_dim]`` and global features. The
    cards in hand (at most ``max_hand``) go through a shared per-card MLP (embeddings ``e_c``); their masked
    mean and max, with the global features, make the context ``ctx`` (width ``hidden``). A card action's logit
    is a shared scorer of ``(e_c, ctx)`` -- it depends on that card's own features and on the hand only as a
    set (``card_logits`` is permutation-equivariant over cards); a row action's logit is a shared scorer of
    ``(row features, ctx)``. Cards not in hand get logit 0 (they are illegal anyway).

    ``forward(obs_BD) -> float[B, M + 4 + hidden]``: the ``M + 4`` action logits, then ``ctx``.
    """

    CARD_FEATURES_OWN = 13

    def __init__(self, max_card: int, num_players: int, max_hand: int, hidden: int):
        super().__init__()
        if not 1 <= max_hand <= max_card:
            raise ValueError(f"max_hand must lie in 1..max_card={max_card}, got {max_hand}")
        self.max_card, self.num_players, self.max_hand, self.hidden = max_card, num_players, max_hand, hidden
        self.slices = obs_slices(max_card, num_players)
        self.obs_dim = self.slices["revealed"].stop
        self.num_actions = max_card + NUM_ROWS
        self.card_dim = self.CARD_FEATURES_OWN + num_players + 4 * NUM_ROWS
        self.row_dim = 4
        self.global_dim = 3 * NUM_ROWS + 2 * num_players + 2 + 1 + 1
        self.register_buffer("values", torch.arange(1, max_card + 1, dtype=torch.float32), persistent=False)
        self.register_buffer("bulls", torch.tensor(BULLHEADS[1 : max_card + 1], dtype=torch.float32), persistent=False)
        self.card_net = _mlp(self.card_dim, hidden, hidden)
        self.context_net = _mlp(2 * hidden + self.global_dim, hidden, hidden)
        self.card_scorer = nn.Sequential(_mlp(2 * hidden, hidden), nn.Linear(hidden, 1))
        self.row_scorer = nn.Sequential(_mlp(self.row_dim + hidden, hidden), nn.Linear(hidden, 1))

    def card_features(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(hand_BM, cards_BMF, rows_BRF, global_BG)`` of observations ``obs`` float[B, D].

        Per card c (with ``last_j`` row j's last card, the target row the one whose last card is the largest
        below c): in hand, seen, unseen, lies in a row, c/M, bullheads(c)/7, below every row, would take its
        target row (the target holds 5 cards), bullheads it would take if played alone now / 35 (target row's
        when full, the cheapest row's when below every row, else 0), gap to the target row's last card / M,
        the target row's length / 5, unseen cards / 10 and own cards / 10 between the target's last card and c
        (below c when below every row); then which seat revealed it this trick (P, observer first); then per
        row j: (c - last_j)/M, c > last_j, j is the target, c lies in row j (4 x 4).
        Per row: length / 5, bullheads / 35, last card / M, it is a cheapest row. Global: the rows' lengths,
        bullheads and last cards (as per row), the penalty, phase and trick slices, hand size / ``max_hand``.
        """
        sl, m = self.slices, self.max_card
        b = obs.shape[0]
        hand, seen, unseen = obs[:, sl["hand"]], obs[:, sl["seen"]], obs[:, sl["unseen"]]
        rows = obs[:, sl["rows"]].reshape(b, NUM_ROWS, m)
        row_len = rows.sum(-1)  # [B, R]
        row_bulls = rows @ self.bulls  # [B, R]
        last = (rows * self.values).amax(-1)  # [B, R]
        gap = self.values[None, :, None] - last[:, None, :]  # [B, M, R]
        above = gap > 0
        below_all = ~above.any(-1)  # [B, M]
        big = torch.full_like(gap, 2.0 * m)
        target_gap = torch.where(above, gap, big).amin(-1)  # [B, M]
        is_target = above & (gap == target_gap[..., None])  # one-hot over rows, none when below all
        tf = is_target.float()
        target_len = (tf * row_len[:, None, :]).sum(-1)
        target_bulls = (tf * row_bulls[:, None, :]).sum(-1)
        takes = (target_len >= ROW_CAPACITY) & ~below_all
        cheapest = row_bulls.amin(-1, keepdim=True)
        cost = torch.where(below_all, cheapest.expand(-1, m), torch.where(takes, target_bulls, 0.0))
        target_last = (tf * last[:, None, :]).sum(-1).long()  # 0 when below every row
        zero = torch.zeros(b, 1, dtype=obs.dtype, device=obs.device)
        cards_up_to = {k: torch.cat([zero, v.cumsum(-1)], -1) for k, v in (("unseen", unseen), ("hand", hand))}
        idx_below = torch.arange(m, device=obs.device).expand(b, m)  # value c-1 at index c-1
        between = {
            k: v.gather(1, idx_below) - v.gather(1, target_last) for k, v in cards_up_to.items()
        }  # cards in (last_target, c) (in (0, c) when below every row)
        revealed = obs[:, sl["revealed"]].reshape(b, self.num_players, m).transpose(1, 2)
        in_row = rows.transpose(1, 2)  # [B, M, R]
        own = torch.stack(
            [
                hand,
                seen,
                unseen,
                in_row.sum(-1),
                self.values.expand(b, m) / m,
                self.bulls.expand(b, m) / 7.0,
                below_all.float(),
                takes.float(),
                cost / 35.0,
                torch.where(below_all, 0.0, target_gap) / m,
                target_len / ROW_CAPACITY,
                between["unseen"] / 10.0,
                between["hand"] / 10.0,
            ],
            -1,
        )
        cards = torch.cat([own, revealed, gap / m, above.float(), tf, in_row], -1)
        row_feats = torch.stack(
            [row_len / ROW_CAPACITY, row_bulls / 35.0, last / m, (row_bulls == cheapest).float()], -1
        )
        glob = torch.cat(
            [
                row_len / ROW_CAPACITY,
                row_bulls / 35.0,
                last / m,
                obs[:, sl["round_pen"]],
                obs[:, sl["total_pen"]],
                obs[:, sl["phase"]],
                obs[:, sl["trick"]],
                hand.sum(-1, keepdim=True) / self.max_hand,
            ],
            -1,
        )
        return hand, cards, row_feats, glob

    def card_logits(
        self, hand: torch.Tensor, cards: torch.Tensor, rows: torch.Tensor, glob: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits_BA, ctx_BH)`` from the features of ``card_features``. Only the (at most ``max_hand``)
        cards in hand are embedded; permuting the card axis of ``hand`` and ``cards`` permutes the card logits
        the same way and leaves the row logits and ``ctx`` unchanged."""
        b, m = hand.shape
        in_hand = hand > 0.5
        if b and int(in_hand.sum(-1).max()) > self.max_hand:
            raise ValueError(f"an observation holds more than max_hand={self.max_hand} cards")
        k = min(self.max_hand, m)
        idx = torch.topk(in_hand.float(), k, dim=-1).indices  # [B, K]: the hand's cards first
        valid = in_hand.gather(1, idx)[..., None]  # [B, K, 1]
        emb = self.card_net(cards.gather(1, idx[..., None].expand(-1, -1, cards.shape[-1]))) * valid
        count = valid.sum(1).clamp(min=1.0)
        pooled = torch.cat([emb.sum(1) / count, emb.amax(1)], -1)  # embeddings >= 0: 0 is neutral for max
        ctx = self.context_net(torch.cat([pooled, glob], -1))
        score = self.card_scorer(torch.cat([emb, ctx[:, None, :].expand(-1, k, -1)], -1)).squeeze(-1)
        card_logits = torch.zeros(b, m, dtype=score.dtype, device=score.device)
        card_logits = card_logits.scatter(1, idx, score * valid.squeeze(-1))
        row_logits = self.row_scorer(torch.cat([rows, ctx[:, None, :].expand(-1, rows.shape[1], -1)], -1))
        return torch.cat([card_logits, row_logits.squeeze(-1)], -1), ctx

    def output_layers(self) -> tuple[nn.Linear, nn.Linear]:
        """The last layers of the card and row scorers (the logits' layers)."""
        return self.card_scorer[-1], self.row_scorer[-1]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        logits, ctx = self.card_logits(*self.card_features(obs))
        return torch.cat([logits, ctx], -1)


class ActionScores(nn.Module):
    """The policy head of a trunk whose first ``num_actions`` outputs are the logits: takes them."""

    def __init__(self, num_actions: int):
        super().__init__()
        self.num_actions = num_actions

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z[..., : self.num_actions]


class PolicyValueNet(nn.Module):
    """``forward(obs_B...) -> (logits_BA, value_B)``: a trunk, a linear policy head (``ActionScores`` for a
    trunk that scores the actions itself), a linear value head."""

    def __init__(self, net_config: dict[str, Any], obs_shape: tuple[int, ...], num_actions: int):
        super().__init__()
        self.trunk, width = build_trunk(net_config, tuple(obs_shape))
        scores = trunk_scores_actions(net_config)
        self.policy_head = ActionScores(num_actions) if scores else nn.Linear(width, num_actions)
        self.value_head = nn.Linear(width, 1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(obs)
        return self.policy_head(z), self.value_head(z).squeeze(-1)


# --- masked policies ----------------------------------------------------------------------------------------


def masked_logits(logits_BA: torch.Tensor, mask_BA: torch.Tensor) -> torch.Tensor:
    """Logits with illegal actions (``mask_BA`` False) set to the most negative finite float; a ValueError if
    a row has no legal action."""
    mask_BA = mask_BA.to(dtype=torch.bool, device=logits_BA.device)
    if not bool(mask_BA.any(dim=-1).all()):
        raise ValueError("a row of the action mask has no legal action")
    return logits_BA.masked_fill(~mask_BA, torch.finfo(logits_BA.dtype).min)


def select_actions(
    logits_BA: torch.Tensor, mask_BA: torch.Tensor, generator: torch.Generator | None, greedy: bool
) -> torch.Tensor:
    """int64[B] legal actions: the masked argmax if ``greedy``, else samples of the masked softmax drawn with
    ``generator`` (on the logits' device)."""
    masked = masked_logits(logits_BA, mask_BA)
    if greedy:
        return masked.argmax(dim=-1)
    probs = torch.softmax(masked.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class PolicyAgent(BaseAgent):
    """An Agent from a ``model`` mapping ``obs_B... -> (logits_BA, value_B)``: each ``act`` call is one
    batched forward pass through an ``zeroleague.agents.evaluator.Evaluator`` (legal-action priors), then a sample from
    the priors, row b's uniform keyed by (seed, match seed, game, seat, decision index)
    (``zeroleague.agents.base.DecisionKeys``: the same game whatever the batching), or the likeliest legal action
    if ``greedy``."""

    def __init__(
        self,
        model: nn.Module,
        *,
        device: str | torch.device | None = None,
        seed: int = 0,
        greedy: bool = False,
        name: str = "policy",
    ):
        self.evaluator = Evaluator(model, device)
        self.greedy, self.name = bool(greedy), name
        self.seed = int(seed)
        self.keys = DecisionKeys(self.seed)

    def reset(self, game_ids: np.ndarray) -> None:
        self.keys.reset(game_ids)

    def act(self, batch: DecisionBatch) -> np.ndarray:
        keys = self.keys(batch)
        # harness games (keyed decisions): batch-size-invariant forward passes (Evaluator.fixed_batch)
        self.evaluator.fixed_batch = FIXED_BATCH if batch.decisions is not None else None
        priors, _ = self.evaluator.evaluate(batch.observations, batch.masks)
        if self.greedy:
            return priors.argmax(axis=1).astype(np.int64)
        cdf = np.cumsum(priors.astype(np.float64), axis=1)
        u = key_uniform(keys) * cdf[:, -1]
        picks = (cdf <= u[:, None]).sum(axis=1)
        # guard the float edge (u at the very top of the cdf): the last action of nonzero probability
        last_legal = priors.shape[1] - 1 - np.argmax(priors[:, ::-1] > 0, axis=1)
        return np.minimum(picks, last_legal).astype(np.int64)


# --- checkpoints --------------------------------------------------------------------------------------------


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: unreadable, not a zeroleague policy, or for another game."""


def game_signature(game: BatchedGame) -> dict[str, Any]:
    """What must match between a checkpoint and the game it plays: env id, players, actions, observation
    shape, and the engine's ``repr`` when its class defines one (it then names the engine's configuration)."""
    sig: dict[str, Any] = {
        "env_id": game.env_id,
        "num_players": int(game.num_players),
        "num_actions": int(game.num_actions),
        "obs_shape": [int(d) for d in game.obs_shape],
    }
    if type(game).__repr__ is not object.__repr__:
        sig["repr"] = repr(game)
    return sig


def save_checkpoint(
    path: str | Path,
    *,
    algo: str,
    weights: dict[str, torch.Tensor],
    net_config: dict[str, Any],
    game: BatchedGame,
    env_kwargs: dict[str, Any],
    step: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write one checkpoint file atomically (temporary file, then rename); returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "algo": algo,
        "weights": {k: v.detach().cpu() for k, v in weights.items()},
        "net_config": net_config,
        "env_id": game.env_id,
        "env_kwargs": dict(env_kwargs),
        "game": game_signature(game),
        "step": int(step),
        "extra": dict(extra or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    path: str | Path,
    *,
    algo: str | None = None,
    game: BatchedGame | None = None,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict (see the module docstring), after checking it against what is given: ``algo``, the
    ``game`` it will play (its signature) and/or the ``env_id`` and ``env_kwargs`` it was trained for."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds on a damaged file
        raise CheckpointError(f"{str(path)!r} is not a readable checkpoint (corrupt or truncated?): {e}") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a zeroleague policy checkpoint ({CHECKPOINT_FORMAT})")
    if algo is not None and ckpt["algo"] != algo:
        raise CheckpointError(f"{str(path)!r} is a {ckpt['algo']!r} checkpoint, not {algo!r}")
    if env_id is not None and ckpt["env_id"] != env_id:
        raise CheckpointError(f"{str(path)!r} was trained for env {ckpt['env_id']!r}, not {env_id!r}")
    if env_kwargs is not None and ckpt["env_kwargs"] != dict(env_kwargs):
        raise CheckpointError(
            f"{str(path)!r} was trained for {ckpt['env_id']} with env kwargs {ckpt['env_kwargs']!r}, "
            f"not {dict(env_kwargs)!r}"
        )
    if game is not None:
        sig = game_signature(game)
        if ckpt["game"] != sig:
            diff = {
                k: (ckpt["game"].get(k), sig.get(k))
                for k in sig.keys() | ckpt["game"].keys()
                if ckpt["game"].get(k) != sig.get(k)
            }
            raise CheckpointError(
                f"{str(path)!r} was trained for {ckpt['env_id']} {ckpt['env_kwargs']!r} and does not fit "
                f"this game; (checkpoint, game) differ in {diff!r}"
            )
    return ckpt


def checkpoint_agent(
    game: BatchedGame, path: str, algo: str, *, seed: int = 0, device: str | None = None, greedy: bool = False
) -> PolicyAgent:
    """The ``PolicyValueNet`` checkpoint ``path`` written by ``algo`` (checked against ``game``) as an Agent
    named ``ALGO:PATH``."""
    ckpt = load_checkpoint(path, algo=algo, game=game)
    net = PolicyValueNet(ckpt["net_config"], game.obs_shape, game.num_actions)
    net.load_state_dict(ckpt["weights"])
    return PolicyAgent(net, device=device, seed=seed, greedy=greedy, name=f"{algo}:{path}")


@register_agent("reinforce")
def reinforce_agent(
    game: BatchedGame, path: str, *, seed: int = 0, device: str | None = None, greedy: bool = False
) -> PolicyAgent:
    """A REINFORCE checkpoint as an Agent (``reinforce:PATH[,greedy=true]``)."""
    return checkpoint_agent(game, path, "reinforce", seed=seed, device=device, greedy=greedy)


@register_agent("distilled")
def distilled_agent(
    game: BatchedGame, path: str, *, seed: int = 0, device: str | None = None, greedy: bool = False
) -> PolicyAgent:
    """A distilled league average policy as an Agent (``distilled:PATH[,greedy=true]``)."""
    return checkpoint_agent(game, path, "distilled", seed=seed, device=device, greedy=greedy)
