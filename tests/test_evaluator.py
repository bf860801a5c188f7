"""zeroleague.agents.evaluator: device choice, masked priors, value shapes, one forward pass per call, accounting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from zeroleague.agents.evaluator import Evaluator, pick_device


class Linear(nn.Module):
    """Logits = obs @ W, value = tanh(sum obs); counts forward calls."""

    def __init__(self, d: int, a: int, value_shape_1: bool = False):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d, a, generator=torch.Generator().manual_seed(0)))
        self.value_shape_1, self.calls = value_shape_1, 0

    def forward(self, x):
        self.calls += 1
        v = torch.tanh(x.sum(dim=1))
        return x @ self.w, (v[:, None] if self.value_shape_1 else v)


@pytest.mark.parametrize("value_shape_1", [False, True])
def test_masked_softmax_priors_and_values(value_shape_1):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(7, 4)).astype(np.float32)
    masks = rng.random((7, 5)) < 0.5
    masks[:, 2] = True
    model = Linear(4, 5, value_shape_1)
    ev = Evaluator(model, device="cpu")
    priors, values = ev.evaluate(obs, masks)
    assert priors.dtype == np.float32 and priors.shape == (7, 5) and values.dtype == np.float32
    assert values.shape == (7,)
    logits = obs @ model.w.detach().numpy()
    expect = np.where(masks, np.exp(logits - logits.max(1, keepdims=True)), 0.0)
    np.testing.assert_allclose(priors, expect / expect.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)
    assert (priors[~masks] == 0).all()
    np.testing.assert_allclose(values, np.tanh(obs.sum(1)), rtol=1e-5)
    assert model.calls == 1 and (ev.forward_calls, ev.samples) == (1, 7)
    ev.evaluate(obs[:3], masks[:3])
    assert model.calls == 2 and (ev.forward_calls, ev.samples) == (2, 10)
    assert not model.training


def test_empty_batch_needs_no_forward_pass():
    model = Linear(4, 5)
    priors, values = Evaluator(model, "cpu").evaluate(np.zeros((0, 4)), np.zeros((0, 5), bool))
    assert priors.shape == (0, 5) and values.shape == (0,) and model.calls == 0


def test_bad_inputs_and_outputs():
    ev = Evaluator(Linear(4, 5), "cpu")
    with pytest.raises(ValueError, match="no legal action"):
        ev.evaluate(np.zeros((2, 4)), np.array([[True] * 5, [False] * 5]))
    with pytest.raises(ValueError, match="masks"):
        ev.evaluate(np.zeros((2, 4)), np.ones((3, 5), bool))
    with pytest.raises(ValueError, match="expected"):
        ev.evaluate(np.zeros((2, 4)), np.ones((2, 6), bool))


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device 'toaster'"):
        pick_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="CUDA device|CUDA is not available"):
        pick_device("cuda:64")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(64, 4)).astype(np.float32)
    masks = rng.random((64, 5)) < 0.7
    masks[:, 0] = True
    model = Linear(4, 5)
    cpu = Evaluator(model, "cpu").evaluate(obs, masks)
    gpu = Evaluator(model, "cuda").evaluate(obs, masks)
    np.testing.assert_allclose(cpu[0], gpu[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(cpu[1], gpu[1], rtol=1e-4, atol=1e-6)
