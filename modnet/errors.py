"""Errors shared by the torch-free and torch modules."""

from __future__ import annotations


class CheckpointError(ValueError):
    """The file is not a MODNet checkpoint this network can load."""


class NonFiniteOutputError(RuntimeError):
    """The network produced NaN or infinite values: its weights are unfit."""

    @classmethod
    def for_output(cls) -> NonFiniteOutputError:
        return cls(
            "the network's output holds NaN or infinite values, so the weights are unfit; "
            "use the released MODNet checkpoint"
        )
