"""Policy/value networks for AlphaZero: a convolutional ResNet for board planes and a residual MLP for flat
observations, both ``forward(obs, board_mask=None) -> (logits [B, A], value [B])`` with ``value = tanh(.)`` in
[-1, 1] from the perspective of the player whose observation it is.

ResNet (``NetConfig(kind="resnet")``): input ``obs_BCHW`` float32 planes, a 3x3 conv stem, ``blocks`` residual
blocks of two 3x3 convs (batch norm, ReLU), ``channels`` wide. With ``global_pool=True`` (KataGo style) it is
fully convolutional and size-agnostic: the policy head gives one logit per point (1x1 conv) plus a pass logit
from pooled features, the value head pools the trunk (masked mean, mean scaled by ``(√area - 14) / 10``,
masked max) into an MLP. So one net plays every board size up to ``board_size``; ``num_actions = H*W + 1`` of
the INPUT. Boards of different sizes share one batch by padding (``pad_planes``): the padded planes are zero
and ``board_mask_BHW`` marks the real points; the trunk multiplies its activations by the mask after every
layer so off-board points stay exactly zero, which makes a padded board compute the same as the unpadded one
(in eval mode; in training mode batch-norm statistics are shared by the sizes of the batch), and
``unpad_policy`` maps the padded policy back to ``S*S + 1`` actions. With ``global_pool=False`` the heads are
the original AlphaZero ones (flatten + linear) and the net is tied to ``board_size``.

Residual MLP (``kind="mlp"``): input ``obs_BD`` flat, a linear stem, ``blocks`` residual blocks of two linear
layers (layer norm, ReLU), ``channels`` wide, linear policy and value heads; ``board_mask`` is not used.

Card net (``kind="cards"``, 6 nimmt!): the card-structured trunk of the baselines
(``zeroleague.baselines.policies.CardTrunk``, ``channels`` wide: per-card embeddings, permutation-equivariant card
logits, row logits) gives the policy logits; the value head is an MLP on its pooled context.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    """``kind`` "resnet" (``in_channels`` planes of at most ``board_size`` squared), "mlp" (``obs_dim``
    inputs, ``num_actions`` outputs) or "cards" (6 nimmt! observations of ``max_card`` cards, ``num_players``
    seats, hands of at most ``max_hand``). ``blocks``/``channels``: trunk depth and width. ``global_pool``:
    size-agnostic KataGo-style heads (resnet only). ``value_hidden``: width of the value head's hidden
    layer."""

    kind: str = "resnet"
    in_channels: int = 4
    board_size: int = 9
    obs_dim: int = 0
    num_actions: int = 0
    blocks: int = 6
    channels: int = 64
    global_pool: bool = True
    value_hidden: int = 128
    max_card: int = 0
    num_players: int = 0
    max_hand: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("resnet", "mlp", "cards"):
            raise ValueError(f"NetConfig.kind must be 'resnet', 'mlp' or 'cards', got {self.kind!r}")
        for name in ("blocks", "channels", "value_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "blocks" else 1):
                raise ValueError(f"NetConfig.{name} must be a positive int, got {value!r}")
        if self.kind == "resnet" and (self.in_channels < 1 or self.board_size < 1):
            raise ValueError(f"resnet needs in_channels >= 1 and board_size >= 1, got {self.in_channels}, "
                             f"{self.board_size}")
        if self.kind == "mlp" and (self.obs_dim < 1 or self.num_actions < 1):
            raise ValueError(f"mlp needs obs_dim >= 1 and num_actions >= 1, got {self.obs_dim}, "
                             f"{self.num_actions}")
        if self.kind == "cards" and not (self.max_card >= 1 and self.num_players >= 2 and self.max_hand >= 1):
            raise ValueError(f"cards needs max_card >= 1, num_players >= 2 and max_hand >= 1, got "
                             f"{self.max_card}, {self.num_players}, {self.max_hand}")


class _ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x))) * m
        y = self.bn2(self.conv2(y)) * m
        return F.relu(x + y)


def _pool(x_BCHW: torch.Tensor, m_B1HW: torch.Tensor) -> torch.Tensor:
    """KataGo global pooling over the real points: [mean, mean * (sqrt(area) - 14) / 10, max] -> [B, 3C]."""
    area = m_B1HW.sum(dim=(2, 3))
    mean = x_BCHW.sum(dim=(2, 3)) / area
    scaled = mean * (area.sqrt() - 14.0) / 10.0
    mx = x_BCHW.masked_fill(m_B1HW == 0, float("-inf")).amax(dim=(2, 3))
    return torch.cat([mean, scaled, mx], dim=1)


class ResNet(nn.Module):
    """Convolutional policy/value net (module docstring)."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.stem = nn.Conv2d(cfg.in_channels, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.blocks = nn.ModuleList(_ResBlock(c) for _ in range(cfg.blocks))
        self.policy_conv = nn.Conv2d(c, 2, 1, bias=False)
        self.policy_bn = nn.BatchNorm2d(2)
        s2 = cfg.board_size**2
        if cfg.global_pool:
            self.policy_point = nn.Conv2d(2, 1, 1)
            self.policy_pass = nn.Linear(3 * c, 1)
            self.value_fc = nn.Linear(3 * c, cfg.value_hidden)
        else:
            self.value_conv = nn.Conv2d(c, 2, 1, bias=False)
            self.value_bn = nn.BatchNorm2d(2)
            self.policy_fc = nn.Linear(2 * s2, s2 + 1)
            self.value_fc = nn.Linear(2 * s2, cfg.value_hidden)
        self.value_out = nn.Linear(cfg.value_hidden, 1)

    def forward(self, obs_BCHW: torch.Tensor,
                board_mask_BHW: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        b, ch, h, w = obs_BCHW.shape
        if ch != cfg.in_channels or h > cfg.board_size or w > cfg.board_size or (
                not cfg.global_pool and (h, w) != (cfg.board_size, cfg.board_size)):
            raise ValueError(f"observation shape {tuple(obs_BCHW.shape[1:])} does not fit this net "
                             f"({cfg.in_channels} planes, board size {cfg.board_size}, "
                             f"global_pool={cfg.global_pool})")
        if board_mask_BHW is None:
            m = obs_BCHW.new_ones((b, 1, h, w))
        else:
            m = board_mask_BHW.to(obs_BCHW.dtype).reshape(b, 1, h, w)
        x = F.relu(self.stem_bn(self.stem(obs_BCHW * m))) * m
        for blk in self.blocks:
            x = blk(x, m)
        p = F.relu(self.policy_bn(self.policy_conv(x))) * m
        if cfg.global_pool:
            pooled = _pool(x, m)
            points = self.policy_point(p).reshape(b, h * w)
            logits = torch.cat([points, self.policy_pass(pooled)], dim=1)
            value = self.value_out(F.relu(self.value_fc(pooled)))
        else:
            logits = self.policy_fc(p.reshape(b, -1))
            v = F.relu(self.value_bn(self.value_conv(x)))
            value = self.value_out(F.relu(self.value_fc(v.reshape(b, -1))))
        return logits, torch.tanh(value.reshape(b))


class ResidualMLP(nn.Module):
    """Residual MLP policy/value net for flat observations (module docstring)."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.stem = nn.Linear(cfg.obs_dim, c)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(c), nn.Linear(c, c), nn.ReLU(), nn.Linear(c, c))
            for _ in range(cfg.blocks)
        )
        self.norm = nn.LayerNorm(c)
        self.policy = nn.Linear(c, cfg.num_actions)
        self.value_fc = nn.Linear(c, cfg.value_hidden)
        self.value_out = nn.Linear(cfg.value_hidden, 1)

    def forward(self, obs_BD: torch.Tensor,
                board_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = obs_BD.reshape(len(obs_BD), -1)
        if x.shape[1] != self.cfg.obs_dim:
            raise ValueError(f"observation size {x.shape[1]} does not fit this net "
                             f"(obs_dim {self.cfg.obs_dim})")
        x = F.relu(self.stem(x))
        for blk in self.blocks:
            x = x + blk(x)
        x = F.relu(self.norm(x))
        value = self.value_out(F.relu(self.value_fc(x))).reshape(len(x))
        return self.policy(x), torch.tanh(value)


class CardNet(nn.Module):
    """Card-structured policy/value net for 6 nimmt! (module docstring)."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        from zeroleague.baselines.policies import CardTrunk

        self.cfg = cfg
        self.trunk = CardTrunk(cfg.max_card, cfg.num_players, cfg.max_hand, cfg.channels)
        self.value_fc = nn.Linear(cfg.channels, cfg.value_hidden)
        self.value_out = nn.Linear(cfg.value_hidden, 1)

    def forward(self, obs_BD: torch.Tensor,
                board_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = obs_BD.reshape(len(obs_BD), -1)
        if x.shape[1] != self.trunk.obs_dim:
            raise ValueError(f"observation size {x.shape[1]} does not fit this net (obs_dim {self.trunk.obs_dim})")
        logits, ctx = self.trunk.card_logits(*self.trunk.card_features(x))
        value = self.value_out(F.relu(self.value_fc(ctx))).reshape(len(x))
        return logits, torch.tanh(value)


def build_network(cfg: NetConfig) -> nn.Module:
    """The network described by ``cfg``."""
    return {"resnet": ResNet, "mlp": ResidualMLP, "cards": CardNet}[cfg.kind](cfg)


def pad_planes(obs_BCSS: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad S x S planes to ``size`` x ``size`` (bottom/right) -> (padded planes, board mask [B, size,
    size]) with 1 on the S x S real points, for a global-pooling ResNet of ``board_size >= size``."""
    b, c, s, s2 = obs_BCSS.shape
    if s != s2 or s > size:
        raise ValueError(f"cannot pad {s}x{s2} planes to {size}x{size}")
    out = obs_BCSS.new_zeros((b, c, size, size))
    out[:, :, :s, :s] = obs_BCSS
    mask = obs_BCSS.new_zeros((b, size, size))
    mask[:, :s, :s] = 1
    return out, mask


def unpad_policy(logits_BA: torch.Tensor, board_size: int, padded_size: int) -> torch.Tensor:
    """Map policy logits of a ``padded_size`` board (``padded_size² + 1``, pass last) back to the
    ``board_size² + 1`` actions of the real board (row-major points, then pass)."""
    b = logits_BA.shape[0]
    if logits_BA.shape[1] != padded_size**2 + 1 or board_size > padded_size:
        raise ValueError(f"logits of width {logits_BA.shape[1]} are not those of a "
                         f"{padded_size}x{padded_size} board holding {board_size}x{board_size}")
    points = logits_BA[:, :-1].reshape(b, padded_size, padded_size)[:, :board_size, :board_size]
    return torch.cat([points.reshape(b, board_size * board_size), logits_BA[:, -1:]], dim=1)
