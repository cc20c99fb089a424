"""The network alone at 768x512 (a 3:2 photo at the default input size), per backend and
precision: PyTorch with and without folded BatchNorms, ONNX Runtime on the plugin's own export
and on the MODNet authors' export, OpenVINO in float32 and, where the CPU has it, bfloat16; with
the achieved GFLOP/s beside a large float32 matrix product (NumPy), the practical ceiling of the
CPU's fused multiply-adds, and a bfloat16 one (PyTorch) where the CPU has bfloat16.

Inputs are a real PPM-100 photo, decoded and resized before any timing; timed calls are
interleaved round-robin after a warm-up and summarised by their median.

Usage: python scripts/benchmarks/benchmark_network.py [--shared ../shared] [--repeats N]
       [--threads N]

``--threads`` sets PyTorch's intra-op threads (torch.set_num_threads); ONNX Runtime and
OpenVINO keep their default thread count, as the plugin creates them. To see what an AVX2-only
CPU gets, cap the instruction sets: ``ONEDNN_MAX_CPU_ISA=AVX2`` (OpenVINO and PyTorch's oneDNN)
and ``ATEN_CPU_CAPABILITY=avx2`` (PyTorch's other kernels); ONNX Runtime has no such cap.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from speed_common import (
    WEIGHTS_NAME,
    benchmark_cache_dir,
    interleave,
    parse_args,
    plugin_package,
    print_header,
    read_photo,
    verdict,
)

AUTHORS_ONNX_NAME = "modnet_photographic_portrait_matting.onnx"
NETWORK_SIZE = (768, 512)  # width, height
# Side of the square matrix products that measure the CPU's practical multiply-add ceiling.
MATMUL_SIDE = 3072
TARGET_AUTHORS_RATIO = 1.0


def authors_runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """ONNX Runtime on the authors' export, default session options, the plugin's calling
    convention (NumPy in, NumPy out)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": x})[0]

    return run


def network_macs(model: Any, x: np.ndarray) -> int:
    """Multiply-adds of the convolutions and linear layers of ``model`` on ``x``, counted once
    each by forward hooks (output elements times the weights each one reads)."""
    import torch
    from torch import nn

    counts: list[int] = []

    def count(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        counts.append(output.numel() * module.weight[0].numel())

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    hooks = [layer.register_forward_hook(count) for layer in layers]
    with torch.inference_mode():
        model(torch.from_numpy(x))
    for hook in hooks:
        hook.remove()
    return sum(counts)


def matmul_cases(runtimes: list[tuple[str, str]]) -> dict[str, Callable[[], Any]]:
    """Square float32 matrix products in NumPy (the CPU's practical multiply-add ceiling) and,
    where a runtime here uses bfloat16, bfloat16 ones in PyTorch."""
    import torch

    a = np.random.default_rng(0).standard_normal((MATMUL_SIDE, MATMUL_SIDE), dtype=np.float32)
    cases: dict[str, Callable[[], Any]] = {"NumPy float32 matmul": lambda: a @ a}
    if any(precision == "bf16" for _, precision in runtimes):
        b = torch.from_numpy(a).bfloat16()
        cases["PyTorch bfloat16 matmul"] = lambda: b @ b
    return cases


def network_runners(
    shared: Path, runtimes: list[tuple[str, str]]
) -> dict[tuple[str, str], Callable[[np.ndarray], np.ndarray]]:
    from infer_modnet_portrait_matting.modnet import fold_batch_norms, load_checkpoint
    from infer_modnet_portrait_matting.modnet.runtime.factory import create_runner
    from infer_modnet_portrait_matting.modnet.runtime.torch_runner import TorchRunner

    weights = shared / "models" / WEIGHTS_NAME
    runners = {
        ("torch", "fp32"): TorchRunner(fold_batch_norms(load_checkpoint(weights)), "cpu"),
        ("torch (unfolded)", "fp32"): TorchRunner(load_checkpoint(weights), "cpu"),
        ("onnxruntime (authors' export)", "fp32"): authors_runner(
            shared / "models" / AUTHORS_ONNX_NAME
        ),
    }
    for backend, precision in runtimes:
        runners[backend, precision] = create_runner(
            backend, weights, "cpu", benchmark_cache_dir(), precision
        )
    return runners


def network_input(photo: Path) -> np.ndarray:
    rgb = read_photo(photo, *NETWORK_SIZE)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 127.5 - 1.0


def default_runtime(shared: Path) -> tuple[str, str]:
    """The backend and precision that ``auto`` picks on this CPU."""
    from infer_modnet_portrait_matting.modnet import MattingSession

    session = MattingSession(shared / "models" / WEIGHTS_NAME, cache_dir=benchmark_cache_dir())
    return session.backend, session.precision


def network_table(shared: Path, photo: Path, repeats: int) -> None:
    from infer_modnet_portrait_matting.modnet.runtime.cpu_choice import cpu_runtimes

    runtimes = cpu_runtimes()
    default = default_runtime(shared)
    runners = network_runners(shared, runtimes)
    x = network_input(photo)
    reference = runners["torch", "fp32"](x)
    errors = {case: float(np.abs(run(x) - reference).max()) for case, run in runners.items()}
    macs = network_macs(runners["torch", "fp32"].model, x)
    flops: dict[Any, float] = {case: 2 * macs for case in runners}
    cases: dict[Any, Callable[[], Any]] = {case: (lambda r=r: r(x)) for case, r in runners.items()}
    matmuls = matmul_cases(runtimes)
    cases.update(matmuls)
    flops.update({name: 2 * MATMUL_SIDE**3 for name in matmuls})
    times = interleave(cases, warmup=2, repeats=repeats)
    medians = {case: statistics.median(values) for case, values in times.items()}
    gflops = {case: flops[case] / medians[case] / 1e9 for case in cases}
    ceiling = gflops["NumPy float32 matmul"]

    width, height = NETWORK_SIZE
    print(f"## Network at {width}x{height} (N x 3 x H x W in, alpha out)\n")
    print(
        f"Round-robin, 2 warm-up calls each, then {repeats} timed calls each. The network does "
        f"{macs / 1e9:.1f} G multiply-adds at this size (convolutions and "
        f"linear layers); GFLOP/s counts two operations per multiply-add. The matrix products "
        f"({MATMUL_SIDE}x{MATMUL_SIDE}) run in the same rounds.\n"
    )
    print(
        "| backend | precision | median ms | min ms | vs default | GFLOP/s "
        "| share of float32 matmul | max abs alpha diff vs torch |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for case, values in times.items():
        label = " | ".join(case) if isinstance(case, tuple) else f"{case} | "
        if case == default:
            label += " (default)"
        error = f"{errors[case]:.1e}" if case in errors else ""
        print(
            f"| {label} | {medians[case] * 1e3:.1f} | {min(values) * 1e3:.1f} "
            f"| {medians[case] / medians[default]:.2f}x | {gflops[case]:.0f} "
            f"| {gflops[case] / ceiling:.0%} | {error} |"
        )
    ratio = medians["onnxruntime (authors' export)", "fp32"] / medians["onnxruntime", "fp32"]
    folding = medians["torch (unfolded)", "fp32"] / medians["torch", "fp32"]
    print(f"\nBatchNorm folding speed-up (torch unfolded / torch): {folding:.2f}x")
    print(
        f"Plugin's ONNX export speed-up vs authors' ONNX on ONNX Runtime (authors' median / "
        f"plugin's median, >= {TARGET_AUTHORS_RATIO:g} means at least as fast): {ratio:.2f}x, "
        f"target >= {TARGET_AUTHORS_RATIO:g}: {verdict(ratio >= TARGET_AUTHORS_RATIO)}\n"
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    plugin_package()
    print_header("MODNet network speed (CPU)", args.photo)
    network_table(args.shared, args.photo, args.repeats)


if __name__ == "__main__":
    main()
