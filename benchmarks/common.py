"""Timing helpers shared by the benchmarks: medians after warm-up, ratio tables."""

import platform
import statistics
import time

import numpy as np


def median_ms(fn, repeats=20, warmup=3, sync=None):
    """Median wall time of fn() in milliseconds (sync() waits for a GPU if given)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def machine():
    """One line naming the machine, for the table's caption."""
    import os

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )


def print_table(title, rows, columns=("case", "scratchgen ms", "torch ms", "ratio")):
    """Print a Markdown table; rows are tuples matching columns."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        cells = [f"{c:.3f}" if isinstance(c, float) else str(c) for c in row]
        print("| " + " | ".join(cells) + " |")


def torch_or_none(threads=2):
    """torch limited to `threads` threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch
