"""Figures for training runs: image grids, loss curves, latent scatters, interpolations,
strips of the per-epoch snapshots.

Every function draws on its own matplotlib Figure with the Agg canvas (no pyplot, so no
global state and no window), writes the file (format from its suffix, e.g. .png or .pdf),
creates missing parent folders and returns the path as a pathlib.Path.

Images are arrays (N, C, H, W) with C = 1 (grey) or 3 (RGB) and values in [0, 1]
((N, H, W) is read as grey); Tensors are accepted and copied to the host.
"""

import json
import math
import numbers
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from scratchgen import backend
from scratchgen.tensor import Tensor

PIXELS_PER_INCH = 50  # an image pixel becomes 2 x 2 screen pixels at the saved 100 dpi
DPI = 100
TAB10 = colormaps["tab10"]


def _as_numpy(array):
    if isinstance(array, Tensor):
        array = backend.to_numpy(array.data)
    return np.asarray(array)


def _images(name, images):
    """(N, C, H, W) float array with C in (1, 3), from (N, C, H, W) or grey (N, H, W)."""
    images = _as_numpy(images).astype(np.float64)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(
            f"{name}: expected N >= 1 images of shape (N, C, H, W) with C = 1 or 3, "
            f"or (N, H, W), got {images.shape}"
        )
    return images


def _save(figure, path):
    """Write figure to path (parents created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def _show(axes, grid):
    """Draw an (H, W) grey or (H, W, 3) RGB grid in [0, 1] on axes, without ticks."""
    grid = np.clip(grid, 0, 1)
    axes.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_axis_off()


# ----------------------------------------------------------------------------------
# image grids
# ----------------------------------------------------------------------------------


def make_grid(images, nrow=None, padding=2, pad_value=1.0):
    """Tile N images into one array, row by row, as torchvision.utils.make_grid does.

    nrow: images per row (torchvision's name); None -> ceil(sqrt(N)), a square-ish grid.
    With R = ceil(N / nrow) rows, the grid is (R (H + p) + p, nrow (W + p) + p) pixels for
    padding p, and image k sits at row k // nrow, column k % nrow, its top-left corner at
    (p + row (H + p), p + column (W + p)). Padding and empty cells hold pad_value.
    Returns (H', W') for grey images, (H', W', 3) for RGB (ready for imshow).
    """
    images = _images("make_grid", images)
    count, channels, height, width = images.shape
    nrow = math.ceil(math.sqrt(count)) if nrow is None else min(nrow, count)
    if nrow < 1 or padding < 0:
        raise ValueError(f"make_grid: expected nrow >= 1 and padding >= 0, got {nrow}, {padding}")
    rows = math.ceil(count / nrow)
    cell_h, cell_w = height + padding, width + padding
    grid = np.full((channels, rows * cell_h + padding, nrow * cell_w + padding), pad_value)
    for k, image in enumerate(images):
        top, left = padding + (k // nrow) * cell_h, padding + (k % nrow) * cell_w
        grid[:, top : top + height, left : left + width] = image
    return grid[0] if channels == 1 else grid.transpose(1, 2, 0)


def _grid_figure(grid):
    """A figure whose single axes shows the grid at PIXELS_PER_INCH (at least 2 inches)."""
    height, width = grid.shape[:2]
    scale = max(1 / PIXELS_PER_INCH, 2 / max(height, width))
    figure = Figure(figsize=(width * scale, height * scale))
    axes = figure.add_axes((0, 0, 1, 1))
    _show(axes, grid)
    return figure, axes


def image_grid(images, path, nrow=None, title=None, row_labels=None, padding=2):
    """Save images tiled in a grid (see make_grid); returns the path.

    row_labels: one text per grid row, written at its left (e.g. "0".."9" for a
    conditional GAN whose row r holds samples of digit r). With row_labels and no nrow,
    nrow = ceil(N / len(row_labels)).
    """
    images = _images("image_grid", images)
    if row_labels is not None and nrow is None:
        nrow = math.ceil(len(images) / max(len(row_labels), 1))
    grid = make_grid(images, nrow=nrow, padding=padding)
    figure, axes = _grid_figure(grid)
    if title is not None:
        axes.set_title(title)
    if row_labels is not None:
        _label_rows("image_grid", axes, row_labels, images, nrow, padding)
    return _save(figure, path)


def _label_rows(name, axes, row_labels, images, nrow, padding):
    """Write row_labels[r] left of grid row r (pixel coordinates of the imshow)."""
    rows = math.ceil(len(images) / min(nrow, len(images)))
    if len(row_labels) != rows:
        raise ValueError(f"{name}: expected {rows} row_labels (one per row), got {len(row_labels)}")
    cell_h = images.shape[2] + padding
    for r, label in enumerate(row_labels):
        centre = padding + r * cell_h + images.shape[2] / 2
        axes.text(-padding, centre, str(label), ha="right", va="center")


def interpolation_strip(rows, path, title=None, row_labels=None):
    """Save one strip per row: rows is a list of (K, C, H, W) arrays (K frames each).

    Typically frame j of a row decodes z = (1 - t_j) z_0 + t_j z_1, t_j = j / (K - 1).
    All rows need the same shape. Returns the path.
    """
    strips = [_images("interpolation_strip", row) for row in rows]
    if not strips or any(strip.shape != strips[0].shape for strip in strips):
        shapes = [strip.shape for strip in strips]
        raise ValueError(
            f"interpolation_strip: expected rows of one shape (K, C, H, W), got {shapes}"
        )
    frames = strips[0].shape[0]
    return image_grid(np.concatenate(strips), path, nrow=frames, title=title, row_labels=row_labels)


def before_after(columns, path, n=8, title=None):
    """Save named image sets side by side: one column per name, the first n images each.

    columns: dict name -> (N, C, H, W) images, e.g. {"noisy": x, "denoised": f(x),
    "clean": y}; row i shows image i of every set. Returns the path.
    """
    if not columns:
        raise ValueError("before_after: expected at least one named column of images")
    sets = {name: _images("before_after", images) for name, images in columns.items()}
    n = min([n] + [len(images) for images in sets.values()])
    strips = [make_grid(images[:n], nrow=1) for images in sets.values()]
    height, width = strips[0].shape[:2]
    scale = max(1 / PIXELS_PER_INCH, 3 / height)
    column_inches = width * scale * 1.3
    figure = Figure(figsize=(len(strips) * column_inches, height * scale + 0.5))
    longest = max(len(name) for name in sets)  # titles shrink to fit their column
    fontsize = min(10.0, column_inches * 72 / (0.62 * longest))
    for index, (name, strip) in enumerate(zip(sets, strips)):
        axes = figure.add_subplot(1, len(strips), index + 1)
        _show(axes, strip)
        axes.set_title(name, fontsize=fontsize)
    if title is not None:
        figure.suptitle(title)
    return _save(figure, path)


def snapshot_strip(folder, path, frames=6):
    """Up to ``frames`` of the per-epoch grids ``folder/epoch_NNN.png`` (first, last and
    evenly in between) side by side, titled with their epoch; returns the path (None: no
    grids in the folder)."""
    grids = sorted(Path(folder).glob("epoch_*.png"))
    if not grids:
        return None
    picks = np.unique(np.linspace(0, len(grids) - 1, min(frames, len(grids))).round())
    figure = Figure(figsize=(3 * len(picks), 3.3))
    for column, index in enumerate(picks.astype(int)):
        axes = figure.add_subplot(1, len(picks), column + 1)
        axes.imshow(imread(grids[index]))
        axes.set_title(f"epoch {int(grids[index].stem.split('_')[1])}")
        axes.set_axis_off()
    return _save(figure, path)


# ----------------------------------------------------------------------------------
# curves and scatters
# ----------------------------------------------------------------------------------


def read_log(path):
    """The records of a JSON-lines log: one dict per non-empty line."""
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def _is_number(value):
    """A finite real number (booleans excluded)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def moving_average(values, window):
    """Trailing mean over the last `window` values (fewer at the start):

    a_i = mean(v_j for max(0, i - window + 1) <= j <= i)
    """
    values = np.asarray(values, dtype=np.float64)
    window_sums = np.convolve(values, np.ones(window))[: len(values)]  # no cumsum round-off
    window_sizes = np.minimum(np.arange(1, len(values) + 1), window)
    return window_sums / window_sizes


def loss_curves(records, path, keys=None, smooth=None, title=None):
    """Save one panel per logged quantity against the step; returns the path.

    records: a list of dicts such as {"step": 3, "epoch": 0, "loss_d": 0.7, "loss_g": 1.2},
    or the path of a JSON-lines log of them. x = record["step"] (the record's index where
    absent). keys: the fields to plot; None -> every field holding a number in some record,
    except "step" and "epoch". Records without a key, or with a non-numeric value, are
    skipped for that key only.
    smooth: window of a trailing moving average drawn over the raw (faint) curve;
    None -> about 1/25 of the points; 1 -> no smoothing.
    """
    if isinstance(records, (str, Path)):
        records = read_log(records)
    if keys is None:
        keys = [
            key
            for key in dict.fromkeys(key for record in records for key in record)
            if key not in ("step", "epoch") and any(_is_number(r.get(key)) for r in records)
        ]
    if not keys:
        raise ValueError("loss_curves: expected records with numeric fields, found none")
    figure = Figure(figsize=(7, 2.2 * len(keys)))
    for index, key in enumerate(keys):
        steps, values = _series(records, key)
        if not values:
            raise ValueError(f"loss_curves: no record has a numeric value for {key!r}")
        axes = figure.add_subplot(len(keys), 1, index + 1)
        window = max(1, len(values) // 25) if smooth is None else smooth
        if window > 1:
            axes.plot(steps, values, color="C0", alpha=0.3, linewidth=0.8)
            axes.plot(steps, moving_average(values, window), color="C0", label=f"mean of {window}")
            axes.legend(loc="upper right")
        else:
            axes.plot(steps, values, color="C0")
        axes.set_ylabel(key)
        axes.ticklabel_format(axis="y", useOffset=False)  # a constant stays readable
        axes.grid(alpha=0.3)
    axes.set_xlabel("step")
    if title is not None:
        figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, path)


def _series(records, key):
    """(steps, values) of the records holding a number under key."""
    steps, values = [], []
    for index, record in enumerate(records):
        if _is_number(record.get(key)):
            steps.append(record.get("step", index))
            values.append(record[key])
    return steps, values


def latent_scatter(points, labels, path, title=None):
    """Save 2-D points (N, 2) coloured by their integer class labels (N,), with a legend.

    Class c gets colour c % 10 of the tab10 palette. E.g. the means of a 2-D VAE's encoder
    on test digits. Returns the path.
    """
    points, labels = _as_numpy(points), _as_numpy(labels)
    if points.ndim != 2 or points.shape[1] != 2 or labels.shape != (len(points),):
        raise ValueError(
            f"latent_scatter: expected points (N, 2) and labels (N,), "
            f"got {points.shape} and {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"latent_scatter: expected integer class labels, got {labels.dtype}")
    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot()
    for label in np.unique(labels):
        chosen = labels == label
        axes.scatter(*points[chosen].T, s=6, color=TAB10(label % 10), label=str(label))
    axes.legend(title="class", markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    if title is not None:
        axes.set_title(title)
    return _save(figure, path)
