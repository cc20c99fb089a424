"""SOC: MODNet fine-tunes itself on unlabeled frames by making its predictions agree.

The loop of the official ``soc_adaptation_iter``, on the CPU or a GPU: batches of one frame,
Adam (lr 1e-5, betas 0.9 and 0.99), norm layers frozen, and at the start of each epoch a frozen
copy of the network (the backup) whose detail prediction and matte hold the boundaries. It
stops after ``epochs`` epochs or earlier at a budget of iterations or seconds.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..network.model import MODNet
from .checkpoint import DISTILLED_HEADS, load_for_soc, official_state
from .frames import FrameSource, check_working_size, read_frames, to_tensor_batch
from .heads import Heads, SubObjectiveNet
from .losses import SOCWeights, soc_losses
from .regularisers import Anchor, WeightAverage

DEFAULT_WORKING_SIZE = 256
DEFAULT_EPOCHS = 1
DEFAULT_LEARNING_RATE = 1e-5
ADAM_BETAS = (0.9, 0.99)
DEFAULT_ANCHOR_WEIGHT = 0.0
DEFAULT_AVERAGE_DECAY = 0.0
DEFAULT_FREEZE_BACKBONE = False


@dataclass(frozen=True)
class SOCSettings:
    """How SOC runs. ``max_iterations`` and ``max_seconds`` (None: no limit) end it before
    ``epochs`` epochs; ``working_size`` is the frames' short side (a multiple of 32).

    What keeps the result close to the original network (see :mod:`modnet.soc.regularisers`):
    ``anchor_weight``, the L2-SP penalty's weight (0: none); ``average_decay``, the decay of
    the weights' moving average that replaces the last weights (0: none); ``freeze_backbone``,
    whether only the branches and heads learn, the MobileNetV2 encoder staying as it is.
    """

    epochs: int = DEFAULT_EPOCHS
    max_iterations: int | None = None
    max_seconds: float | None = None
    learning_rate: float = DEFAULT_LEARNING_RATE
    loss_weights: SOCWeights = field(default_factory=SOCWeights)
    working_size: int = DEFAULT_WORKING_SIZE
    anchor_weight: float = DEFAULT_ANCHOR_WEIGHT
    average_decay: float = DEFAULT_AVERAGE_DECAY
    freeze_backbone: bool = DEFAULT_FREEZE_BACKBONE
    seed: int = 0
    device: str = "cpu"
    progress: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError(f"epochs: expected an integer >= 1, got {self.epochs!r}")
        if self.max_iterations is not None and not (
            isinstance(self.max_iterations, int) and self.max_iterations >= 1
        ):
            raise ValueError(
                f"max_iterations: expected an integer >= 1 or None, got {self.max_iterations!r}"
            )
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds: expected a number > 0 or None, got {self.max_seconds}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate: expected a number > 0, got {self.learning_rate}")
        check_working_size(self.working_size)
        if not (isinstance(self.anchor_weight, int | float) and self.anchor_weight >= 0):
            raise ValueError(f"anchor_weight: expected a number >= 0, got {self.anchor_weight!r}")
        if not (isinstance(self.average_decay, int | float) and 0 <= self.average_decay < 1):
            raise ValueError(
                f"average_decay: expected a number in [0, 1), got {self.average_decay!r}"
            )
        if not isinstance(self.freeze_backbone, bool):
            raise ValueError(
                f"freeze_backbone: expected True or False, got {self.freeze_backbone!r}"
            )
        if not self.device.startswith(("cpu", "cuda")):
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device: {self.device!r} asked for, but no CUDA device is usable")


@dataclass
class SOCReport:
    """What an adaptation did: iterations run, seconds, the loss of each iteration (semantic,
    detail) and where the heads came from ("checkpoint" or "distilled")."""

    iterations: int = 0
    seconds: float = 0.0
    losses: list[tuple[float, float]] = field(default_factory=list)
    heads: str = ""


def _frozen_copy(model: SubObjectiveNet) -> SubObjectiveNet:
    backup = copy.deepcopy(model).eval()
    backup.requires_grad_(False)
    return backup


def _predictions(
    model: SubObjectiveNet, backup: SubObjectiveNet, image: torch.Tensor, frozen_backbone: bool
) -> tuple[torch.Tensor, ...]:
    """(semantic, detail, matte) of ``model`` and (detail, matte) of ``backup`` on ``image``;
    a frozen backbone is the same in both, so it encodes once and learns nothing."""
    if frozen_backbone:
        with torch.no_grad():
            encoded = model.network.backbone(image)
            _, backup_detail, backup_matte = backup.decode(image, *encoded)
        return (*model.decode(image, *encoded), backup_detail, backup_matte)
    with torch.no_grad():
        _, backup_detail, backup_matte = backup(image)
    return (*model(image), backup_detail, backup_matte)


def adapt_network(
    network: MODNet, heads: Heads, frames: list[np.ndarray], settings: SOCSettings
) -> SOCReport:
    """Adapts ``network`` and ``heads`` in place to RGB uint8 ``frames`` whose sides are
    multiples of 32 (see :func:`modnet.soc.frames.read_frames`)."""
    torch.manual_seed(settings.seed)
    order = np.random.default_rng(settings.seed)
    device = torch.device(settings.device)
    model = SubObjectiveNet(network, heads).to(device)
    model.train()
    model.freeze_norm()
    if settings.freeze_backbone:
        model.network.backbone.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=settings.learning_rate, betas=ADAM_BETAS)
    anchor = Anchor(trainable, settings.anchor_weight)
    average = WeightAverage(trainable, settings.average_decay)
    # The frames of each epoch in a new random order; a backup is taken as each epoch starts.
    schedule = np.concatenate([order.permutation(len(frames)) for _ in range(settings.epochs)])
    if settings.max_iterations is not None:
        schedule = schedule[: settings.max_iterations]
    report = SOCReport()
    start = time.perf_counter()
    with tqdm(schedule, "SOC", unit="frame", disable=not settings.progress) as bar:
        for step, index in enumerate(bar):
            if step % len(frames) == 0:
                backup = _frozen_copy(model)
            image = torch.from_numpy(to_tensor_batch([frames[index]])).to(device)
            semantic, detail, matte, backup_detail, backup_matte = _predictions(
                model, backup, image, settings.freeze_backbone
            )
            semantic_loss, detail_loss = soc_losses(
                semantic, detail, matte, backup_detail, backup_matte, settings.loss_weights
            )
            loss = semantic_loss + detail_loss
            if (penalty := anchor.penalty()) is not None:
                loss = loss + penalty
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            average.update()
            report.losses.append((semantic_loss.item(), detail_loss.item()))
            report.iterations += 1
            report.seconds = time.perf_counter() - start
            bar.set_postfix(semantic=f"{semantic_loss:.4f}", detail=f"{detail_loss:.4f}")
            if settings.max_seconds is not None and report.seconds >= settings.max_seconds:
                break
    average.apply()
    model.cpu().eval()
    return report


def adapt(
    weights: str | Path,
    frames: FrameSource,
    out: str | Path,
    settings: SOCSettings = SOCSettings(),
    distilled_heads: str | Path | None = DISTILLED_HEADS,
    max_frames: int | None = None,
) -> SOCReport:
    """Adapts the checkpoint ``weights`` to ``frames`` (a video file, a folder of images or
    arrays) and writes the result to ``out`` in the format of ``weights`` (the official one:
    ``module.`` keys, both backbone registrations, the heads), loadable as any checkpoint.

    The checkpoint's own heads are used when trained, else ``distilled_heads``; neither raises
    :class:`modnet.soc.checkpoint.UntrainedHeadsError` before any frame is read.
    """
    network, heads, origin, template = load_for_soc(weights, distilled_heads)
    report = adapt_network(
        network, heads, read_frames(frames, settings.working_size, max_frames), settings
    )
    report.heads = origin
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(official_state(network, heads, template), out)
    return report
