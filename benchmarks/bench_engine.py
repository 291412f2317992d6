"""Engine overhead: scratchgen vs PyTorch in the same run.

1. A chain of 1,000 small elementwise ops (on a 16x16 tensor), forward and backward:
   this measures the cost per op of the graph machinery, not of arithmetic.
2. One training step of a 512-512-512-512 tanh MLP (batch 128): forward, backward and
   an SGD update, where the matrix products dominate.

    python benchmarks/bench_engine.py [--repeats N]
"""

import argparse

import numpy as np

import scratchgen as sg
from benchmarks.common import machine, median_ms, print_table, torch_or_none

CHAIN_LENGTH = 1000


def chain(x):
    """Works for both libraries: CHAIN_LENGTH tiny ops forward, then backward."""
    y = x
    for _ in range(CHAIN_LENGTH // 2):
        y = y * 1.0001
        y = y + 0.0001
    y.sum().backward()
    x.grad = None


def mlp_params(rng, width=512, depth=3):
    params = []
    for _ in range(depth):
        weight = rng.standard_normal((width, width)) / np.sqrt(width)
        params.append(weight.astype(np.float32))
        params.append(np.zeros(width, dtype=np.float32))
    return params


def mlp_step(x, target, params, lr=0.01):
    """Works for both libraries: the same expression on their tensors."""
    h = x
    for i in range(0, len(params), 2):
        h = (h @ params[i] + params[i + 1]).tanh()
    loss = ((h - target) ** 2).mean()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad.data
        p.grad = None


def run(repeats):
    torch = torch_or_none()
    rng = np.random.default_rng(0)
    rows = []

    x_np = rng.standard_normal((16, 16)).astype(np.float32)
    ours = median_ms(lambda: chain(sg.tensor(x_np, requires_grad=True)), repeats)
    theirs = None
    if torch is not None:
        theirs = median_ms(lambda: chain(torch.tensor(x_np, requires_grad=True)), repeats)
    rows.append(_row(f"{CHAIN_LENGTH}-op elementwise chain, fwd+bwd", ours, theirs))
    rows.append(
        _row(
            "  per op (us)",
            ours * 1e3 / CHAIN_LENGTH,
            theirs * 1e3 / CHAIN_LENGTH if theirs else None,
        )
    )

    params_np = mlp_params(rng)
    batch = rng.standard_normal((128, 512)).astype(np.float32)
    target = rng.standard_normal((128, 512)).astype(np.float32)
    sg_params = [sg.tensor(p, requires_grad=True) for p in params_np]
    sg_x, sg_t = sg.tensor(batch), sg.tensor(target)
    ours = median_ms(lambda: mlp_step(sg_x, sg_t, sg_params), repeats)
    theirs = None
    if torch is not None:
        t_params = [torch.tensor(p, requires_grad=True) for p in params_np]
        t_x, t_t = torch.tensor(batch), torch.tensor(target)
        theirs = median_ms(lambda: mlp_step(t_x, t_t, t_params), repeats)
    rows.append(_row("512x512 MLP step (3 layers, batch 128)", ours, theirs))

    print_table(f"Engine overhead ({machine()}, torch threads: 2)", rows)
    return rows


def _row(name, ours, theirs):
    if theirs is None:
        return (name, ours, "n/a", "n/a")
    return (name, ours, theirs, f"{ours / theirs:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    run(args.repeats)


if __name__ == "__main__":
    main()
