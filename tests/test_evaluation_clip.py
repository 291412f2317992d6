"""The CLIP report: recall, precision, the confusion matrix and the linear probe as maths;
an oracle that knows every caption scores 1 everywhere; an untrained CLIP goes through
evaluate and the pictures."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_helpers import assert_figures, write_log
from strategies import arrays

import scratchgen as sg
from scratchgen import evaluation
from scratchgen.data import Tokenizer, captioned_digits, seen_captioned_digits
from scratchgen.data.captions import DIGIT_NAMES, SLANTS, THICKNESSES
from scratchgen.evaluation import clip
from scratchgen.models.clip import CLIP

METRICS = {
    "zero_shot_digit_accuracy",
    "zero_shot_digit_accuracy_ensemble",
    "zero_shot_thickness_accuracy",
    "zero_shot_slant_accuracy",
    "image_to_text_recall_at_1",
    "image_to_text_recall_at_5",
    "text_to_image_precision_at_10",
    "held_out_recall_at_1",
    "seen_recall_at_1",
    "logit_scale",
    "linear_probe_accuracy",
}


class Oracle:
    """A CLIP that knows each digit's caption: an image's embedding is the unit vector of
    its (digit, thickness, slant) one-hots, a text's the one-hots of the words it has."""

    name = "clip"
    device = "cpu"
    similarity = CLIP.similarity
    class_embeddings = CLIP.class_embeddings

    def __init__(self):
        digits = [captioned_digits("train").arrays, captioned_digits("test").arrays]
        self.captions = {
            image.tobytes(): str(caption)
            for arrays in digits
            for image, caption in zip(arrays["image"], arrays["caption"])
        }

    def scale(self):
        return sg.tensor([10.0])

    def training_data(self, split="train"):
        return seen_captioned_digits(split)

    def encode_image(self, images):
        return self.encode_text([self.captions[image.tobytes()] for image in images])

    def encode_text(self, texts):
        Tokenizer().encode(texts)  # the words must be known, as for CLIP
        vectors = np.zeros((len(texts), 15))
        for row, text in enumerate(texts):
            words = text.split()
            names = [*DIGIT_NAMES, *THICKNESSES, *(slant.split()[-1] for slant in SLANTS)]
            vectors[row] = [name in words for name in names]
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# ----------------------------------------------------------------------------------
# the maths of the metrics
# ----------------------------------------------------------------------------------

score_tables = st.tuples(st.integers(1, 6), st.integers(1, 8)).flatmap(
    lambda shape: st.tuples(arrays(shape), st.lists(st.integers(0, shape[1] - 1), **_n(shape)))
)


def _n(shape):
    return {"min_size": shape[0], "max_size": shape[0]}


@given(table=score_tables)
def test_recall_grows_with_k_and_reaches_one_at_every_column(table):
    scores, truth = table
    recalls = [clip.recall_at_k(scores, truth, k) for k in range(1, scores.shape[1] + 1)]
    assert all(0 <= r <= 1 for r in recalls)
    assert recalls == sorted(recalls) and recalls[-1] == 1.0
    assert clip.recall_at_k(np.exp(scores), truth, 1) == recalls[0]  # only the order counts


def test_recall_counts_ties_against_the_truth_and_names_bad_shapes():
    assert clip.recall_at_k(np.eye(4), np.arange(4), 1) == 1.0
    assert clip.recall_at_k(np.ones((3, 4)), [0, 1, 2], 3) == 0.0
    assert clip.recall_at_k(np.ones((3, 4)), [0, 1, 2], 4) == 1.0
    with pytest.raises(ValueError, match=r"recall_at_k: expected scores \(N, M\), truth \(N,\)"):
        clip.recall_at_k(np.ones((3, 4)), [0, 1], 1)


def test_precision_at_k_is_the_share_of_relevant_items_among_the_best():
    scores = np.array([[0.9, 0.8, 0.1, 0.5], [0.1, 0.2, 0.3, 0.4]])
    relevant = np.array([[True, False, True, True], [True, True, False, False]])
    assert clip.precision_at_k(scores, relevant, 2) == pytest.approx((1 / 2 + 0) / 2)
    assert clip.precision_at_k(scores, relevant, 4) == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert clip.precision_at_k(scores, np.ones_like(relevant), 3) == 1.0
    with pytest.raises(ValueError, match="precision_at_k: expected scores and relevant"):
        clip.precision_at_k(scores, relevant, 5)
    with pytest.raises(ValueError, match="precision_at_k: expected at least one query"):
        clip.precision_at_k(scores[:0], relevant[:0], 2)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=30))
def test_the_confusion_matrix_counts_every_item_once(pairs):
    truth, predicted = np.array(pairs).T
    counts = clip.confusion_matrix(predicted, truth, 4)
    assert counts.sum() == len(pairs)
    assert np.trace(counts) == np.sum(truth == predicted)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(truth, minlength=4))


def test_the_linear_probe_separates_separable_features_and_not_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=300)
    separable = np.eye(3)[labels] * 2 + rng.normal(0, 0.1, size=(300, 3))
    assert clip.linear_probe(separable[:200], labels[:200], separable[200:], labels[200:]) == 1.0
    noise = rng.normal(size=(300, 3))
    assert clip.linear_probe(noise[:200], labels[:200], noise[200:], labels[200:], 100) < 0.6


def test_the_digit_ensemble_holds_the_single_prompt_and_the_six_captions():
    single, ensembles = clip.digit_prompts(), clip.digit_prompts(ensemble=True)
    assert single[8] == "an eight" and len(single) == 10
    assert all(len(prompts) == 7 and prompts[0] == single[d] for d, prompts in enumerate(ensembles))
    Tokenizer().encode([prompt for prompts in ensembles for prompt in prompts])
    assert clip.held_out_captions()[0] in ensembles[7]  # the text of held-out ones is fair


# ----------------------------------------------------------------------------------
# the report, on an oracle and on an untrained CLIP
# ----------------------------------------------------------------------------------


def test_an_oracle_scores_one_everywhere():
    results = evaluation.evaluate(Oracle())
    assert set(results) == METRICS
    for name in METRICS - {"image_to_text_recall_at_1", "logit_scale"}:
        assert results[name] == pytest.approx(1.0), name
    assert results["image_to_text_recall_at_1"] == 1.0 and results["logit_scale"] == 10.0


def test_the_oracle_retrieves_its_query_first():
    (images, scores), _ = clip.CLIPReport(Oracle()).retrieve(["a thin one upright", "a two"], 5)
    assert images.shape == (5, 1, 28, 28) and np.all(np.diff(scores) <= 0)
    assert scores[0] == pytest.approx(1.0)


@pytest.fixture
def few_digits(monkeypatch):
    """Every other test digit (held-out ones among them) and 200 training digits."""
    test = captioned_digits("test")[::2]
    train = seen_captioned_digits("train").subset(np.arange(0, 3554, 17))
    monkeypatch.setattr(clip.CLIPReport, "test_digits", lambda self: test)
    monkeypatch.setattr(CLIP, "training_data", lambda self, split="train": train)


@pytest.mark.usefixtures("few_digits")
def test_an_untrained_clip_goes_through_the_report(tmp_path, device):
    model = CLIP().to(device).eval()
    write_log(tmp_path, steps=5, loss=4.0, logit_scale=14.3)
    paths = evaluation.figures(model, tmp_path)
    assert_figures(paths, ["confusion.png", "logit_scale.png", "retrieval.png", "similarity.png"])
    results = evaluation.evaluate(model)
    assert set(results) == METRICS
    assert all(math.isfinite(value) for value in results.values())
    assert all(0 <= results[name] <= 1 for name in METRICS - {"logit_scale"})
    assert results["logit_scale"] == pytest.approx(1 / 0.07, rel=1e-5)


def test_snapshots_of_one_model_are_the_same_picture(tmp_path):
    model = CLIP().eval()
    first = evaluation.snapshot(model, tmp_path / "a.png").read_bytes()
    assert evaluation.snapshot(model, tmp_path / "b.png").read_bytes() == first
