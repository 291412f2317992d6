"""viz: grid arithmetic and pixel placement, files written and readable, bad input."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.image import imread

import scratchgen as sg
from scratchgen import viz


def grey(n, size=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 1, size, size))


def read_png(path):
    """The saved image as (H, W, 4) floats, after checking the file exists."""
    assert path.exists() and path.suffix == ".png"
    return imread(path)


# ----------------------------------------------------------------------------------
# make_grid
# ----------------------------------------------------------------------------------


@given(
    count=st.integers(1, 12),
    nrow=st.one_of(st.none(), st.integers(1, 6)),
    padding=st.integers(0, 3),
    channels=st.sampled_from([1, 3]),
    height=st.integers(1, 5),
    width=st.integers(1, 5),
    data=st.data(),
)
def test_make_grid_shape_and_placement(count, nrow, padding, channels, height, width, data):
    k = data.draw(st.integers(0, count - 1), label="image of ones")
    images = np.zeros((count, channels, height, width))
    images[k] = 1.0
    grid = viz.make_grid(images, nrow=nrow, padding=padding, pad_value=0.5)

    columns = int(np.ceil(np.sqrt(count))) if nrow is None else min(nrow, count)
    rows = int(np.ceil(count / columns))
    expected_shape = (rows * (height + padding) + padding, columns * (width + padding) + padding)
    assert grid.shape == (expected_shape if channels == 1 else expected_shape + (3,))

    top = padding + (k // columns) * (height + padding)
    left = padding + (k % columns) * (width + padding)
    assert (grid[top : top + height, left : left + width] == 1).all()
    assert (grid == 1).sum() == height * width * channels  # nowhere else
    assert (grid == 0).sum() == (count - 1) * height * width * channels
    assert (grid == 0.5).sum() == grid.size - count * height * width * channels


def test_make_grid_accepts_grey_nhw_and_tensors():
    images = grey(5)
    expected = viz.make_grid(images)
    np.testing.assert_array_equal(viz.make_grid(images[:, 0]), expected)
    np.testing.assert_array_equal(viz.make_grid(sg.tensor(images)), expected)


@pytest.mark.parametrize("shape", [(8, 8), (2, 2, 8, 8), (2, 1, 1, 8, 8), (0, 1, 8, 8)])
def test_make_grid_bad_shapes(shape):
    with pytest.raises(ValueError, match=rf"make_grid: expected N >= 1 images .*{shape}"):
        viz.make_grid(np.zeros(shape))


def test_make_grid_bad_arguments():
    with pytest.raises(ValueError, match="make_grid: expected nrow >= 1 and padding >= 0"):
        viz.make_grid(grey(2), nrow=0)


# ----------------------------------------------------------------------------------
# image files
# ----------------------------------------------------------------------------------


def test_image_grid_writes_png_with_parents(tmp_path):
    path = viz.image_grid(grey(16, size=28), tmp_path / "runs" / "a" / "grid.png", title="x")
    assert path == tmp_path / "runs" / "a" / "grid.png"
    picture = read_png(path)
    assert picture.shape[2] == 4
    assert 100 <= picture.shape[0] <= 1000 and 100 <= picture.shape[1] <= 1000


def test_image_grid_rgb_and_string_path(tmp_path):
    images = np.random.default_rng(0).uniform(0, 1, size=(6, 3, 32, 32))
    path = viz.image_grid(images, str(tmp_path / "rgb.png"), nrow=3)
    assert read_png(path).shape[1] > read_png(path).shape[0]  # 3 columns, 2 rows


def test_image_grid_row_labels(tmp_path):
    images = grey(30, size=28)
    unlabelled = read_png(viz.image_grid(images, tmp_path / "plain.png", nrow=3))
    labelled = read_png(viz.image_grid(images, tmp_path / "cgan.png", row_labels="0123456789"))
    assert labelled.shape[0] == unlabelled.shape[0]  # nrow = 30 / 10 labels = 3
    assert labelled.shape[1] > unlabelled.shape[1]  # room for the labels at the left
    with pytest.raises(ValueError, match="image_grid: expected 10 row_labels .* got 3"):
        viz.image_grid(images, tmp_path / "bad.png", nrow=3, row_labels=["a", "b", "c"])


def test_image_grid_bad_images(tmp_path):
    with pytest.raises(ValueError, match="image_grid: expected N >= 1 images"):
        viz.image_grid(np.zeros((2, 4, 8, 8)), tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_interpolation_strip(tmp_path):
    rows = [grey(7, size=28, seed=seed) for seed in range(3)]
    picture = read_png(viz.interpolation_strip(rows, tmp_path / "strip.png"))
    assert picture.shape[1] > 2 * picture.shape[0]  # 7 frames wide, 3 rows high
    with pytest.raises(ValueError, match="interpolation_strip: expected rows of one shape"):
        viz.interpolation_strip([grey(7), grey(6)], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="interpolation_strip: expected rows of one shape"):
        viz.interpolation_strip([], tmp_path / "bad.png")


def test_before_after(tmp_path):
    clean = grey(10, size=28)
    noisy = np.clip(clean + 0.3, 0, 1)
    ink = np.repeat(clean, 3, axis=1)  # columns may differ in channels
    path = viz.before_after(
        {"noisy": noisy, "denoised": clean, "clean": ink}, tmp_path / "ba.pdf", n=4
    )
    assert path.exists() and path.read_bytes().startswith(b"%PDF")
    picture = read_png(viz.before_after({"a": clean, "b": clean}, tmp_path / "ba.png", n=4))
    assert picture.shape[0] > picture.shape[1]  # 4 rows, 2 columns
    with pytest.raises(ValueError, match="before_after: expected at least one"):
        viz.before_after({}, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="before_after: expected N >= 1 images"):
        viz.before_after({"a": np.zeros((3, 8))}, tmp_path / "bad.png")


# ----------------------------------------------------------------------------------
# curves and scatters
# ----------------------------------------------------------------------------------


def training_log(steps=60):
    """Records as a Trainer writes them; loss_g is missing from some, one value is text."""
    records = []
    for step in range(steps):
        record = {"step": step, "epoch": step // 20, "loss_d": 1 / (step + 1), "lr": 2e-4}
        if step % 3:
            record["loss_g"] = float(np.sin(step))
        if step == 5:
            record["note"] = "resumed"
            record["loss_d"] = None
        records.append(record)
    return records


def test_series_skips_missing_and_non_numeric():
    records = training_log()
    steps, values = viz._series(records, "loss_g")
    assert steps == [s for s in range(60) if s % 3] and len(values) == 40
    steps, _ = viz._series(records, "loss_d")
    assert 5 not in steps and len(steps) == 59
    assert viz._series([{"a": 1.0}, {"a": True}, {"a": float("nan")}], "a") == ([0], [1.0])


@pytest.mark.parametrize("smooth", [None, 1, 10])
def test_loss_curves(tmp_path, smooth):
    path = viz.loss_curves(training_log(), tmp_path / "curves" / "loss.png", smooth=smooth)
    picture = read_png(path)
    assert 500 <= picture.shape[0] <= 1000 and 500 <= picture.shape[1] <= 1000


def test_loss_curves_keys_and_jsonl(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps(record) for record in training_log()) + "\n")
    one = read_png(viz.loss_curves(log, tmp_path / "one.png", keys=["loss_g"]))
    three = read_png(viz.loss_curves(str(log), tmp_path / "three.png"))
    assert one.shape[0] < three.shape[0]
    with pytest.raises(ValueError, match="loss_curves: no record has a numeric value for 'kl'"):
        viz.loss_curves(training_log(), tmp_path / "bad.png", keys=["loss_g", "kl"])
    with pytest.raises(ValueError, match="loss_curves: expected records with numeric fields"):
        viz.loss_curves([{"step": 0, "note": "x"}], tmp_path / "bad.png")


@given(st.integers(1, 40), st.integers(1, 12))
def test_moving_average(length, window):
    values = np.random.default_rng(length).normal(size=length)
    averaged = viz.moving_average(values, window)
    expected = [values[max(0, i - window + 1) : i + 1].mean() for i in range(length)]
    np.testing.assert_allclose(averaged, expected, rtol=1e-10, atol=1e-12)


def test_latent_scatter(tmp_path):
    generator = np.random.default_rng(0)
    labels = generator.integers(0, 10, size=300)
    points = generator.normal(size=(300, 2)) + labels[:, None]
    picture = read_png(viz.latent_scatter(points, labels, tmp_path / "z.png", title="z"))
    assert 200 <= picture.shape[0] <= 1000
    with pytest.raises(ValueError, match=r"latent_scatter: expected points \(N, 2\)"):
        viz.latent_scatter(points[:, :1], labels, tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"latent_scatter: expected points .* \(299,\)"):
        viz.latent_scatter(points, labels[:-1], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="latent_scatter: expected integer class labels"):
        viz.latent_scatter(points, labels.astype(float), tmp_path / "bad.png")
