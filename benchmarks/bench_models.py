"""One training step of each reference model: scratchgen vs PyTorch, same machine, same run.

Each (library, model) runs in its own process (benchmarks/common.py says why), and the two
take turns, a few steps at a time, each turn after a 0.15 s pause and one untimed step;
each process first runs three untimed steps. Measured instead in two processes a minute
apart, the same code gave ratios that differed by half on this shared machine.

"step MiB" is the peak resident memory above what the process held once the model was
built (activations, gradients, optimizer state, allocator slack), the largest of the
rounds. PyTorch uses 2 threads (this machine's cores).

A single pair of processes still gives a ratio that moves by 0.1-0.2 from one run to the
next on this machine, so the models are measured in several rounds, each with a fresh
pair of processes, the rounds one after the other over all models. The table gives the
median over the rounds (of each round's median step, and of each round's ratio of
medians), "round ratios" the lowest and highest ratio of a round, and the middle half
(quartiles) of the ratios of paired turns, over all rounds.

    python -m benchmarks.bench_models [--repeats N] [--rounds R] [--plot FILE.png] [--models M ...]
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
    """One round of one model: its step in both libraries, in turns of `block` steps.

    Returns a dict: "ours_ms" and "torch_ms" (every timed step), "turn_ratios" (ours /
    torch, the medians of paired turns), "ours_mib" and "torch_mib".
    """
    ours, theirs = start_worker(MODULE, "scratchgen", model), start_worker(MODULE, "torch", model)
    ours_ms, torch_ms = timed_in_turns([(ours, "step"), (theirs, "step")], repeats, block)
    ours_mib, torch_mib = (stop_worker(process) for process in (ours, theirs))
    turn_ratios = [
        np.median(ours_ms[start : start + block]) / np.median(torch_ms[start : start + block])
        for start in range(0, len(ours_ms), block)
    ]
    return {
        "ours_ms": ours_ms,
        "torch_ms": torch_ms,
        "turn_ratios": np.array(turn_ratios),
        "ours_mib": ours_mib,
        "torch_mib": torch_mib,
    }


def summarize_rounds(model, rounds):
    """One table row from a model's rounds (dicts of `measure`).

    ours_ms / torch_ms: the median over the rounds of each round's median step; ratio:
    the median of the rounds' ratios of medians, round_ratios: the lowest and highest of
    them; quartiles: of every round's turn ratios; memory: the largest peak of a round.
    """
    ours_ms = np.array([np.median(r["ours_ms"]) for r in rounds])
    torch_ms = np.array([np.median(r["torch_ms"]) for r in rounds])
    ratios = ours_ms / torch_ms
    turn_ratios = np.concatenate([r["turn_ratios"] for r in rounds])
    return {
        "model": model,
        "ours_ms": np.median(ours_ms),
        "torch_ms": np.median(torch_ms),
        "ratio": np.median(ratios),
        "round_ratios": (ratios.min(), ratios.max()),
        "quartiles": np.percentile(turn_ratios, [25, 75]),
        "ours_mib": max(r["ours_mib"] for r in rounds),
        "torch_mib": max(r["torch_mib"] for r in rounds),
    }


def plot(rows, path):
    """Bars: the median rounds' ratios; black lines: the quartiles of the turn ratios;
    dashed and dotted: the project's goal (1.0) and the target for now (1.5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row["model"] for row in rows]
    ratios = np.array([row["ratio"] for row in rows])
    quartiles = np.array([row["quartiles"] for row in rows])
    fig, ax = plt.subplots(figsize=(8.5, 3))
    ax.barh(names, ratios, color=["C2" if r <= 1 else "C1" for r in ratios])
    ax.hlines(range(len(names)), quartiles[:, 0], quartiles[:, 1], color="k", lw=2)
    ax.axvline(1.0, color="k", lw=1, ls="--", label="1.0: the goal")
    ax.axvline(1.5, color="k", lw=1, ls=":", label="1.5: the target for now")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_xlabel("time per training step, scratchgen / PyTorch (lower is better)")
    ax.set_title("Reference models on the CPU (2 threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per library")
    parser.add_argument("--block", type=int, default=4, help="timed steps per turn")
    parser.add_argument("--rounds", type=int, default=3, help="fresh process pairs per model")
    parser.add_argument("--plot", default=None, help="save a bar chart of the ratios here")
    parser.add_argument(
        "--models", nargs="+", choices=list(TRAINERS), metavar="MODEL", help="only these models"
    )
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        serve_turns({"step": build_step(*args.worker)})
        return
    if torch_or_none() is None:
        sys.exit("bench_models compares with PyTorch: pip install torch==2.13.0")
    rounds = {model: [] for model in args.models or TRAINERS}
    for _ in range(args.rounds):
        for model in rounds:
            rounds[model].append(measure(model, args.repeats, args.block))
    rows = [summarize_rounds(model, model_rounds) for model, model_rounds in rounds.items()]
    print_table(
        f"Training step ({machine()}, torch threads: 2, {args.rounds} rounds)",
        [
            (
                row["model"],
                row["ours_ms"],
                row["torch_ms"],
                f"{row['ratio']:.2f}",
                "{:.2f}-{:.2f}".format(*row["round_ratios"]),
                "{:.2f}-{:.2f}".format(*row["quartiles"]),
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
            "round ratios",
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
