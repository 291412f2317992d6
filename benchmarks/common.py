"""Timing helpers shared by the benchmarks: medians after warm-up, ratio tables, and the
workers that time two libraries in turns, each in its own process."""

import json
import platform
import resource
import statistics
import subprocess
import sys
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


# ----------------------------------------------------------------------------------
# timing two libraries in turns, each in its own process
# ----------------------------------------------------------------------------------
#
# Importing scratchgen sets glibc's malloc to keep freed memory (scratchgen/backend.py),
# and that speeds up PyTorch's own CPU allocations too (a conv layer's forward and
# backward by 20-45%). So PyTorch is timed in a process that never imported scratchgen,
# as a user runs it. The processes take turns, a few calls at a time, so that the
# changing speed of a shared machine hits both alike; the idle one waits on its pipe.

SETTLE_S = 0.15  # pause before each turn: the other library's threads spin ~0.1 s
WORKER_WARMUP = 3  # untimed calls of each function before the first turn


def serve_turns(functions):
    """The worker's side: warm up, say "ready", then answer commands on stdin.

    functions: {name: argument-free callable}.
    "turn NAME N": settle, one untimed call, N timed calls -> a JSON list of their ms.
    "stop": -> {"peak_mib": ..}, the peak resident memory above the start, and return.
    """
    start_mib = resident_mib()
    for function in functions.values():
        for _ in range(WORKER_WARMUP):
            function()
    print(json.dumps("ready"), flush=True)
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "stop":
            break
        name, count = arguments
        time.sleep(SETTLE_S)
        functions[name]()
        times = []
        for _ in range(int(count)):
            start = time.perf_counter()
            functions[name]()
            times.append((time.perf_counter() - start) * 1e3)
        print(json.dumps(times), flush=True)
    print(json.dumps({"peak_mib": max(peak_resident_mib() - start_mib, 0.0)}), flush=True)


def start_worker(module, *arguments):
    """`python -m module --worker ARGUMENTS...`, returned once it has warmed up.

    Start workers one after the other: two warming up at once slow each other down.
    """
    command = [sys.executable, "-m", module, "--worker", *map(str, arguments)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if json.loads(process.stdout.readline() or "null") != "ready":
        raise RuntimeError(f"{module}: the worker {arguments} did not start")
    return process


def ask(process, command):
    """Send one command line to a worker and parse its JSON answer."""
    process.stdin.write(command + "\n")
    process.stdin.flush()
    answer = process.stdout.readline()
    if not answer:
        raise RuntimeError(f"a benchmark worker died on {command!r}")
    return json.loads(answer)


def timed_in_turns(cases, repeats, block):
    """cases: [(worker process, function name)] -> an array of ms per case.

    The cases take turns, `block` timed calls each, until each has `repeats` calls.
    """
    times = [[] for _ in cases]
    while len(times[0]) < repeats:
        for (process, name), bucket in zip(cases, times):
            bucket.extend(ask(process, f"turn {name} {block}"))
    return [np.array(bucket) for bucket in times]


def stop_worker(process):
    """Stop a worker; its peak memory in MiB above what it held once built."""
    peak_mib = ask(process, "stop")["peak_mib"]
    process.wait()
    return peak_mib


def peak_resident_mib():
    """The peak resident memory of this process (Linux VmHWM), in MiB.

    Not getrusage's ru_maxrss: Linux carries the parent's peak into a child across exec,
    so a child of a process that imported torch would report torch's memory.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def resident_mib():
    """The resident memory of this process now (Linux), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20
