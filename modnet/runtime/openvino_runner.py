"""MODNet on OpenVINO's CPU runtime, with the MobileNetV2 backbone kept in float32.

The plugin's ONNX export is converted once into two OpenVINO models, cut where the backbone's
three feature maps leave it: the backbone, and the semantic, detail and fusion branches (the
"heads"). Each is compiled with its own precision, so the heads can run in bfloat16 while the
backbone, where reduced precision moves the matte by tens of grey levels (see
``scripts/benchmarks/benchmark_precision.py``), stays in float32. The backbone holds about a
tenth of the multiply-adds, so this keeps most of bfloat16's speed.

The converted models are cached beside the ONNX export with a reference alpha that PyTorch
computed when they were made; every compiled model is checked against it before use, so a
cached model runs without importing PyTorch.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..limits import SHRINK_FACTOR
from .export import BACKBONE_SCOPE, EXPORT_TOLERANCE
from .precision import resolve_precision
from .threads import network_threads

if TYPE_CHECKING:
    import openvino as ov

    from ..network import MODNet

logger = logging.getLogger(__name__)

PARTS = ("backbone", "heads")
REFERENCE_NAME = "reference.npy"
COMPILED_NAME = "compiled"
# Alpha difference from PyTorch allowed on the check input: float32 must reproduce PyTorch as
# the ONNX export does (max, EXPORT_TOLERANCE); bfloat16 heads are held to the mean difference,
# since a few pixels move by up to a few hundredths there (broken kernels move all of them).
BF16_MEAN_TOLERANCE = 1e-3
# oneDNN's instruction-set cap (used to emulate older CPUs) below the first with bfloat16
# arithmetic. OpenVINO reports the CPU's own capabilities regardless of the cap.
ISAS_WITHOUT_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI"}


def native_bf16(core: ov.Core) -> bool:
    """True when the CPU computes bfloat16 natively (AVX-512 BF16 or AMX)."""
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ISAS_WITHOUT_BF16
    return not capped and "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def check_input() -> np.ndarray:
    """The fixed input on which compiled models are compared with PyTorch."""
    return np.random.default_rng(0).uniform(-1, 1, (1, 3, 96, 128)).astype(np.float32)


class OpenVinoRunner:
    """The two compiled parts of the network in ``folder``: the backbone in float32, the heads
    in ``precision`` (``fp32`` or ``bf16``; ``auto``: bf16 where the CPU has it).

    OpenVINO's CPU plugin keeps, for the life of a compiled model, the buffers of the largest
    input it has run: 1.2 GB more after a 1 x 5000 strip, for good (see :meth:`fit_memory`)."""

    name = "openvino"

    def __init__(self, folder: Path, precision: str = "auto") -> None:
        import openvino as ov

        missing = [part for part in PARTS if not (folder / f"{part}.xml").is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: no {' or '.join(missing)} model")
        self.folder = folder
        self.core = ov.Core()
        # Compiled models are cached too: loading one takes a fifth of the time compiling takes.
        self.core.set_property({"CACHE_DIR": str(folder / COMPILED_NAME)})
        self.precision = resolve_precision(precision, native_bf16(self.core))
        self.requests = self._compile()
        # The largest input (in pixels) run since the models were compiled.
        self.held_pixels = 0

    def _compile(self) -> list[ov.InferRequest]:
        hints = {"backbone": "f32", "heads": "f32" if self.precision == "fp32" else "bf16"}
        threads = network_threads()
        common = {"PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            common["INFERENCE_NUM_THREADS"] = threads
        return [
            self.core.compile_model(
                str(self.folder / f"{part}.xml"),
                "CPU",
                {"INFERENCE_PRECISION_HINT": hints[part], **common},
            ).create_infer_request()
            for part in PARTS
        ]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        self.held_pixels = max(self.held_pixels, x.shape[-2] * x.shape[-1])
        backbone, heads = self.requests
        # share_inputs: the heads read the backbone's feature maps where they are, uncopied.
        features = backbone.infer([x], share_inputs=True)
        return heads.infer([x, *features.values()], share_inputs=True)[0].copy()

    def fit_memory(self, pixels: int) -> None:
        """Gives back the memory kept for inputs of more than ``SHRINK_FACTOR`` times
        ``pixels``, the largest input an image needed: the models are compiled afresh from the
        cache (0.3 to 0.4 s on a 2-core AMD EPYC), dropping the old ones and their buffers
        (``CompiledModel.release_memory`` left about 30% more in use than a fresh model).
        Called once per image, not per pass: an image's passes differ in size by design."""
        if self.held_pixels <= SHRINK_FACTOR * pixels:
            return
        self.requests = []  # the old models go before the new ones are made
        self.requests = self._compile()
        self.held_pixels = 0

    def error(self, reference: np.ndarray) -> float:
        """The difference from PyTorch's ``reference`` alpha that this precision is held to."""
        difference = np.abs(self(check_input()) - reference)
        return float(difference.max() if self.precision == "fp32" else difference.mean())

    @property
    def tolerance(self) -> float:
        return EXPORT_TOLERANCE if self.precision == "fp32" else BF16_MEAN_TOLERANCE


def split_at_backbone(model: ov.Model, boundary: list[str]) -> tuple[ov.Model, ov.Model]:
    """``model`` cut at the tensors named ``boundary``: (input -> those tensors, input and
    those tensors -> output)."""
    import openvino as ov

    heads = model.clone()
    backbone = ov.Model([_output_named(model, name) for name in boundary], model.get_parameters())
    features = []
    for name in boundary:
        output = _output_named(heads, name)
        feature = ov.op.Parameter(output.get_element_type(), output.get_partial_shape())
        feature.output(0).set_names({name})
        for consumer in list(output.get_target_inputs()):
            consumer.replace_source_output(feature.output(0))
        features.append(feature)
    # The backbone's nodes now feed nothing that reaches the output, so they drop out.
    return backbone, ov.Model(heads.get_results(), [*heads.get_parameters(), *features])


def _output_named(model: ov.Model, name: str) -> ov.Output:
    for node in model.get_ordered_ops():
        for output in node.outputs():
            if name in output.get_names():
                return output
    raise RuntimeError(f"the ONNX export has no tensor named {name}")


def backbone_outputs(onnx_path: Path) -> list[str]:
    """Names of the tensors that the backbone's nodes pass to the rest of the network."""
    import onnx

    nodes = onnx.load(str(onnx_path)).graph.node
    inside = {out for node in nodes if node.name.startswith(BACKBONE_SCOPE) for out in node.output}
    outside = [node for node in nodes if not node.name.startswith(BACKBONE_SCOPE)]
    return sorted({name for node in outside for name in node.input if name in inside})


def convert(model: MODNet, folder: Path) -> None:
    """Writes the two OpenVINO parts of ``model`` and PyTorch's reference alpha to ``folder``.
    They are written to a temporary folder and moved into place only once they reproduce
    PyTorch in float32, so a failed conversion leaves nothing."""
    import openvino as ov

    from .export import export_onnx
    from .torch_runner import TorchRunner

    folder.parent.mkdir(parents=True, exist_ok=True)
    # Made like any new folder (mkdtemp's would be private to this user, unlike the ONNX export).
    staging = folder.with_name(f".{folder.name}.{secrets.token_hex(6)}.part")
    staging.mkdir()
    try:
        onnx_path = export_onnx(model, staging / "modnet.onnx")
        parts = split_at_backbone(ov.Core().read_model(onnx_path), backbone_outputs(onnx_path))
        for part, graph in zip(PARTS, parts, strict=True):
            ov.save_model(graph, staging / f"{part}.xml", compress_to_fp16=False)
        onnx_path.unlink()
        np.save(staging / REFERENCE_NAME, TorchRunner(model, "cpu")(check_input()))
        check(OpenVinoRunner(staging, "fp32"), staging)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check(runner: OpenVinoRunner, folder: Path) -> OpenVinoRunner:
    """``runner``, once it has matched the reference alpha in ``folder`` within its
    precision's tolerance; RuntimeError otherwise."""
    error = runner.error(np.load(folder / REFERENCE_NAME))
    if error > runner.tolerance:
        raise RuntimeError(
            f"OpenVINO in {runner.precision} differs from PyTorch by {error:.2g} "
            f"(> {runner.tolerance:g})"
        )
    return runner


def conversion_folder(weights: Path, cache_dir: Path) -> Path:
    """Where the conversion of ``weights`` is cached: named, like the ONNX exports, after the
    checkpoint's bytes and the export's recipe, so that other weights or another recipe get a
    conversion of their own."""
    from .export import export_cache

    return cache_dir / f"modnet-{export_cache(cache_dir).key(weights)}-openvino"


def openvino_runner(weights: Path, cache_dir: Path, precision: str = "auto") -> OpenVinoRunner:
    """OpenVINO on the cached conversion of ``weights``, checked against PyTorch's reference
    alpha. A missing or unreadable conversion is (re)made from the checkpoint."""
    from .export import load_model

    folder = conversion_folder(weights, cache_dir)
    try:
        runner = OpenVinoRunner(folder, precision)
    except Exception as error:  # OpenVINO raises its own types for missing or unreadable files
        if folder.exists():
            logger.warning("cannot read %s (%s): converting again", folder, error)
        logger.info("Converting MODNet to OpenVINO: %s", folder)
        convert(load_model(weights), folder)
        runner = OpenVinoRunner(folder, precision)
    return check(runner, folder)
