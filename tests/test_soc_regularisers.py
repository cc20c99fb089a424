"""What keeps SOC close to the original weights: the L2-SP penalty and the weights' average."""

from __future__ import annotations

import pytest
import torch

from modnet.soc.regularisers import Anchor, WeightAverage


def parameters() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.tensor([1.0, -2.0])), torch.nn.Parameter(torch.ones(2, 2))]


def test_the_anchor_penalty_is_the_weighted_squared_distance_to_the_start():
    params = parameters()
    anchor = Anchor(params, weight=0.5)
    assert anchor.penalty().item() == 0.0
    with torch.no_grad():
        params[0] += torch.tensor([0.1, -0.2])
        params[1] += 0.3
    expected = 0.5 * (0.1**2 + 0.2**2 + 4 * 0.3**2)
    penalty = anchor.penalty()
    assert penalty.item() == pytest.approx(expected, rel=1e-5)
    penalty.backward()  # its gradient pulls back: 2 * weight * (w - w0)
    assert torch.allclose(params[1].grad, torch.full((2, 2), 0.3))


def test_a_zero_anchor_weight_adds_nothing():
    assert Anchor(parameters(), weight=0.0).penalty() is None


def test_the_average_follows_the_weights_with_its_decay():
    params = parameters()
    start = params[0].detach().clone()
    average = WeightAverage(params, decay=0.75)
    with torch.no_grad():
        params[0].fill_(3.0)
    average.update()
    average.update()
    # a <- 0.75 a + 0.25 w, twice, from a0 = w0: a = 0.5625 w0 + 0.4375 w
    average.apply()
    assert torch.allclose(params[0], 0.5625 * start + 0.4375 * 3.0)


def test_a_zero_decay_keeps_the_last_weights():
    params = parameters()
    average = WeightAverage(params, decay=0.0)
    with torch.no_grad():
        params[0].fill_(3.0)
    average.update()
    average.apply()
    assert torch.equal(params[0], torch.full((2,), 3.0))
