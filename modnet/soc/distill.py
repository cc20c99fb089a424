"""Self-distillation of the training heads from the frozen network's own matte.

A checkpoint rebuilt from the ONNX export has zero heads. With the network frozen, the heads
learn what SOC later asks of them on unlabeled portraits: the semantic head the blurred, 1/16
matte, the detail head the matte inside its transition band. Only the heads train, so the
network's features of each training image are computed once and reused on every step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from tqdm import tqdm

from ..network.model import MODNet
from .frames import to_tensor_batch
from .heads import Heads, SubObjectiveNet
from .losses import distillation_losses

CROP_SIZE = 256  # a multiple of 32: training crops are square, CROP_SIZE x CROP_SIZE
MIN_CROP_SHARE = 0.5  # a crop covers at least this share of the image's short side


@dataclass(frozen=True)
class DistillSettings:
    """Crops per image, optimisation steps and batch, Adam's learning rate and the seed."""

    crops_per_image: int = 4
    steps: int = 200
    batch_size: int = 4
    learning_rate: float = 1e-3
    seed: int = 0
    progress: bool = True


def augmented_crops(image: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` random square crops of the RGB uint8 ``image``, resized to CROP_SIZE, some
    mirrored, with random brightness and contrast (as a camera's exposure varies)."""
    height, width = image.shape[:2]
    short = min(height, width)
    crops = []
    for _ in range(count):
        side = int(rng.uniform(MIN_CROP_SHARE, 1.0) * short)
        y, x = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        crop = cv2.resize(
            image[y : y + side, x : x + side], (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA
        )
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        gain, offset = rng.uniform(0.7, 1.3), rng.uniform(-25.0, 25.0)
        crops.append(np.clip(crop.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8))
    return crops


@torch.no_grad()
def _features(model: SubObjectiveNet, crops: list[np.ndarray]) -> list[tuple[torch.Tensor, ...]]:
    """(image, lr8x, hr2x, matte) of each crop, from the frozen network."""
    cached = []
    for crop in crops:
        image = torch.from_numpy(to_tensor_batch([crop]))
        cached.append((image, *model.features(image)))
    return cached


def distill_heads(
    network: MODNet, images: Iterable[np.ndarray], settings: DistillSettings = DistillSettings()
) -> tuple[Heads, list[tuple[float, float]]]:
    """Heads trained on augmented crops of the RGB uint8 ``images`` against ``network``'s
    matte (the network is left unchanged), and the (semantic, detail) loss of each step."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = SubObjectiveNet(network.eval(), Heads())
    model.requires_grad_(False)
    crops = [c for image in images for c in augmented_crops(image, settings.crops_per_image, rng)]
    if not crops:
        raise ValueError("images: expected at least one image to distil the heads from")
    cached = _features(model, crops)
    model.heads.train()
    model.freeze_norm()  # the heads' IBNorm keeps the checkpoint's (identity) statistics
    trainable = [p for name, p in model.heads.named_parameters() if "bnorm" not in name]
    for parameter in trainable:
        parameter.requires_grad_(True)
    optimizer = torch.optim.Adam(trainable, lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.steps)
    losses = []
    for _ in tqdm(range(settings.steps), desc="heads", disable=not settings.progress):
        picks = rng.choice(len(cached), size=min(settings.batch_size, len(cached)), replace=False)
        image, lr8x, hr2x, matte = (
            torch.cat(parts) for parts in zip(*(cached[i] for i in picks), strict=True)
        )
        semantic, detail, _ = model.predict(image, lr8x, hr2x, matte)
        semantic_loss, detail_loss = distillation_losses(semantic, detail, matte)
        optimizer.zero_grad(set_to_none=True)
        (semantic_loss + detail_loss).backward()
        optimizer.step()
        schedule.step()
        losses.append((semantic_loss.item(), detail_loss.item()))
    model.heads.requires_grad_(False)
    return model.heads.eval(), losses
