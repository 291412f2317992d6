"""The notebooks run top to bottom, and the committed copies show their figures.

Each ``notebooks/*.ipynb`` is executed with nbclient (no Jupyter server) in a python3
kernel whose working directory is a temporary folder, with ``SCRATCHGEN_FAST=1`` so the
notebook picks tiny settings. The committed files are read, never rewritten. A cell that
raises fails the test with the cell's source and its error.

The committed copies were executed in full mode, so a reader sees the outputs on GitHub:
every code cell has an execution count and the notebook holds at least one PNG figure.
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 600
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    notebook = nbformat.read(copy, as_version=4)
    monkeypatch.setenv("SCRATCHGEN_FAST", "1")  # the kernel inherits this environment
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    try:
        client.execute()
    except CellExecutionError as error:
        # the message holds the failing cell's source and its traceback
        message = ANSI_COLOUR.sub("", str(error))
        pytest.fail(f"{path.name}: a cell raised an error\n{message}", pytrace=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_committed_notebook_has_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    unexecuted = [i for i, cell in enumerate(code_cells) if cell.execution_count is None]
    assert not unexecuted, (
        f"{path.name}: code cells {unexecuted} have no execution count; "
        "execute the notebook in full mode and save it with its outputs"
    )
    outputs = [output for cell in code_cells for output in cell.outputs]
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, f"{path.name}: the saved outputs hold an error: {errors[0].get('ename')}"
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert figures, f"{path.name}: expected at least one image/png output, found none"
