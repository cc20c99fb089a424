"""Where the weights come from: an explicit file, the plugin's ``weights/`` folder, or a
download from Ikomia's model hub that is verified before it is kept."""

from __future__ import annotations

import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CheckpointError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """A released MODNet checkpoint and what is known about it."""

    filename: str
    hub_folder: str
    license: str
    meta: dict[str, object] = field(default_factory=dict)

    def url(self, hub_url: str) -> str:
        return f"{hub_url.rstrip('/')}/{self.hub_folder}/{self.filename}"


PHOTOGRAPHIC = Weights(
    filename="modnet_photographic_portrait_matting.ckpt",
    hub_folder="infer_modnet_portrait_matting",
    license="Apache-2.0 (Zhanghan Ke et al., https://github.com/ZHKKKe/MODNet)",
    meta={
        "trained_on": "photographic portraits (MODNet authors' release)",
        "input": "N x 3 x H x W RGB in [-1, 1], H and W multiples of 32",
        "output": "N x 1 x H x W alpha in [0, 1]",
    },
)


class WeightsError(RuntimeError):
    """The weights could not be found or fetched."""


def check_model_weight_file(model_weight_file: str | os.PathLike[str]) -> Path:
    """The path of an explicitly chosen checkpoint, which must be an existing file."""
    path = Path(model_weight_file).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"model_weight_file: no file at '{path}'; give the path of a MODNet .ckpt "
            "checkpoint, or leave it empty to use the default weights"
        )
    return path


def resolve_weights(
    model_weight_file: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    hub_url: str,
    weights: Weights = PHOTOGRAPHIC,
) -> Path:
    """Path of the checkpoint to load, downloading it into ``folder`` if needed.

    Order: ``model_weight_file`` when set; ``folder/<filename>`` when present; otherwise a
    download from ``hub_url`` into ``folder``.
    """
    if str(model_weight_file):
        return check_model_weight_file(model_weight_file)
    local = Path(folder) / weights.filename
    if local.is_file():
        return local
    return download_weights(weights.url(hub_url), local)


def download_weights(url: str, destination: str | os.PathLike[str], timeout: float = 30.0) -> Path:
    """Downloads a checkpoint to ``destination`` through a temporary file in the same folder,
    renamed only once it loads into MODNet. Nothing is left behind on failure."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out, timeout)
        _check_loads(tmp, url)
        os.replace(tmp, destination)
    # http.client.HTTPException: e.g. IncompleteRead when a chunked response is cut short.
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise WeightsError(
            f"could not download the MODNet weights from {url} ({exc}). Without network access, "
            f"copy {destination.name} to {destination}, or set model_weight_file to its path"
        ) from exc
    except CheckpointError as exc:
        raise WeightsError(
            f"the file downloaded from {url} is corrupt and was discarded: {exc}"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("MODNet weights saved to %s", destination)
    return destination


def _check_loads(path: Path, source: str) -> None:
    # PyTorch is imported here, not at the top: inference from a cached ONNX export needs none.
    from .checkpoint import load_weights, read_state_dict
    from .network import MODNet

    load_weights(MODNet(), read_state_dict(path), source)


def _fetch(url: str, out, timeout: float, chunk_size: int = 1 << 20) -> None:
    logger.info("Downloading MODNet weights from %s", url)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0)
        received, next_report = 0, 0.1
        while chunk := response.read(chunk_size):
            out.write(chunk)
            received += len(chunk)
            if total and received / total >= next_report:
                logger.info(
                    "Downloading MODNet weights: %d%% of %.1f MB",
                    100 * received // total,
                    total / 1e6,
                )
                next_report += 0.1
    if total and received != total:
        raise OSError(f"connection closed after {received} of {total} bytes")
