"""benchmarks/op_profile.py: it counts every Function call of a step and puts the engine back."""

import importlib

from benchmarks.op_profile import profile

function_module = importlib.import_module("scratchgen.tensor")


def test_profile_counts_each_layer_and_restores_the_engine():
    untimed_call = function_module.Function.__call__
    seconds, calls, per_step = profile("MLP AE (batch 128)", steps=2, warmup=1)
    linear_calls = sum(n for (name, _), n in calls.items() if name == "Linear")
    assert linear_calls == 2 * 6  # six Linear layers, one forward call each per step
    assert 0 < sum(seconds.values()) / 2 < per_step
    assert function_module.Function.__call__ is untimed_call
