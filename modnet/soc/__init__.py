"""SOC, the MODNet paper's self-supervised adaptation: a trained MODNet fine-tunes itself on a
user's unlabeled frames by making its semantic, detail and matte predictions agree.

Experimental; see docs/soc.md for what it measured. ``python -m modnet.adapt`` is its command
line.
"""

from .adapt import SOCReport, SOCSettings, adapt, adapt_network
from .checkpoint import DISTILLED_HEADS, UntrainedHeadsError, heads_trained, load_for_soc
from .heads import Heads, SubObjectiveNet
from .losses import SOCWeights

__all__ = [
    "DISTILLED_HEADS",
    "Heads",
    "SOCReport",
    "SOCSettings",
    "SOCWeights",
    "SubObjectiveNet",
    "UntrainedHeadsError",
    "adapt",
    "adapt_network",
    "heads_trained",
    "load_for_soc",
]
