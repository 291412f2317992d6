"""Where a training step's time goes, op by op: the table behind benchmarks/README.md.

Runs one reference model's step (benchmarks/reference_models.py) in scratchgen and times
every Function call: the forward ones and, since backward is built from Functions too,
the backward ones. Rows group the calls by Function class and first input's shape, with
milliseconds per step and calls per step; "outside Functions" is the rest of the step
(the optimizer, the graph walk, Python). The timer itself costs a few percent.

    python -m benchmarks.op_profile "DCGAN pair (batch 64)" [--steps 20] [--top 25]
"""

import argparse
import collections
import importlib
import time

import scratchgen as sg
from benchmarks.reference_models import TRAINERS

function_module = importlib.import_module("scratchgen.tensor")  # sg.tensor is the factory


def profile(model, steps, warmup=5):
    """({(class, shape): seconds}, {(class, shape): calls}, seconds per step) over `steps`."""
    sg.manual_seed(0)
    step = TRAINERS[model](sg)
    for _ in range(warmup):
        step()
    seconds, calls = collections.Counter(), collections.Counter()
    untimed_call = function_module.Function.__call__

    def timed_call(function, *inputs):
        start = time.perf_counter()
        outputs = untimed_call(function, *inputs)
        key = (type(function).__name__, tuple(inputs[0].shape))
        seconds[key] += time.perf_counter() - start
        calls[key] += 1
        return outputs

    function_module.Function.__call__ = timed_call
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        per_step = (time.perf_counter() - start) / steps
    finally:
        function_module.Function.__call__ = untimed_call
    return seconds, calls, per_step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=list(TRAINERS), help="a reference model")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--top", type=int, default=25, help="rows to print")
    args = parser.parse_args(argv)
    seconds, calls, per_step = profile(args.model, args.steps)
    print(f"{args.model}: {per_step * 1e3:.1f} ms a step (timed)\n")
    print(f"{'ms/step':>8}  {'calls':>5}  Function: first input's shape")
    for (name, shape), total in seconds.most_common(args.top):
        shape_text = "x".join(map(str, shape))
        per_call = calls[name, shape] / args.steps
        print(f"{total / args.steps * 1e3:8.2f}  {per_call:5.1f}  {name}: {shape_text}")
    inside = sum(seconds.values()) / args.steps
    print(f"{(per_step - inside) * 1e3:8.2f}         outside Functions")


if __name__ == "__main__":
    main()
