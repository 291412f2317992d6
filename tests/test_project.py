"""The README's quick start is what CI runs."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def quick_start_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_quick_start_trains_a_generative_model_first_then_demo_then_tests():
    train, demo, _ = quick_start_commands()
    assert "scratchgen train vae" in train and demo == "scratchgen demo"


def test_ci_runs_the_readme_test_command():
    test_command = quick_start_commands()[-1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_the_readmes_pytorch_example_runs_with_the_import_changed(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Differences from PyTorch", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert code.startswith("import scratchgen as torch\n")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "mnist_cnn.pt").is_file()
