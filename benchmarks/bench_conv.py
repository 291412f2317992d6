"""Time conv2d / conv_transpose2d forward and forward+backward: scratchgen vs PyTorch.

The layers are those of the reference models in DESIGN.md (conv VAE, DCGAN, Pix2Pix), in
float32 on the CPU, PyTorch limited to 2 threads. Each library runs in its own process
for each layer (benchmarks/common.py says why: in a process that imported scratchgen,
PyTorch's convolutions run 20-45% faster than a user's PyTorch does), and the calls take
turns a few at a time after a warm-up; the table shows the medians. The layers are timed in
several rounds, each with fresh processes (one pair of processes gives a ratio that moves
by 0.2-0.5 between runs here); the table gives the median round, and "round ratios" the
lowest and highest of the rounds' own fwd+bwd ratios.

    python -m benchmarks.bench_conv                 # the table (3 rounds)
    python -m benchmarks.bench_conv --profile 3     # cProfile of layer 3 (ours, fwd+bwd)
    OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_conv --threads 1   # one core each

SCRATCHGEN_SYSTEM_MALLOC=1 measures scratchgen without its malloc settings.
"""

import argparse
import cProfile
import pstats

import numpy as np

from benchmarks.common import serve_turns, start_worker, stop_worker, timed_in_turns, torch_or_none

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
    import scratchgen as sg  # only in scratchgen's worker process

    op = sg.nn.functional.conv2d if kind == "conv" else sg.nn.functional.conv_transpose2d
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
        _, _, out_h, out_w = conv_output_shape(kind, cout, k, stride, padding, shape)
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


def conv_output_shape(kind, cout, k, stride, padding, shape):
    """The output shape of the layer (conv2d or conv_transpose2d, no dilation)."""
    n, _, h, w = shape
    if kind == "conv":
        return (n, cout, *((size + 2 * padding - k) // stride + 1 for size in (h, w)))
    return (n, cout, *((size - 1) * stride - 2 * padding + k for size in (h, w)))


def layer_functions(library, index, threads):
    """The timed callables of layer `index` in `library`, on the same arrays (seed 0).

    scratchgen: {"fwd", "fwd+bwd", "floor"}; torch: {"fwd", "fwd+bwd"}.
    """
    _, kind, cin, cout, k, stride, padding, shape = layer = LAYERS[index]
    rng = np.random.default_rng(0)
    arrays = make_arrays(kind, cin, cout, k, shape, rng)
    out_shape = conv_output_shape(kind, cout, k, stride, padding, shape)
    upstream = rng.standard_normal(out_shape, dtype=np.float32)
    if library == "torch":
        torch = torch_or_none(threads)
        upstream = torch.from_numpy(upstream)
        return {
            "fwd": lambda: torch_step(torch, kind, arrays, stride, padding),
            "fwd+bwd": lambda: torch_step(torch, kind, arrays, stride, padding, upstream),
        }
    import scratchgen as sg

    upstream = sg.from_numpy(upstream)
    return {
        "fwd": lambda: scratchgen_step(kind, arrays, stride, padding),
        "fwd+bwd": lambda: scratchgen_step(kind, arrays, stride, padding, upstream),
        "floor": gemm_floor(layer, rng),
    }


def time_layer(index, repeats, threads, block=5):
    """(ours fwd, torch fwd, ours fwd+bwd, torch fwd+bwd, GEMM floor), arrays of ms."""
    module = "benchmarks.bench_conv"
    ours = start_worker(module, "scratchgen", index, threads)
    theirs = start_worker(module, "torch", index, threads)
    cases = [(ours, "fwd"), (theirs, "fwd"), (ours, "fwd+bwd"), (theirs, "fwd+bwd")]
    times = timed_in_turns([*cases, (ours, "floor")], repeats, block)
    for process in (ours, theirs):
        stop_worker(process)
    return times


def print_table(layers):
    """One line a layer. Each round gives the medians of its calls; the table shows the
    median over the rounds of those medians (fwd, fwd+bwd, the GEMM floor) and of their
    ratios, the lowest and highest fwd+bwd ratio of a round, the ratio of the fastest
    fwd+bwd calls of all rounds (the minimum is what a quiet machine gives), and the GEMM
    floor (the layer's three bare GEMMs) against torch's fwd+bwd.
    layers: [(name, [time_layer's five arrays for each round])]."""
    header = (
        "layer",
        "fwd ours",
        "torch",
        "ratio",
        "fwd+bwd ours",
        "torch",
        "ratio",
        "round ratios",
        "min ratio",
        "GEMM floor",
        "floor ratio",
    )
    print(f"{header[0]:<32}" + "".join(f"{h:>13}" for h in header[1:]))
    median_ratios, min_ratios = [], []
    for name, rounds in layers:
        # per round: median ms of ours fwd, torch fwd, ours fwd+bwd, torch fwd+bwd, floor
        ours_f, torch_f, ours_fb, torch_fb, floor = np.array(
            [[np.median(times) for times in arrays] for arrays in rounds]
        ).T
        fb_ratios = ours_fb / torch_fb
        median_ratios.append(np.median(fb_ratios))
        min_ratios.append(min(r[2].min() for r in rounds) / min(r[3].min() for r in rounds))
        cells = [np.median(ours_f), np.median(torch_f), np.median(ours_f / torch_f)]
        cells += [np.median(ours_fb), np.median(torch_fb), median_ratios[-1]]
        cells = [f"{c:.2f}" for c in cells] + [f"{fb_ratios.min():.2f}-{fb_ratios.max():.2f}"]
        cells += [f"{min_ratios[-1]:.2f}", f"{np.median(floor):.2f}"]
        cells.append(f"{np.median(floor / torch_fb):.2f}")
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
    parser.add_argument("--threads", type=int, default=2, help="torch's threads (2)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh process pairs per layer")
    parser.add_argument(
        "--profile",
        type=int,
        default=None,
        metavar="LAYER",
        help="cProfile scratchgen's fwd+bwd of this layer (index) instead",
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        library, index, threads = args.worker
        serve_turns(layer_functions(library, int(index), int(threads)))
        return
    if args.profile is not None:
        step = layer_functions("scratchgen", args.profile, args.threads)["fwd+bwd"]
        print(LAYERS[args.profile][0])
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [step() for _ in range(args.repeats)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return
    rounds = [[] for _ in LAYERS]
    for _ in range(args.rounds):
        for index, layer_rounds in enumerate(rounds):
            layer_rounds.append(time_layer(index, args.repeats, args.threads))
    print_table([(layer[0], layer_rounds) for layer, layer_rounds in zip(LAYERS, rounds)])


if __name__ == "__main__":
    main()
