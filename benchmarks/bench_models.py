"""One training step of each reference model: scratchgen vs PyTorch, same machine, same run.

Each (library, model) runs in its own process (benchmarks/common.py says why), and the two
take turns, a few steps at a time, each turn after a 0.15 s pause and one untimed step;
each process first runs three untimed steps. Measured instead in two processes a minute
apart, the same code gave ratios that differed by half on this shared machine. The table
gives each library's median step, the ratio of the medians and the middle half (quartiles)
of the ratios of paired turns.

"step MiB" is the peak resident memory above what the process held once the model was
built (activations, gradients, optimizer state, allocator slack). PyTorch uses 2 threads
(this machine's cores).

    python -m benchmarks.bench_models [--repeats N] [--plot benchmarks/results/models.png]
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
from benchmarks.reference_models import TRAINERS

MODULE = "benchmarks.bench_models"


def build_step(library, model):
    """The model's training-step closure in `library` ("scratchgen" or "torch"), seed 0."""
    if library == "torch":
        lib = torch_or_none(threads=2)
    else:
        import scratchgen as lib
    lib.manual_seed(0)
    return TRAINERS[model](lib)


def measure(model, repeats, block):
    """One model's step in both libraries, in turns of `block` steps.

    Returns (ours ms, torch ms, quartiles of the per-turn ratios, ours MiB, torch MiB).
    """
    ours, theirs = start_worker(MODULE, "scratchgen", model), start_worker(MODULE, "torch", model)
    ours_ms, torch_ms = timed_in_turns([(ours, "step"), (theirs, "step")], repeats, block)
    memory = [stop_worker(process) for process in (ours, theirs)]
    turn_ratios = [
        np.median(ours_ms[start : start + block]) / np.median(torch_ms[start : start + block])
        for start in range(0, len(ours_ms), block)
    ]
    return np.median(ours_ms), np.median(torch_ms), np.percentile(turn_ratios, [25, 75]), *memory


def plot(rows, path):
    """Bars: the ratios of the medians; black lines: the quartiles of the turn ratios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row["model"] for row in rows]
    ratios = np.array([row["ours_ms"] / row["torch_ms"] for row in rows])
    quartiles = np.array([row["quartiles"] for row in rows])
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh(names, ratios, color=["C2" if r <= 1 else "C1" for r in ratios])
    ax.hlines(range(len(names)), quartiles[:, 0], quartiles[:, 1], color="k", lw=2)
    ax.axvline(1.0, color="k", lw=1, ls="--")
    ax.set_xlabel("time per training step, scratchgen / PyTorch (lower is better)")
    ax.set_title("Reference models on the CPU (2 threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per library")
    parser.add_argument("--block", type=int, default=4, help="timed steps per turn")
    parser.add_argument("--plot", default=None, help="save a bar chart of the ratios here")
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        serve_turns({"step": build_step(*args.worker)})
        return
    if torch_or_none() is None:
        sys.exit("bench_models compares with PyTorch: pip install torch==2.13.0")
    rows = []
    for model in TRAINERS:
        ours_ms, torch_ms, quartiles, ours_mib, torch_mib = measure(model, args.repeats, args.block)
        rows.append(
            {
                "model": model,
                "ours_ms": ours_ms,
                "torch_ms": torch_ms,
                "quartiles": quartiles,
                "ours_mib": ours_mib,
                "torch_mib": torch_mib,
            }
        )
    print_table(
        f"Training step ({machine()}, torch threads: 2)",
        [
            (
                row["model"],
                row["ours_ms"],
                row["torch_ms"],
                f"{row['ours_ms'] / row['torch_ms']:.2f}",
                f"{row['quartiles'][0]:.2f}-{row['quartiles'][1]:.2f}",
                f"{row['ours_mib']:.0f}",
                f"{row['torch_mib']:.0f}",
            )
            for row in rows
        ],
        columns=(
            "model",
            "scratchgen ms",
            "torch ms",
            "ratio",
            "turn ratios (quartiles)",
            "scratchgen step MiB",
            "torch step MiB",
        ),
    )
    if args.plot:
        plot(rows, args.plot)
        print(f"\nplot saved to {args.plot}")


if __name__ == "__main__":
    main()
