"""Engine overhead: scratchgen vs PyTorch, same machine, same run.

1. A chain of 1,000 small elementwise ops (on a 16x16 tensor), forward and backward:
   this measures the cost per op of the graph machinery, not of arithmetic.
2. One training step of a 512-512-512-512 tanh MLP (batch 128): forward, backward and
   an SGD update, where the matrix products dominate.

Each library runs in its own process and the two take turns (benchmarks/common.py says
why: in a process that imported scratchgen, PyTorch's allocations are faster than in a
user's process). PyTorch uses 2 threads.

    python -m benchmarks.bench_engine [--repeats N]
"""

import argparse
import sys

import numpy as np

from benchmarks.common import (
    machine,
    print_table,
    serve_turns,
    start_worker,
    stop_worker,
    timed_in_turns,
    torch_or_none,
)

CHAIN_LENGTH = 1000
CASES = {
    "chain": f"{CHAIN_LENGTH}-op elementwise chain on 16x16, fwd+bwd",
    "mlp": "512-512-512-512 tanh MLP step, batch 128 (SGD)",
}


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


def engine_functions(library):
    """{"chain", "mlp"}: the timed callables in `library`, on the same arrays (seed 0)."""
    if library == "torch":
        lib = torch_or_none(threads=2)
    else:
        import scratchgen as lib  # only in scratchgen's worker process
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 16)).astype(np.float32)
    params = mlp_params(rng)
    batch = rng.standard_normal((128, 512)).astype(np.float32)
    target = rng.standard_normal((128, 512)).astype(np.float32)
    mlp_tensors = [lib.tensor(p, requires_grad=True) for p in params]
    batch, target = lib.tensor(batch), lib.tensor(target)
    return {
        "chain": lambda: chain(lib.tensor(x, requires_grad=True)),
        "mlp": lambda: mlp_step(batch, target, mlp_tensors),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per library")
    parser.add_argument("--block", type=int, default=5, help="timed calls per turn")
    parser.add_argument("--worker", nargs=1, metavar="LIBRARY", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        serve_turns(engine_functions(args.worker[0]))
        return
    if torch_or_none() is None:
        sys.exit("bench_engine compares with PyTorch: pip install torch==2.13.0")
    ours = start_worker("benchmarks.bench_engine", "scratchgen")
    theirs = start_worker("benchmarks.bench_engine", "torch")
    rows = []
    for case, title in CASES.items():
        ours_ms, torch_ms = timed_in_turns([(ours, case), (theirs, case)], args.repeats, args.block)
        ours_ms, torch_ms = np.median(ours_ms), np.median(torch_ms)
        rows.append((title, ours_ms, torch_ms, f"{ours_ms / torch_ms:.2f}"))
        if case == "chain":
            per_op = (ours_ms * 1e3 / CHAIN_LENGTH, torch_ms * 1e3 / CHAIN_LENGTH)
            rows.append(("  per op (us)", *per_op, f"{per_op[0] / per_op[1]:.2f}"))
    for process in (ours, theirs):
        stop_worker(process)
    print_table(f"Engine overhead ({machine()}, torch threads: 2)", rows)


if __name__ == "__main__":
    main()
