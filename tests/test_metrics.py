"""Metrics: known values, independent reference implementations, invariances, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import metrics

rng = np.random.default_rng(0)


def images(n=4, channels=1, size=16, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, channels, size, size))


def with_noise(x, scale, seed=1):
    return x + scale * np.random.default_rng(seed).standard_normal(x.shape)


# ----------------------------------------------------------------------------------
# psnr
# ----------------------------------------------------------------------------------


def test_psnr_known_value():
    x = np.zeros((2, 1, 4, 4))
    y = np.full_like(x, 0.1)  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert metrics.psnr(x, y) == pytest.approx(20.0)
    assert metrics.psnr(255 * x, 255 * y, data_range=255) == pytest.approx(20.0)


def test_psnr_per_image_and_mean():
    x = np.zeros((3, 2, 2))
    y = np.stack([np.full((2, 2), 0.1), np.full((2, 2), 0.01), np.full((2, 2), 0.001)])
    per_image = metrics.psnr(x, y, reduction="none")
    np.testing.assert_allclose(per_image, [20.0, 40.0, 60.0])
    assert metrics.psnr(x, y) == pytest.approx(40.0)


def test_psnr_identical_images_is_inf():
    x = images()
    assert metrics.psnr(x, x) == np.inf
    assert np.isinf(metrics.psnr(x, x, reduction="none")).all()


def test_psnr_accepts_tensors():
    x, y = images(seed=0), images(seed=1)
    expected = metrics.psnr(x, y)
    assert metrics.psnr(sg.tensor(x), sg.tensor(y)) == pytest.approx(expected)


@given(st.floats(0.01, 0.3), st.floats(1.5, 4.0))
def test_psnr_drops_six_db_when_the_error_doubles(scale, factor):
    x = images()
    noise = np.random.default_rng(2).standard_normal(x.shape)
    drop = metrics.psnr(x, x + scale * noise) - metrics.psnr(x, x + factor * scale * noise)
    assert drop == pytest.approx(20 * np.log10(factor))


def test_psnr_bad_input():
    with pytest.raises(ValueError, match="psnr: expected x and y of the same shape"):
        metrics.psnr(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="psnr: expected data_range > 0"):
        metrics.psnr(np.zeros((2, 3)), np.zeros((2, 3)), data_range=0)
    with pytest.raises(ValueError, match="psnr: expected reduction"):
        metrics.psnr(np.zeros((2, 3)), np.zeros((2, 3)), reduction="sum")
    with pytest.raises(ValueError, match="psnr: expected images of shape"):
        metrics.psnr(np.zeros(3), np.zeros(3))


# ----------------------------------------------------------------------------------
# ssim
# ----------------------------------------------------------------------------------


def ssim_by_windows(x, y, data_range=1.0):
    """SSIM of two (H, W) images, one explicit 11 x 11 weighted window at a time."""
    offsets = np.arange(-5, 6)
    weights_1d = np.exp(-(offsets**2) / (2 * 1.5**2))
    weights = np.outer(weights_1d, weights_1d)
    weights /= weights.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for top in range(x.shape[0] - 10):
        for left in range(x.shape[1] - 10):
            a, b = x[top : top + 11, left : left + 11], y[top : top + 11, left : left + 11]
            mu_a, mu_b = (weights * a).sum(), (weights * b).sum()
            var_a = (weights * (a - mu_a) ** 2).sum()
            var_b = (weights * (b - mu_b) ** 2).sum()
            cov = (weights * (a - mu_a) * (b - mu_b)).sum()
            numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
            values.append(numerator / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
    return np.mean(values)


def test_ssim_matches_explicit_windows():
    x = rng.uniform(0, 1, size=(14, 13))
    y = np.clip(with_noise(x, 0.2), 0, 1)
    assert metrics.ssim(x, y) == pytest.approx(ssim_by_windows(x, y), rel=1e-10)
    assert metrics.ssim(3 * x, 3 * y, data_range=3) == pytest.approx(
        ssim_by_windows(3 * x, 3 * y, data_range=3), rel=1e-10
    )


def test_ssim_averages_images_and_channels():
    x = images(n=2, channels=3, size=12)
    y = np.clip(with_noise(x, 0.1), 0, 1)
    per_plane = [ssim_by_windows(x[i, c], y[i, c]) for i in range(2) for c in range(3)]
    assert metrics.ssim(x, y) == pytest.approx(np.mean(per_plane), rel=1e-10)


@given(st.integers(0, 2**32 - 1))
def test_ssim_properties(seed):
    x = images(n=2, size=16, seed=seed)
    y = images(n=2, size=16, seed=seed + 1)
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    assert metrics.ssim(x, y) == pytest.approx(metrics.ssim(y, x))
    assert -1 <= metrics.ssim(x, y) <= 1
    assert -1 <= metrics.ssim(x, 1 - x) <= 1
    noisy = [metrics.ssim(x, with_noise(x, scale, seed)) for scale in (0.01, 0.1, 0.5)]
    assert 1 > noisy[0] > noisy[1] > noisy[2]


def test_ssim_bad_input():
    with pytest.raises(ValueError, match="ssim: expected x and y of the same shape"):
        metrics.ssim(np.zeros((1, 16, 16)), np.zeros((1, 16, 15)))
    with pytest.raises(ValueError, match="ssim: expected images of shape .* H, W >= 11"):
        metrics.ssim(np.zeros((1, 10, 16)), np.zeros((1, 10, 16)))


# ----------------------------------------------------------------------------------
# auroc
# ----------------------------------------------------------------------------------


def auroc_by_pairs(scores, labels):
    """P(positive outscores negative) + P(tie) / 2, over every (positive, negative) pair."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return (wins + ties / 2) / (len(positives) * len(negatives))


scored_labels = st.integers(2, 30).flatmap(
    lambda m: st.tuples(
        st.lists(st.integers(-3, 3), min_size=m, max_size=m),  # few values: many ties
        st.lists(st.integers(0, 1), min_size=m, max_size=m).filter(lambda ls: 0 < sum(ls) < m),
    )
)


@given(scored_labels)
def test_auroc_matches_pairwise_count(case):
    scores, labels = (np.array(values) for values in case)
    assert metrics.auroc(scores, labels) == pytest.approx(auroc_by_pairs(scores, labels))
    assert metrics.auroc(scores, labels.astype(bool)) == pytest.approx(
        auroc_by_pairs(scores, labels)
    )
    # swapping the classes (or negating the scores) mirrors the curve
    assert metrics.auroc(scores, 1 - labels) == pytest.approx(1 - metrics.auroc(scores, labels))
    assert metrics.auroc(-scores, labels) == pytest.approx(1 - metrics.auroc(scores, labels))


def test_auroc_known_values():
    labels = np.array([0, 0, 1, 1])
    assert metrics.auroc([0.1, 0.2, 0.8, 0.9], labels) == 1.0
    assert metrics.auroc([0.9, 0.8, 0.2, 0.1], labels) == 0.0
    assert metrics.auroc([0.5, 0.5, 0.5, 0.5], labels) == 0.5
    assert metrics.auroc([0.1, 0.8, 0.2, 0.9], labels) == 0.75


def test_auroc_bad_input():
    with pytest.raises(ValueError, match="auroc: expected both classes.*3 positives and 0"):
        metrics.auroc([0.1, 0.2, 0.3], [1, 1, 1])
    with pytest.raises(ValueError, match="auroc: expected scores and labels of the same shape"):
        metrics.auroc([0.1, 0.2, 0.3], [1, 0])
    with pytest.raises(ValueError, match="auroc: expected labels 0/1"):
        metrics.auroc([0.1, 0.2, 0.3], [1, 0, 2])
    with pytest.raises(ValueError, match="auroc: expected scores without NaN"):
        metrics.auroc([0.1, np.nan, 0.3], [1, 0, 1])


# ----------------------------------------------------------------------------------
# frechet_distance
# ----------------------------------------------------------------------------------


def feature_sets(seed, n=60, dims=4):
    """Two correlated Gaussian sample sets with different means and covariances."""
    generator = np.random.default_rng(seed)
    mixing_a, mixing_b = generator.normal(size=(2, dims, dims))
    a = generator.normal(size=(n, dims)) @ mixing_a
    b = generator.normal(size=(n + 7, dims)) @ mixing_b + generator.normal(size=dims)
    return a, b


seeds = st.integers(0, 2**32 - 1)


@given(seeds)
def test_frechet_distance_of_identical_sets_is_zero(seed):
    a, _ = feature_sets(seed)
    scale = np.trace(np.cov(a, rowvar=False))
    assert metrics.frechet_distance(a, a) < 1e-6 * scale
    assert metrics.frechet_distance(a, a[::-1]) < 1e-6 * scale  # sample order is irrelevant


@given(seeds)
def test_frechet_distance_1d_closed_form(seed):
    generator = np.random.default_rng(seed)
    a = generator.normal(1.0, 2.0, size=(40, 1))
    b = generator.normal(-0.5, 0.7, size=(50, 1))
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


@given(seeds)
def test_frechet_distance_invariances(seed):
    a, b = feature_sets(seed)
    distance = metrics.frechet_distance(a, b)
    generator = np.random.default_rng(seed)
    permutation = generator.permutation(a.shape[1])
    rotation, _ = np.linalg.qr(generator.normal(size=(a.shape[1], a.shape[1])))
    assert metrics.frechet_distance(b, a) == pytest.approx(distance, rel=1e-7)
    assert metrics.frechet_distance(a[:, permutation], b[:, permutation]) == pytest.approx(
        distance, rel=1e-9
    )
    assert metrics.frechet_distance(a @ rotation, b @ rotation) == pytest.approx(distance, rel=1e-7)


def test_frechet_distance_grows_with_noise():
    a, _ = feature_sets(0, n=500)
    noise = np.random.default_rng(1).normal(size=a.shape)
    distances = [metrics.frechet_distance(a, a + scale * noise) for scale in (0.1, 0.5, 1, 2)]
    assert distances == sorted(distances)
    assert distances[0] > 0


def test_frechet_distance_matches_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    a, b = feature_sets(3)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b).real
    mean_term = ((a.mean(0) - b.mean(0)) ** 2).sum()
    expected = mean_term + np.trace(cov_a + cov_b - 2 * covmean)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_bad_input():
    with pytest.raises(ValueError, match=r"frechet_distance: expected feature sets .*\(3, 4\)"):
        metrics.frechet_distance(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="frechet_distance: expected at least 2 samples"):
        metrics.frechet_distance(np.zeros((1, 4)), np.zeros((3, 4)))
