"""Time conv2d / conv_transpose2d forward and forward+backward: scratchgen vs PyTorch.

The layers are those of the reference models in DESIGN.md (conv VAE, DCGAN, Pix2Pix), in
float32 on the CPU, PyTorch limited to 2 threads. The two libraries are timed in turns,
a few calls at a time after a warm-up (see timed_in_blocks); the table shows the medians.

    python -m benchmarks.bench_conv                 # the table
    python -m benchmarks.bench_conv --profile 3     # cProfile of layer 3 (ours, fwd+bwd)
    OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_conv --threads 1   # one core each

Importing scratchgen sets glibc's malloc to keep freed memory for reuse (see
scratchgen/backend.py); SCRATCHGEN_SYSTEM_MALLOC=1 measures without that.
"""

import argparse
import cProfile
import pstats
import time

import numpy as np

import scratchgen as sg
from scratchgen.ops.conv import conv2d, conv_transpose2d

# (name, kind, in_channels, out_channels, kernel, stride, padding, input shape)
LAYERS = [
    ("VAE enc Conv(1,32,3,s2,p1)", "conv", 1, 32, 3, 2, 1, (128, 1, 28, 28)),
    ("VAE enc Conv(32,64,3,s2,p1)", "conv", 32, 64, 3, 2, 1, (128, 32, 14, 14)),
    ("VAE dec ConvT(64,32,4,2,1)", "convT", 64, 32, 4, 2, 1, (128, 64, 7, 7)),
    ("VAE dec ConvT(32,1,4,2,1)", "convT", 32, 1, 4, 2, 1, (128, 32, 14, 14)),
    ("DCGAN D Conv(1,64,4,2,1)", "conv", 1, 64, 4, 2, 1, (64, 1, 28, 28)),
    ("DCGAN D Conv(64,128,4,2,1)", "conv", 64, 128, 4, 2, 1, (64, 64, 14, 14)),
    ("DCGAN G ConvT(128,64,4,2,1)", "convT", 128, 64, 4, 2, 1, (64, 128, 7, 7)),
    ("DCGAN G ConvT(64,1,4,2,1)", "convT", 64, 1, 4, 2, 1, (64, 64, 14, 14)),
    ("Pix2Pix down Conv(64,128,4,2,1)", "conv", 64, 128, 4, 2, 1, (16, 64, 8, 8)),
    ("Pix2Pix up ConvT(256,64,4,2,1)", "convT", 256, 64, 4, 2, 1, (16, 256, 8, 8)),
]


def make_arrays(kind, cin, cout, k, shape, rng):
    """Input, weight (torch's layout for the kind), bias and an upstream gradient."""
    x = rng.standard_normal(shape, dtype=np.float32)
    w_shape = (cout, cin, k, k) if kind == "conv" else (cin, cout, k, k)
    w = rng.standard_normal(w_shape, dtype=np.float32) * 0.1
    b = rng.standard_normal(cout, dtype=np.float32)
    return x, w, b


def scratchgen_step(kind, arrays, stride, padding, upstream=None):
    """One forward (and backward, if an upstream gradient is given) in scratchgen."""
    op = conv2d if kind == "conv" else conv_transpose2d
    x, w, b = (sg.from_numpy(a).requires_grad_(upstream is not None) for a in arrays)
    y = op(x, w, b, stride=stride, padding=padding)
    if upstream is not None:
        y.backward(upstream)
    return y


def torch_step(torch, kind, arrays, stride, padding, upstream=None):
    """The same step in PyTorch."""
    op = torch.nn.functional.conv2d if kind == "conv" else torch.nn.functional.conv_transpose2d
    x, w, b = (torch.from_numpy(a).requires_grad_(upstream is not None) for a in arrays)
    with torch.set_grad_enabled(upstream is not None):
        y = op(x, w, b, stride=stride, padding=padding)
        if upstream is not None:
            y.backward(upstream)
    return y


def timed_in_blocks(functions, repeats, warmup, block=5, settle_s=0.15):
    """The milliseconds of `repeats` calls of each function (an array per function).

    The functions take turns in blocks of `block` calls, so that load from other processes
    hits them alike. Before each block the machine settles for `settle_s`: the worker
    threads a library leaves busy-waiting after its call (OpenBLAS's poll for about 0.1 s,
    OpenMP's shorter) would otherwise steal a core from the other library; then `warmup`
    untimed calls.
    """
    times = [[] for _ in functions]
    while len(times[0]) < repeats:
        for f, bucket in zip(functions, times):
            time.sleep(settle_s)
            for _ in range(warmup):
                f()
            for _ in range(block):
                start = time.perf_counter()
                f()
                bucket.append(time.perf_counter() - start)
    return [1e3 * np.array(bucket) for bucket in times]


def gemm_floor(layer, rng):
    """The three bare GEMMs of the layer's fwd+bwd, on ready contiguous operands.

    Whichever direction, a conv layer is three products of the same size: with P window
    positions, K = kh*kw*C numbers in a window and O filters, forward (P, K) @ (K, O),
    weight gradient (O, P) @ (P, K) and input gradient (P, O) @ (O, K). (For a transposed
    conv, P counts its input pixels and K spans its outputs' channels.) No im2col, col2im,
    bias or layout copy: the time any im2col convolution needs at NumPy's GEMM speed.
    """
    _, kind, cin, cout, k, stride, padding, shape = layer
    n, _, h, w = shape
    if kind == "conv":
        out_h, out_w = ((size + 2 * padding - k) // stride + 1 for size in (h, w))
        positions = n * out_h * out_w
        window, filters = k * k * cin, cout
    else:
        positions, window, filters = n * h * w, k * k * cout, cin

    def matrix(rows, columns):
        return rng.standard_normal((rows, columns), dtype=np.float32)

    cols, weight = matrix(positions, window), matrix(window, filters)
    grad_rows, grad_columns = matrix(filters, positions), matrix(positions, filters)
    weight_rows = matrix(filters, window)
    return lambda: (cols @ weight, grad_rows @ cols, grad_columns @ weight_rows)


def layer_steps(torch, layer, rng):
    """(ours fwd, torch fwd, ours fwd+bwd, torch fwd+bwd, GEMM floor) as argument-free
    callables."""
    _, kind, cin, cout, k, stride, padding, shape = layer
    arrays = make_arrays(kind, cin, cout, k, shape, rng)
    out_shape = scratchgen_step(kind, arrays, stride, padding).shape
    upstream = rng.standard_normal(out_shape, dtype=np.float32)
    ours_g, torch_g = sg.tensor(upstream), torch.from_numpy(upstream)
    return [
        lambda: scratchgen_step(kind, arrays, stride, padding),
        lambda: torch_step(torch, kind, arrays, stride, padding),
        lambda: scratchgen_step(kind, arrays, stride, padding, ours_g),
        lambda: torch_step(torch, kind, arrays, stride, padding, torch_g),
        gemm_floor(layer, rng),
    ]


def print_table(rows):
    """One line a layer: medians of fwd and fwd+bwd, their ratios, the ratio of the
    fastest fwd+bwd calls (the minimum is what a quiet machine gives), and the GEMM floor
    (the layer's three bare GEMMs) against torch's fwd+bwd."""
    header = (
        "layer",
        "fwd ours",
        "torch",
        "ratio",
        "fwd+bwd ours",
        "torch",
        "ratio",
        "min ratio",
        "GEMM floor",
        "floor ratio",
    )
    print(f"{header[0]:<32}" + "".join(f"{h:>13}" for h in header[1:]))
    median_ratios, min_ratios = [], []
    for name, (ours_f, torch_f, ours_fb, torch_fb, floor) in rows:
        median_ratios.append(np.median(ours_fb) / np.median(torch_fb))
        min_ratios.append(ours_fb.min() / torch_fb.min())
        cells = [f"{np.median(t):.2f}" for t in (ours_f, torch_f)]
        cells.insert(2, f"{np.median(ours_f) / np.median(torch_f):.2f}")
        cells += [f"{np.median(t):.2f}" for t in (ours_fb, torch_fb)]
        cells += [f"{median_ratios[-1]:.2f}", f"{min_ratios[-1]:.2f}"]
        cells += [f"{np.median(floor):.2f}", f"{np.median(floor) / np.median(torch_fb):.2f}"]
        print(f"{name:<32}" + "".join(f"{c:>13}" for c in cells))
    for label, ratios in (("median", median_ratios), ("min", min_ratios)):
        print(
            f"fwd+bwd {label} ratio: geometric mean {np.exp(np.mean(np.log(ratios))):.2f}, "
            f"worst {max(ratios):.2f}"
        )
    print("(times in ms; ratio = scratchgen / torch)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch's threads (2)")
    parser.add_argument(
        "--profile",
        type=int,
        default=None,
        metavar="LAYER",
        help="cProfile scratchgen's fwd+bwd of this layer (index) instead",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    if args.profile is not None:
        step = layer_steps(torch, LAYERS[args.profile], rng)[2]
        print(LAYERS[args.profile][0])
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [step() for _ in range(args.repeats)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return
    rows = []
    for layer in LAYERS:
        rows.append(
            (layer[0], timed_in_blocks(layer_steps(torch, layer, rng), args.repeats, args.warmup))
        )
    print_table(rows)


if __name__ == "__main__":
    main()
