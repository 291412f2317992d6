"""A training loop written for PyTorch runs on scratchgen with only the import changed.

``loop`` below is plain PyTorch: a model, a loss module, an optimizer, gradient clipping,
a manual update under no_grad, and a ``.pt`` state dict saved and loaded again. The test
runs it with ``import scratchgen as torch`` and, where PyTorch is installed, with PyTorch
itself, and asserts the same behaviour from both.
"""

import numpy as np
import pytest

import scratchgen


def loop(torch, path):
    """A small PyTorch program: classify 2-D points into three classes, save, reload."""
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(128, 4)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        total_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():  # one manual step, as tutorials write it
        for p in model.parameters():
            p -= 0.01 * p.grad
    torch.save(model.state_dict(), path)
    reloaded = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))
    reloaded.load_state_dict(torch.load(path))
    with torch.no_grad():
        accuracy = (reloaded(x).argmax(dim=1) == y).float().mean().item()
        same = (reloaded(x) - model(x)).abs().max().item()
    return losses, float(total_norm), accuracy, same


def test_a_pytorch_training_loop_runs_with_the_import_changed(tmp_path):
    losses, total_norm, accuracy, same = loop(scratchgen, tmp_path / "model.pt")
    assert losses[-1] < 0.5 * losses[0]
    assert total_norm > 0 and accuracy > 0.9
    assert same == 0.0  # the .pt file holds the trained weights exactly
    assert (tmp_path / "model.pt").is_file()


def test_the_same_loop_behaves_alike_on_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    ours = loop(scratchgen, tmp_path / "ours.pt")
    theirs = loop(torch, tmp_path / "theirs.pt")
    # different random streams: compare how the runs go, not their numbers
    assert theirs[0][-1] < 0.5 * theirs[0][0] and ours[0][-1] < 0.5 * ours[0][0]
    assert np.isclose(ours[2], theirs[2], atol=0.08)
    assert ours[3] == theirs[3] == 0.0
