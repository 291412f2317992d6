"""How bench_models sums up its rounds: the median round's ratio and the range of them."""

import numpy as np

from benchmarks.bench_models import summarize_rounds


def a_round(ours_ms, torch_ms, ours_mib=10.0, torch_mib=20.0):
    """One round as `measure` returns it, from lists of step times."""
    ours, torch = np.array(ours_ms), np.array(torch_ms)
    return {
        "ours_ms": ours,
        "torch_ms": torch,
        "turn_ratios": ours / torch,
        "ours_mib": ours_mib,
        "torch_mib": torch_mib,
    }


def test_the_median_round_and_the_range():
    rounds = [
        a_round([10, 11, 9], [10, 10, 10]),  # ratio 1.0
        a_round([20, 21, 19], [10, 10, 10], ours_mib=15.0),  # ratio 2.0: a slow round of ours
        a_round([20, 20, 20], [20, 21, 19]),  # ratio 1.0: a slow round of both
    ]
    row = summarize_rounds("m", rounds)
    # Pooling the steps of all rounds would give 20 / 10 = 2.0; the median round gives 1.0.
    assert row["ratio"] == 1.0
    assert row["round_ratios"] == (1.0, 2.0)
    assert row["ours_mib"] == 15.0 and row["torch_mib"] == 20.0
    assert row["quartiles"][0] < row["quartiles"][1]


def test_one_round_gives_that_round():
    row = summarize_rounds("m", [a_round([20, 22, 21], [10, 11, 10])])
    assert row["ratio"] == 21 / 10
    assert row["round_ratios"] == (row["ratio"], row["ratio"])
