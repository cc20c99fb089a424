"""``precision`` = ``int8``: ONNX Runtime on a static INT8 model of the branches after the
backbone, built once per checkpoint and cached beside its ONNX export.

The checked float32 export is quantized by ONNX Runtime's ``quantize_static``: QDQ format,
per-channel int8 weights, uint8 activations, min-max ranges calibrated on the images of
:mod:`modnet.runtime.calibration` (the shipped samples only). The MobileNetV2 backbone's nodes
stay in float32, as with bfloat16: the backbone holds a tenth of the multiply-adds and reduced
precision there moves the matte most (the three tensors it shares with the other branches, the
input and two of its feature maps, reach it rounded to uint8 as those branches read them).
The model is checked against the float32 export on the sample photo before it is kept; the
cache verifies its bytes on every load after that, so a cached model runs without PyTorch and
without calibrating again.

Only ONNX Runtime runs it: OpenVINO (2026.4.1 when measured) reads the same QDQ model and
returns a wrong matte (``scripts/benchmarks/benchmark_int8.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .calibration import calibration_inputs
from .export import BACKBONE_SCOPE, EXPORT_VERSION, check_error, export_cache
from .export_cache import ExportCache
from .onnx_runner import OnnxRuntimeRunner, onnx_runner

logger = logging.getLogger(__name__)

# Bump when the quantization or its calibration changes, so that cached models are rebuilt.
INT8_VERSION = "1"
# Mean alpha difference from the float32 export allowed on the sample photo: the dev photos'
# mean moved by about 0.002 (see the README's INT8 table); a broken model moves it by tenths.
INT8_MEAN_TOLERANCE = 0.01


def int8_cache(cache_dir: Path) -> ExportCache:
    """The INT8 models, keyed by the checkpoint's bytes, the export's and the quantization's
    versions and ONNX Runtime's (whose quantizer makes them)."""
    import onnxruntime

    version = f"{EXPORT_VERSION}.{INT8_VERSION} onnxruntime={onnxruntime.__version__}"
    return ExportCache(cache_dir, prefix="modnet-int8", suffix=".onnx", version=version)


def backbone_nodes(onnx_path: Path) -> list[str]:
    import onnx

    return [
        n.name for n in onnx.load(str(onnx_path)).graph.node if n.name.startswith(BACKBONE_SCOPE)
    ]


def quantize(fp32: Path, int8: Path, inputs: list[np.ndarray]) -> None:
    """Writes the QDQ INT8 model of the float32 export ``fp32`` to ``int8``, its backbone left
    in float32, calibrated on the network ``inputs``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.items, None)
            return None if x is None else {"input": x}

    quantize_static(
        str(fp32),
        str(int8),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=backbone_nodes(fp32),
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={"CalibMovingAverage": False},
    )


def int8_error(int8: OnnxRuntimeRunner, fp32: OnnxRuntimeRunner, x: np.ndarray) -> float:
    """Mean absolute alpha difference between the two runners on ``x`` (NaN if not finite)."""
    return float(np.abs(int8(x) - fp32(x)).mean())


def int8_runner(weights: Path, cache_dir: Path) -> OnnxRuntimeRunner:
    """ONNX Runtime on the cached INT8 model of ``weights``, quantized from the float32 export
    (made first if needed) when there is none."""
    cache = int8_cache(cache_dir)
    key = cache.key(weights)
    path = cache.find(key)
    if path is not None:
        try:
            return OnnxRuntimeRunner(path, "cpu", precision="int8")
        except Exception as error:  # onnxruntime raises its own types
            logger.warning("cannot load the INT8 model %s (%s): it is rebuilt", path, error)
            path.unlink(missing_ok=True)
    fp32 = onnx_runner(weights, "cpu", cache_dir)
    source = export_cache(cache_dir).find(export_cache(cache_dir).key(weights))
    if source is None:  # removed by another process since
        raise RuntimeError(f"the ONNX export of {weights} in {cache_dir} disappeared")
    checked: list[OnnxRuntimeRunner] = []

    def build(part: Path) -> None:
        inputs = calibration_inputs()
        quantize(source, part, inputs)
        runner = OnnxRuntimeRunner(part, "cpu", precision="int8")
        error = int8_error(runner, fp32, inputs[0])
        what = f"the INT8 model of {weights} moves the sample's alpha on average"
        check_error(error, INT8_MEAN_TOLERANCE, what, "use precision 'fp32'")
        checked.append(runner)

    logger.info("Quantizing MODNet to INT8 in %s (once per checkpoint)", cache_dir)
    try:
        cache.store(key, build)
    except OSError as error:
        raise type(error)(
            f"no INT8 model of {weights} in {cache_dir}, and none can be written there "
            f"({error}): make the folder writable (or choose another cache_dir), or use "
            "precision 'fp32'",
        ) from error
    return checked[0]
