"""Batched neural evaluation: a torch model on a device, numpy in and out, one forward pass per call.

Self-play, evaluation, tournaments and GTP play all evaluate positions through an ``Evaluator``. The model
maps a float32 batch ``obs_B...`` to ``(logits_BA, value_B)`` (value may also be ``[B, 1]``); the evaluator
masks the logits to the legal actions and returns softmax priors and the values, from the perspective the
model was trained with (the search's convention: the player to move).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``cuda`` when available else ``cpu`` for None; otherwise the named device, checked to exist here.

    A ValueError names a device string torch does not know, or a device this machine does not have."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"unknown device {device!r}: {e}") from e
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return dev
    if dev.type == "mps" and torch.backends.mps.is_available():
        return dev
    raise ValueError(f"device {device!r} is not available here (use 'cpu' or 'cuda')")


FIXED_BATCH = 32
"""The forward-pass size agents use in harness games (``Evaluator.fixed_batch``)."""


class Evaluator:
    """Wraps ``model`` (moved to ``device``, put in eval mode). Counts ``forward_calls`` and ``samples``
    (positions evaluated) for compute accounting."""

    def __init__(self, model: nn.Module, device: str | torch.device | None = None):
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.forward_calls = 0
        self.samples = 0
        self.fixed_batch: int | None = None
        """When set (CPU only): forward passes of exactly this many rows (the last chunk padded), so a row's
        priors and value do not depend on the other rows of the call. A CPU kernel's float rounding depends on
        the batch size, which made searches at different batchings diverge; at a fixed size of 16, 32 or 64 rows
        the outputs were bitwise the same whatever the rows' order (the Go and 6 nimmt! nets, checked). Agents
        set ``FIXED_BATCH`` for harness games (keyed decisions): 1.2-1.5x the one-call time at large batches."""

    def evaluate(self, observations: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(priors float32[B, A], values float32[B])`` for B observations and legal masks ``bool[B, A]``.

        Priors are the softmax of the model's logits over the legal actions (exactly 0 elsewhere). One batched
        ``torch.inference_mode()`` forward pass (none for B = 0). Raises ValueError for mismatched shapes, a
        row with no legal action, or a model output of the wrong shape."""
        obs = np.asarray(observations, dtype=np.float32)
        mask = np.asarray(masks, dtype=bool)
        if mask.ndim != 2 or obs.ndim < 1 or len(obs) != len(mask):
            raise ValueError(f"need observations [B, ...] and masks [B, A], got {obs.shape} and {mask.shape}")
        b, a = mask.shape
        if b == 0:
            return np.zeros((0, a), np.float32), np.zeros(0, np.float32)
        if not mask.any(axis=1).all():
            raise ValueError(f"rows {np.flatnonzero(~mask.any(axis=1)).tolist()} have no legal action")
        with torch.inference_mode():
            x = torch.from_numpy(obs).to(self.device)
            logits, value = self._forward(x, b)
            if tuple(logits.shape) != (b, a) or value.numel() != b or value.shape[0] != b:
                raise ValueError(
                    f"model returned logits {tuple(logits.shape)} and value {tuple(value.shape)}; "
                    f"expected ({b}, {a}) and ({b},) or ({b}, 1)"
                )
            legal = torch.from_numpy(mask).to(self.device)
            priors = torch.softmax(logits.float().masked_fill(~legal, float("-inf")), dim=1)
            values = value.reshape(b).float()
            out = priors.cpu().numpy(), values.cpu().numpy()
        self.forward_calls += 1
        self.samples += b
        return out

    def _forward(self, x: torch.Tensor, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.fixed_batch
        if not c or self.device.type != "cpu":
            return self.model(x)
        pad = (-b) % c
        if pad:
            x = torch.cat([x, x[:1].expand(pad, *x.shape[1:])])
        outs = [self.model(x[i : i + c]) for i in range(0, b + pad, c)]
        logits = torch.cat([o[0] for o in outs])[:b]
        value = torch.cat([o[1].reshape(len(o[1]), -1) for o in outs])[:b]
        return logits, value
