"""What keeps an adapted network close to the one it started from.

SOC's losses only ask the network's predictions to agree on the user's frames; nothing in them
stops the weights from drifting away from what the photo training taught, which costs matte
quality on everything else. Two remedies beside fewer or smaller steps:

- L2-SP (Li et al., 2018): a penalty ``weight * sum((w - w0) ** 2)`` over the learnt
  parameters pulls them towards their starting values ``w0``;
- an exponential moving average of the weights, kept from the start, replaces the last iterate
  when adaptation ends: the early, closer weights keep a share of the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class Anchor:
    """The L2-SP penalty of ``parameters`` towards their values when the anchor was made."""

    def __init__(self, parameters: Sequence[torch.nn.Parameter], weight: float) -> None:
        self.parameters = list(parameters)
        self.weight = weight
        self.origin = [p.detach().clone() for p in self.parameters] if weight > 0 else []

    def penalty(self) -> torch.Tensor | None:
        """``weight * sum((w - w0) ** 2)``, or None when the weight is 0."""
        if not self.origin:
            return None
        distance = sum(
            ((p - p0) ** 2).sum() for p, p0 in zip(self.parameters, self.origin, strict=True)
        )
        return self.weight * distance


class WeightAverage:
    """An exponential moving average of ``parameters``: ``a <- decay * a + (1 - decay) * w``
    after each step, ``a`` starting at the parameters' values; decay 0 keeps the last step."""

    def __init__(self, parameters: Sequence[torch.nn.Parameter], decay: float) -> None:
        self.parameters = list(parameters)
        self.decay = decay
        self.average = [p.detach().clone() for p in self.parameters] if decay > 0 else []

    @torch.no_grad()
    def update(self) -> None:
        if not self.average:
            return
        for average, parameter in zip(self.average, self.parameters, strict=True):
            average.lerp_(parameter, 1.0 - self.decay)

    @torch.no_grad()
    def apply(self) -> None:
        """Sets the parameters to their average (nothing with decay 0)."""
        if not self.average:
            return
        for average, parameter in zip(self.average, self.parameters, strict=True):
            parameter.copy_(average)
