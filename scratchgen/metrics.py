"""Evaluation metrics: image quality, ranking, distribution distance. Pure functions on arrays.

Arrays in (NumPy arrays, or Tensors, which are copied to the host), Python floats or NumPy
arrays out. Everything is computed in float64.

    psnr(x, y)                 peak signal-to-noise ratio, dB (reconstruction quality)
    ssim(x, y)                 structural similarity (Wang et al. 2004)
    auroc(scores, labels)      area under the ROC curve (anomaly detection)
    frechet_distance(fa, fb)   Frechet distance between Gaussians fitted to two feature sets

No model is imported here: the scores that need the reference classifier (FID, class
shares, conditional accuracy) live one floor up, in `scratchgen.evaluation.reference`.
"""

import numpy as np

from scratchgen import backend
from scratchgen.tensor import Tensor


def as_numpy(array, dtype=np.float64):
    """A NumPy array of dtype from a NumPy array, a Tensor or nested lists."""
    if isinstance(array, Tensor):
        array = backend.to_numpy(array.data)
    return np.asarray(array, dtype=dtype)


def _check_same_shape(name, x, y):
    if x.shape != y.shape:
        raise ValueError(f"{name}: expected x and y of the same shape, got {x.shape} and {y.shape}")


def _check_data_range(name, data_range):
    if not data_range > 0:
        raise ValueError(f"{name}: expected data_range > 0, got {data_range}")


# ----------------------------------------------------------------------------------
# image quality
# ----------------------------------------------------------------------------------


def psnr(x, y, data_range=1.0, reduction="mean"):
    """Peak signal-to-noise ratio in decibels, per image, then averaged.

        MSE_i  = mean over the pixels of image i of (x - y)^2
        PSNR_i = 10 log10(R^2 / MSE_i),   R = data_range (1 for images in [0, 1])

    x, y: arrays of the same shape (N, ...): the first axis indexes images (pass x[None]
    for a single image). Identical images have MSE_i = 0 and PSNR_i = inf.
    reduction: "mean" -> the mean of PSNR_i (a float); "none" -> the (N,) array of PSNR_i.
    Higher is better: +6 dB is half the RMS error.
    """
    x, y = as_numpy(x), as_numpy(y)
    _check_same_shape("psnr", x, y)
    _check_data_range("psnr", data_range)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"psnr: expected images of shape (N, ...) with N >= 1, got {x.shape}")
    if reduction not in ("mean", "none"):
        raise ValueError(f"psnr: expected reduction 'mean' or 'none', got {reduction!r}")
    mse = ((x - y) ** 2).reshape(len(x), -1).mean(axis=1)
    with np.errstate(divide="ignore"):  # MSE = 0 -> inf dB, on purpose
        per_image = 10 * np.log10(data_range**2 / mse)
    return float(per_image.mean()) if reduction == "mean" else per_image


SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # 11 x 11 window: int(3.5 sigma + 0.5), as scikit-image truncates it


def gaussian_window(sigma=SSIM_SIGMA, radius=SSIM_RADIUS):
    """The 1-D Gaussian weights w_k = exp(-k^2 / (2 sigma^2)) / Z for k = -radius..radius."""
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-(offsets**2) / (2 * sigma**2))
    return weights / weights.sum()


def gaussian_filter_valid(images, weights):
    """Weighted local means of (..., H, W) images: the valid 2-D convolution with w w^T.

    The 2-D Gaussian is the outer product of two 1-D ones, so filtering the rows and then
    the columns with w costs 2k instead of k^2 multiply-adds per pixel. Output
    (..., H - k + 1, W - k + 1): only windows lying fully inside the image.
    """
    k = len(weights)
    windows = np.lib.stride_tricks.sliding_window_view
    rows_done = windows(images, k, axis=-1) @ weights  # (..., H, W - k + 1)
    return windows(rows_done, k, axis=-2) @ weights  # (..., H - k + 1, W - k + 1)


def ssim(x, y, data_range=1.0, k1=0.01, k2=0.03):
    """Mean structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004).

    In each 11 x 11 Gaussian window (sigma 1.5), with local weighted means mu, variances
    s^2 and covariance s_xy (population form: E[xy] - E[x]E[y]),

        SSIM = (2 mu_x mu_y + C1) (2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1) (s_x^2 + s_y^2 + C2))

    with C1 = (k1 R)^2, C2 = (k2 R)^2, R = data_range. The result is the mean over all
    window positions fully inside the image (valid convolution), channels and images, as
    scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=R) computes it. ssim(x, x) = 1, values lie in
    [-1, 1], higher is better.

    x, y: arrays of the same shape (..., H, W) with H, W >= 11, e.g. (N, C, H, W); the
    leading axes are averaged over.
    """
    x, y = as_numpy(x), as_numpy(y)
    _check_same_shape("ssim", x, y)
    _check_data_range("ssim", data_range)
    window = 2 * SSIM_RADIUS + 1
    if x.ndim < 2 or x.shape[-1] < window or x.shape[-2] < window:
        raise ValueError(
            f"ssim: expected images of shape (..., H, W) with H, W >= {window}, got {x.shape}"
        )
    weights = gaussian_window()
    mu_x, mu_y = gaussian_filter_valid(x, weights), gaussian_filter_valid(y, weights)
    var_x = gaussian_filter_valid(x * x, weights) - mu_x**2
    var_y = gaussian_filter_valid(y * y, weights) - mu_y**2
    cov_xy = gaussian_filter_valid(x * y, weights) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    structure = (2 * cov_xy + c2) / (var_x + var_y + c2)
    return float((luminance * structure).mean())


# ----------------------------------------------------------------------------------
# ranking and distribution distance
# ----------------------------------------------------------------------------------


def average_ranks(values):
    """1-based ranks of values; tied values share the mean of the ranks they occupy."""
    _, group, group_size = np.unique(values, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(group_size)  # rank of the last member of each tie group
    return (last_rank - (group_size - 1) / 2)[group.reshape(-1)]


def auroc(scores, labels):
    """Area under the ROC curve: the probability that a positive outscores a negative.

        AUROC = (1 / (P N)) sum over positives p, negatives n of [s_p > s_n] + [s_p = s_n] / 2

    computed in O(M log M) with the Mann-Whitney statistic: rank all M scores (ties get
    their average rank), R+ = the sum of the positives' ranks, then
    AUROC = (R+ - P (P + 1) / 2) / (P N).

    scores: (M,) real numbers, higher = "more positive" (e.g. a reconstruction error for
    anomalies). labels: (M,) booleans or 0/1. 1 is perfect, 0.5 is chance.
    """
    scores = as_numpy(scores)
    labels = as_numpy(labels, dtype=None)
    if scores.ndim != 1 or labels.shape != scores.shape:
        raise ValueError(
            f"auroc: expected scores and labels of the same shape (M,), "
            f"got {scores.shape} and {labels.shape}"
        )
    if np.isnan(scores).any():
        raise ValueError("auroc: expected scores without NaN")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"auroc: expected labels 0/1 or booleans, got values {np.unique(labels)}")
    positive = labels.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"auroc: expected both classes in labels, got {n_pos} positives and {n_neg} negatives"
        )
    rank_sum = average_ranks(scores)[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _covariance(features):
    """Sample covariance (ddof = 1) of (N, D) rows: (X - mean)^T (X - mean) / (N - 1)."""
    centred = features - features.mean(axis=0)
    return centred.T @ centred / (len(features) - 1)


def _symmetric_sqrt(matrix):
    """S^(1/2) = V diag(sqrt(lambda)) V^T for a symmetric PSD S = V diag(lambda) V^T.

    Eigenvalues a rounding error below zero are clipped to 0.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance(features_a, features_b):
    """Frechet (2-Wasserstein squared) distance between Gaussians fitted to two sample sets.

        FD = ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^(1/2) S_b S_a^(1/2))^(1/2))

    with mu the mean and S the sample covariance (ddof = 1) of each (N, D) set. The matrix
    square roots come from symmetric eigendecompositions (tiny negative eigenvalues from
    rounding are clipped to 0), so the result is real; it is clipped at 0 as well. For
    D = 1 it reduces to (m_a - m_b)^2 + (s_a - s_b)^2. This is FID when the features come
    from a classifier (see `fid`).
    """
    a, b = as_numpy(features_a), as_numpy(features_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            "frechet_distance: expected feature sets (N, D) and (M, D), "
            f"got {a.shape} and {b.shape}"
        )
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"frechet_distance: expected at least 2 samples per set, got {len(a)} and {len(b)}"
        )
    cov_a, cov_b = _covariance(a), _covariance(b)
    sqrt_a = _symmetric_sqrt(cov_a)
    middle = sqrt_a @ cov_b @ sqrt_a
    middle_eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt_middle = np.sqrt(np.clip(middle_eigenvalues, 0, None)).sum()
    mean_term = ((a.mean(axis=0) - b.mean(axis=0)) ** 2).sum()
    distance = mean_term + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt_middle
    return float(max(distance, 0.0))
