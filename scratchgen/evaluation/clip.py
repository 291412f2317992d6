"""The evaluation of CLIP: zero-shot reading of digits and attributes, retrieval, a probe.

snapshot      the similarity matrix of 16 test digits against their 16 captions
figures       similarity.png (that matrix), confusion.png (the zero-shot confusion matrix
              of the prompt ensemble), retrieval.png (the best test digits for four
              queries, one a held-out composition) and logit_scale.png (s over training,
              from the run's log)
evaluate      on the 1,000 test digits: zero-shot digit accuracy with one template
              ("a seven") and with the prompt ensemble, zero-shot thickness and slant
              accuracy, image-to-text recall@1 and @5 over the 60 captions of the
              grammar, text-to-image precision@10, recall@1 of the held-out and of the
              seen compositions apart, and a linear probe on the frozen image embeddings

Prompts use only the tokenizer's words. The digit's ensemble is the mean of the unit
embeddings of "a NAME" and the six captions "a <thin|thick> NAME <slant>", renormalised
(``model.zero_shot``). Thickness and slant are read from each digit's best caption of the
60 (thin and thick are relative to the digit's class, so a mean over the 30 captions of
"thin" mixes ten directions; it read 87% against 94.5% in a 25-epoch run).
"""

import functools
from pathlib import Path

import numpy
from matplotlib.figure import Figure

import scratchgen as sg
from scratchgen import nn, optim, viz
from scratchgen.data import (
    all_captions,
    captioned_digits,
    class_prompts,
    held_out_captions,
    is_held_out,
    make_caption,
    parse_caption,
)
from scratchgen.data.captions import DIGIT_NAMES, SLANTS, THICKNESSES
from scratchgen.evaluation.pix2pix import spread
from scratchgen.evaluation.report import Report, reports, seeded
from scratchgen.nn import functional as F
from scratchgen.viz import _save as save_figure

LOG_FILE = "log.jsonl"  # the Trainer's per-step log (scratchgen.train sits above this module)
QUERIES = (  # the retrieval figure's; the first is a held-out composition
    "a thick seven leaning right",
    "a thin one upright",
    "a thick zero leaning right",
    "a thin six leaning left",
)
PROBE_STEPS = 300


# ----------------------------------------------------------------------------------
# prompts
# ----------------------------------------------------------------------------------


def digit_prompts(ensemble=False):
    """One entry per digit: "a seven" alone, or with the six captions of the digit."""
    single = class_prompts()
    if not ensemble:
        return single
    return [
        [single[digit]] + [make_caption(digit, t, v) for t in THICKNESSES for v in SLANTS]
        for digit in range(10)
    ]


# ----------------------------------------------------------------------------------
# metrics on arrays
# ----------------------------------------------------------------------------------


def recall_at_k(scores, truth, k):
    """The share of rows whose true column is among their k highest scores.

        R@k = 1/N sum_i [rank of scores[i, truth_i] in row i < k],   scores (N, M)

    Ties count against the truth (a row of equal scores ranks it last), so a constant
    score gives no recall for k < M.
    """
    scores = numpy.asarray(scores, dtype=numpy.float64)
    truth = numpy.asarray(truth)
    if scores.ndim != 2 or truth.shape != scores.shape[:1] or not 1 <= k:
        raise ValueError(
            f"recall_at_k: expected scores (N, M), truth (N,) and k >= 1, got "
            f"{scores.shape}, {truth.shape} and k={k}"
        )
    true_scores = scores[numpy.arange(len(scores)), truth]
    better_or_equal = (scores >= true_scores[:, None]).sum(axis=1) - 1  # other columns
    return float((better_or_equal < k).mean())


def precision_at_k(scores, relevant, k):
    """The mean over queries (rows) of the share of relevant items among their k best:

    P@k = 1/Q sum_q |top_k(scores[q]) & relevant[q]| / k,   scores, relevant (Q, N)
    """
    scores = numpy.asarray(scores, dtype=numpy.float64)
    relevant = numpy.asarray(relevant, dtype=bool)
    if scores.shape != relevant.shape or scores.ndim != 2 or not 1 <= k <= scores.shape[1]:
        raise ValueError(
            f"precision_at_k: expected scores and relevant of one shape (Q, N) and "
            f"1 <= k <= N, got {scores.shape}, {relevant.shape} and k={k}"
        )
    if not len(scores):
        raise ValueError("precision_at_k: expected at least one query, got none")
    top = numpy.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(numpy.take_along_axis(relevant, top, axis=1).mean())


def confusion_matrix(predicted, truth, classes):
    """counts[t, p]: how many items of true class t were predicted as p."""
    counts = numpy.zeros((classes, classes), dtype=numpy.int64)
    numpy.add.at(counts, (numpy.asarray(truth), numpy.asarray(predicted)), 1)
    return counts


def linear_probe(train_features, train_labels, test_features, test_labels, steps=PROBE_STEPS):
    """Test accuracy of a logistic regression on frozen features, fitted with scratchgen:
    the features standardised with the training mean and spread, then one Linear layer
    trained by full-batch Adam (lr 0.05) on the cross-entropy for ``steps`` steps (seed 0).
    """
    mean, std = train_features.mean(axis=0), train_features.std(axis=0) + 1e-6
    x_train = sg.tensor((train_features - mean) / std, dtype=sg.float32)
    x_test = sg.tensor((test_features - mean) / std, dtype=sg.float32)
    y_train = sg.tensor(numpy.asarray(train_labels, dtype=numpy.int64))
    with seeded(0):
        probe = nn.Linear(x_train.shape[1], int(numpy.max(train_labels)) + 1)
    optimizer = optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(steps):
        loss = F.cross_entropy(probe(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with sg.no_grad():
        predicted = probe(x_test).numpy().argmax(axis=1)
    return float((predicted == numpy.asarray(test_labels)).mean())


def attribute_accuracies(similarity, grammar, captions):
    """Zero-shot thickness and slant: each digit's attribute read from its best caption
    among the grammar's (a max over the captions with each value, where the mean over
    them mixes ten digits' directions: thin and thick are relative to each class)."""
    best = [parse_caption(grammar[index]) for index in similarity.argmax(axis=1)]
    truth = [parse_caption(str(caption)) for caption in captions]
    return {
        f"zero_shot_{attribute}_accuracy": float(
            numpy.mean([b[attribute] == t[attribute] for b, t in zip(best, truth)])
        )
        for attribute in ("thickness", "slant")
    }


def retrieval_scores(similarity, grammar, captions):
    """From the cosine similarities (N, 60) of the test digits to the grammar's captions:
    image -> text recall@1 and @5, text -> image precision@10 over the captions with at
    least 10 test digits, and recall@1 of the held-out and the seen compositions apart."""
    truth = numpy.array([grammar.index(caption) for caption in captions])
    held_out = is_held_out(captions)
    relevant = truth[None, :] == numpy.arange(len(grammar))[:, None]  # (60, N)
    queried = relevant.sum(axis=1) >= 10
    return {
        "image_to_text_recall_at_1": recall_at_k(similarity, truth, 1),
        "image_to_text_recall_at_5": recall_at_k(similarity, truth, 5),
        "text_to_image_precision_at_10": precision_at_k(
            similarity.T[queried], relevant[queried], 10
        ),
        "held_out_recall_at_1": recall_at_k(similarity[held_out], truth[held_out], 1),
        "seen_recall_at_1": recall_at_k(similarity[~held_out], truth[~held_out], 1),
    }


# ----------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------


def similarity_figure(images, captions, similarity, path, title):
    """The digits down the left, their captions along the bottom, cosine similarities."""
    figure = Figure(figsize=(9, 7.5))
    grid = figure.add_gridspec(1, 3, width_ratios=[1, len(captions), 0.6], wspace=0.05)
    strip = figure.add_subplot(grid[0])
    strip.imshow(viz.make_grid(images, nrow=1, padding=0), cmap="gray", vmin=0, vmax=1)
    strip.set_axis_off()
    heat = figure.add_subplot(grid[1])
    shown = heat.imshow(similarity, cmap="viridis", vmin=-1, vmax=1)
    heat.set_xticks(range(len(captions)), captions, rotation=90, fontsize=7)
    heat.set_yticks([])
    heat.set_title(title)
    figure.colorbar(shown, cax=figure.add_subplot(grid[2]), label="cosine similarity")
    return save_figure(figure, path)


def confusion_figure(counts, path, title):
    """The zero-shot confusion matrix, counts written in the cells."""
    figure = Figure(figsize=(6, 5.5))
    axes = figure.add_subplot()
    axes.imshow(counts, cmap="Blues")
    for (row, column), count in numpy.ndenumerate(counts):
        colour = "white" if count > counts.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axes.set_xticks(range(10), DIGIT_NAMES, rotation=45)
    axes.set_yticks(range(10), DIGIT_NAMES)
    axes.set_xlabel("zero-shot prediction")
    axes.set_ylabel("true digit")
    axes.set_title(title)
    return save_figure(figure, path)


def retrieval_figure(queries, images, scores, path, columns=8):
    """For each query its best digits (images[q]: (k, 1, H, W)), each titled with its
    cosine similarity (scores[q]: (k,)), ``columns`` a row; the query left of its block."""
    block_rows = [-(-len(found) // columns) for found in images]
    figure = Figure(figsize=(1.0 * columns + 2.5, 1.1 * sum(block_rows) + 0.3))
    row = 0
    for query, found, found_scores, rows in zip(queries, images, scores, block_rows):
        for index, (image, score) in enumerate(zip(found, found_scores)):
            position = (row + index // columns) * columns + index % columns + 1
            axes = figure.add_subplot(sum(block_rows), columns, position)
            axes.imshow(image[0], cmap="gray", vmin=0, vmax=1)
            axes.set_title(f"{score:.2f}", fontsize=8)
            axes.set_axis_off()
            if index == 0:
                axes.text(-0.2, 0.5, query, transform=axes.transAxes, ha="right", va="center")
        row += rows
    return save_figure(figure, path)


# ----------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------


@reports("clip")
class CLIPReport(Report):
    """Pictures and metrics of a contrastive image-text model (``model.encode_image``,
    ``encode_text``, ``zero_shot``) on the captioned test digits."""

    def test_digits(self):
        return captioned_digits("test").arrays

    @functools.cached_property
    def test_embeddings(self):
        """The unit embeddings (N, 64) of the test digits, encoded once per report."""
        return self.model.encode_image(self.test_digits()["image"])

    def zero_shot_predictions(self, prompts):
        """The predicted class of each test digit: its most similar class embedding."""
        return (self.test_embeddings @ self.model.class_embeddings(prompts).T).argmax(axis=1)

    def snapshot(self, path):
        """The similarity matrix of 16 test digits (spread over the classes) and their
        captions: a bright diagonal once images and texts agree."""
        test = self.test_digits()
        chosen = spread(16, len(test["image"]))
        images, captions = test["image"][chosen], test["caption"][chosen].tolist()
        similarity = self.model.similarity(images, captions)
        matched = numpy.mean(similarity.argmax(axis=1) == numpy.arange(len(chosen)))
        title = f"image x caption similarity ({matched:.0%} of rows peak on the diagonal)"
        return similarity_figure(images, captions, similarity, path, title)

    def figures(self, out):
        out = Path(out)
        paths = [
            self.snapshot(out / "similarity.png"),
            self.confusion(out / "confusion.png"),
            self.retrieval(out / "retrieval.png"),
        ]
        if (out / LOG_FILE).is_file():
            records = viz.read_log(out / LOG_FILE)
            title = "logit scale s = exp(t) (the inverse temperature)"
            paths.append(
                viz.loss_curves(records, out / "logit_scale.png", ["logit_scale"], 1, title)
            )
        return paths

    def confusion(self, path):
        test = self.test_digits()
        predicted = self.zero_shot_predictions(digit_prompts(ensemble=True))
        accuracy = numpy.mean(predicted == test["label"])
        counts = confusion_matrix(predicted, test["label"], 10)
        return confusion_figure(counts, path, f"zero-shot, prompt ensemble: {accuracy:.1%}")

    def retrieve(self, queries, k):
        """For each query (a text): (images (k, 1, 28, 28), cosine similarities (k,)) of
        the k test digits that match it best, the best first."""
        test = self.test_digits()
        scores = self.test_embeddings @ self.model.encode_text(list(queries)).T  # (N, Q)
        best = numpy.argsort(-scores, axis=0, kind="stable")[:k]  # (k, Q)
        return [(test["image"][best[:, q]], scores[best[:, q], q]) for q in range(len(queries))]

    def retrieval(self, path, queries=QUERIES, k=8):
        found = self.retrieve(queries, k)
        labels = [f"{q}\n(held out)" if q in held_out_captions() else q for q in queries]
        return retrieval_figure(labels, [f[0] for f in found], [f[1] for f in found], path)

    def evaluate(self, classifier=None):
        """The metrics on the test digits; ``classifier`` is not used (CLIP reads
        digits itself)."""
        test = self.test_digits()
        labels, captions = test["label"], test["caption"]
        grammar = all_captions()
        similarity = self.test_embeddings @ self.model.encode_text(grammar).T
        results = {
            "zero_shot_digit_accuracy": self.zero_shot_accuracy(digit_prompts(), labels),
            "zero_shot_digit_accuracy_ensemble": self.zero_shot_accuracy(
                digit_prompts(ensemble=True), labels
            ),
        }
        results |= attribute_accuracies(similarity, grammar, captions)
        results |= retrieval_scores(similarity, grammar, captions)
        return results | {"logit_scale": self.model.scale().item()} | self.probe()

    def zero_shot_accuracy(self, prompts, truth):
        return float(numpy.mean(self.zero_shot_predictions(prompts) == truth))

    def probe(self):
        """The supervised reference: a logistic regression on the frozen embeddings of
        the training digits the model saw."""
        train = self.model.training_data("train").arrays
        accuracy = linear_probe(
            self.model.encode_image(train["image"]),
            train["label"],
            self.test_embeddings,
            self.test_digits()["label"],
        )
        return {"linear_probe_accuracy": accuracy}
