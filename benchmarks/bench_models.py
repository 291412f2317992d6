"""One training step of each reference model: scratchgen vs PyTorch, same machine, same run.

Each (library, model) pair runs in its own process; "step MiB" is its peak resident
memory above what it held once the model was built (activations, gradients, optimizer
state, allocator slack). PyTorch uses 2 threads (this machine's cores). Prints a
Markdown table and saves a bar chart of the ratios.

    python -m benchmarks.bench_models [--repeats N] [--plot benchmarks/results/models.png]
"""

import argparse
import json
import resource
import subprocess
import sys

from benchmarks.common import machine, median_ms, print_table, torch_or_none
from benchmarks.reference_models import TRAINERS


def worker(library, model, repeats):
    """Time one model's step in this process and print {"ms": .., "peak_mib": ..}."""
    if library == "torch":
        lib = torch_or_none(threads=2)
        lib.manual_seed(0)
    else:
        import scratchgen as lib

        lib.manual_seed(0)
    step = TRAINERS[model](lib)
    built_mib = _resident_mib()
    ms = median_ms(step, repeats=repeats, warmup=2)
    print(json.dumps({"ms": ms, "peak_mib": max(_peak_resident_mib() - built_mib, 0.0)}))


def _peak_resident_mib():
    """The peak resident memory of this process (Linux VmHWM), in MiB.

    Not getrusage's ru_maxrss: Linux carries the parent's peak into a child across exec,
    so a child of a process that imported torch would report torch's memory.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _resident_mib():
    """The resident memory of this process now (Linux), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure(library, model, repeats):
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_models",
        "--worker",
        library,
        model,
        "--repeats",
        str(repeats),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r[0] for r in rows]
    ratios = [r[1]["ms"] / r[2]["ms"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh(names, ratios, color=["C2" if r <= 1 else "C1" for r in ratios])
    ax.axvline(1.0, color="k", lw=1, ls="--")
    ax.set_xlabel("time per training step, scratchgen / PyTorch (lower is better)")
    ax.set_title("Reference models on the CPU (2 threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--plot", default=None, help="save a bar chart of the ratios here")
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, args.repeats)
        return
    has_torch = torch_or_none() is not None
    rows, table = [], []
    for model in TRAINERS:
        ours = measure("scratchgen", model, args.repeats)
        theirs = measure("torch", model, args.repeats) if has_torch else None
        if theirs:
            rows.append((model, ours, theirs))
            table.append(
                (
                    model,
                    ours["ms"],
                    theirs["ms"],
                    f"{ours['ms'] / theirs['ms']:.2f}",
                    f"{ours['peak_mib']:.0f}",
                    f"{theirs['peak_mib']:.0f}",
                )
            )
        else:
            table.append((model, ours["ms"], "n/a", "n/a", f"{ours['peak_mib']:.0f}", "n/a"))
    print_table(
        f"Training step ({machine()}, torch threads: 2)",
        table,
        columns=(
            "model",
            "scratchgen ms",
            "torch ms",
            "ratio",
            "scratchgen step MiB",
            "torch step MiB",
        ),
    )
    if args.plot and rows:
        plot(rows, args.plot)
        print(f"\nplot saved to {args.plot}")


if __name__ == "__main__":
    main()
