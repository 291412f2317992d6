"""Evaluation: the metrics and pictures of each model family, one floor above the models.

    from scratchgen import evaluation
    evaluation.evaluate(model)          {"metric": number, ...}  (``scratchgen eval``)
    evaluation.snapshot(model, path)    the picture after every epoch (the Trainer)
    evaluation.figures(model, out)      the pictures of a finished run

One module per family (autoencoder, vae, gan, classifier, pix2pix) holds its Report; ``reference``
holds the reference classifier's use (features, FID, class shares, conditional accuracy).
The pure metrics on arrays (psnr, ssim, auroc, frechet_distance) are `scratchgen.metrics`.
"""

from scratchgen.evaluation import autoencoder, classifier, gan, pix2pix, reference, vae
from scratchgen.evaluation.reference import (
    class_shares,
    classify,
    conditional_accuracy,
    features,
    fid,
    noisy,
    reference_classifier,
)
from scratchgen.evaluation.report import Report, report, reports, seeded


def evaluate(model, classifier=None):
    """The metrics of ``model`` (a dict of numbers and lists); classifier: the ruler."""
    return report(model).evaluate(classifier=classifier)


def snapshot(model, path):
    """Write the per-epoch picture of ``model`` to ``path``; returns the path."""
    return report(model).snapshot(path)


def figures(model, out):
    """Write the pictures of a finished run of ``model`` into folder ``out``; their paths."""
    return report(model).figures(out)


__all__ = [
    "Report",
    "autoencoder",
    "class_shares",
    "classifier",
    "classify",
    "conditional_accuracy",
    "evaluate",
    "features",
    "fid",
    "figures",
    "gan",
    "noisy",
    "pix2pix",
    "reference",
    "reference_classifier",
    "report",
    "reports",
    "seeded",
    "snapshot",
    "vae",
]
