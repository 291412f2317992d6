"""What the Report tests share: a training log to draw curves from, and the check that
``evaluation.figures`` wrote exactly the pictures it should."""

import json


def write_log(folder, steps=30, **values):
    """folder/log.jsonl with ``steps`` records of epoch 0: {"epoch", "step", **values}."""
    records = [{"epoch": 0, "step": s + 1, **values} for s in range(steps)]
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def assert_figures(paths, names):
    """The figures are exactly ``names`` (in any order), and none of them is empty."""
    assert sorted(p.name for p in paths) == sorted(names)
    assert all(p.stat().st_size > 0 for p in paths)
