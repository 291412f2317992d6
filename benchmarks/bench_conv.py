"""Time conv2d / conv_transpose2d forward and forward+backward: scratchgen vs PyTorch.

The layers are those of the reference models in DESIGN.md (conv VAE, DCGAN, Pix2Pix), in
float32 on the CPU, PyTorch limited to 2 threads. The two libraries are timed in turns,
a few calls at a time after a warm-up (see timed_in_blocks); the table shows the medians.

    python benchmarks/bench_conv.py                 # the table
    python benchmarks/bench_conv.py --profile 3     # cProfile of layer 3 (ours, fwd+bwd)
    python benchmarks/bench_conv.py --keep-freed-memory   # glibc keeps freed blocks

--keep-freed-memory asks glibc's malloc (Linux) to keep freed blocks up to 32 MiB for
reuse instead of handing them back to the OS. Without it every large NumPy temporary is
a fresh mmap whose pages fault in on first touch (about 2,000 page faults, several ms, per
small conv step); PyTorch avoids that with its own caching allocator.
"""

import argparse
import cProfile
import ctypes
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
    x, w, b = (sg.tensor(a, requires_grad=upstream is not None) for a in arrays)
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


def timed_in_blocks(functions, repeats, warmup, block=5):
    """Median milliseconds of each function over `repeats` calls.

    The functions take turns in blocks of `block` calls, each block after `warmup`
    untimed calls: load from other processes then hits every function alike, and the
    worker threads that one library leaves spinning after its call (OpenBLAS, OpenMP)
    have settled before the other library is timed.
    """
    times = [[] for _ in functions]
    while len(times[0]) < repeats:
        for f, bucket in zip(functions, times):
            for _ in range(warmup):
                f()
            for _ in range(block):
                start = time.perf_counter()
                f()
                bucket.append(time.perf_counter() - start)
    return [1e3 * float(np.median(bucket)) for bucket in times]


def layer_steps(torch, layer, rng):
    """(ours fwd, torch fwd, ours fwd+bwd, torch fwd+bwd) as argument-free callables."""
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
    ]


def print_table(rows):
    header = ("layer", "fwd ours", "fwd torch", "ratio", "fwd+bwd ours", "fwd+bwd torch", "ratio")
    print(f"{header[0]:<34}" + "".join(f"{h:>14}" for h in header[1:]))
    for name, (of, tf, ob, tb) in rows:
        cells = (
            f"{of:.2f}",
            f"{tf:.2f}",
            f"{of / tf:.2f}",
            f"{ob:.2f}",
            f"{tb:.2f}",
            f"{ob / tb:.2f}",
        )
        print(f"{name:<34}" + "".join(f"{c:>14}" for c in cells))
    ratios = np.array([ob / tb for _, (_, _, ob, tb) in rows])
    print(
        f"fwd+bwd ratio: geometric mean {np.exp(np.log(ratios).mean()):.2f}, "
        f"worst {ratios.max():.2f}  (times in ms, median)"
    )


def keep_freed_memory():
    """glibc: serve blocks up to 32 MiB from the heap, and never trim it back to the OS."""
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 2**20)
    libc.mallopt(m_trim_threshold, 2**30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--profile",
        type=int,
        default=None,
        metavar="LAYER",
        help="cProfile scratchgen's fwd+bwd of this layer (index) instead",
    )
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="tune glibc malloc first (see the module docstring)",
    )
    args = parser.parse_args()
    if args.keep_freed_memory:
        keep_freed_memory()
    import torch

    torch.set_num_threads(2)
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
