"""What each speed-up of ops/conv.py buys: the plain im2col / col2im path against the fast one.

On raw float32 arrays at the DCGAN's and the VAE's wide layers, the two versions of each
piece alternate call by call in one process (one library, so no second process is needed),
after a warm-up; the table shows medians and the lowest-highest quartiles. The pieces:

    im2col          plain (kh*kw slices, a stack, a transposing copy) vs step 1
    output copy     the NCHW copy of a conv output that step 2's channels-last view avoids
    input gradient  plain col2im(G @ W) vs steps 3-5 (slabs, grouped col2im, bias start)
    layer           conv2d_plain + conv2d_plain_grads vs the Conv2d op, forward + backward

    python -m benchmarks.conv_steps [--repeats 40]
"""

import argparse
import statistics
import time

import numpy as np

import scratchgen as sg
from benchmarks.common import machine
from scratchgen.ops import conv
from scratchgen.ops.window import output_hw

# (name, in_channels, out_channels, kernel, stride, padding, input shape) of a conv2d
LAYERS = [
    ("DCGAN D Conv(64,128,4,2,1)", 64, 128, 4, 2, 1, (64, 64, 14, 14)),
    ("VAE enc Conv(32,64,3,2,1)", 32, 64, 3, 2, 1, (128, 32, 14, 14)),
    ("DCGAN D Conv(1,64,4,2,1)", 1, 64, 4, 2, 1, (64, 1, 28, 28)),
]


def in_turns(versions, repeats, warmup=3):
    """{name: list of ms}: the versions called in turn, repeats times each."""
    times = {name: [] for name in versions}
    for round_ in range(warmup + repeats):
        for name, fn in versions.items():
            start = time.perf_counter()
            fn()
            if round_ >= warmup:
                times[name].append((time.perf_counter() - start) * 1e3)
    return times


def summary(times):
    """'median (q1-q3)' of a list of ms."""
    q1, median, q3 = statistics.quantiles(times, n=4)
    return median, f"{median:.2f} ({q1:.2f}-{q3:.2f})"


def pieces(cin, cout, k, s, p, shape, rng):
    """{piece: (plain fn, fast fn)} for one conv2d layer."""
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(cout, dtype=np.float32)
    geometry = ((s, s), (p, p), (1, 1))
    out_hw = output_hw(shape[2:], (k, k), *geometry, "conv2d")
    g = rng.standard_normal((shape[0], cout, *out_hw), dtype=np.float32)
    g_channels_last = conv._channels_first(np.ascontiguousarray(conv._channels_last(g)))
    y = conv.conv2d_plain(x, w, b, *geometry)
    rows = g.transpose(0, 2, 3, 1).reshape(-1, cout)
    matrix = w.reshape(cout, -1)

    def fast_layer():
        inputs = [sg.from_numpy(a).requires_grad_() for a in (x, w, b)]
        sg.nn.functional.conv2d(*inputs, stride=s, padding=p).backward(sg.from_numpy(g))

    return {
        "im2col": (
            lambda: conv.im2col(x, (k, k), *geometry, out_hw),
            lambda: conv._im2col(x, (k, k), *geometry, out_hw),
        ),
        "output copy": (lambda: np.ascontiguousarray(y), lambda: y),
        "input gradient": (
            lambda: conv.col2im(rows @ matrix, shape[2:], (k, k), *geometry, out_hw),
            lambda: conv._conv_input_grad(g_channels_last, w, shape[2:], *geometry),
        ),
        "layer fwd+bwd": (
            lambda: (
                conv.conv2d_plain_grads(x, w, g, *geometry)
                + (conv.conv2d_plain(x, w, b, *geometry),)
            ),
            fast_layer,
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    print(f"machine: {machine()}; float32; medians (quartiles) of {args.repeats} turns, ms\n")
    print("| layer | piece | plain | fast | plain / fast |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name, *layer in LAYERS:
        for piece, (plain, fast) in pieces(*layer, rng).items():
            times = in_turns({"plain": plain, "fast": fast}, args.repeats)
            (plain_ms, plain_text), (fast_ms, fast_text) = map(summary, times.values())
            ratio = f"{plain_ms / fast_ms:.1f}" if fast_ms > 0.01 else "(no copy)"
            print(f"| {name} | {piece} | {plain_text} | {fast_text} | {ratio} |")


if __name__ == "__main__":
    main()
