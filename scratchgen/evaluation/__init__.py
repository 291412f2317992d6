"""Evaluation: the metrics and pictures of each model family, one floor above the models.

    from scratchgen import evaluation
    evaluation.evaluate(model)          {"metric": number, ...}  (``scratchgen eval``)
    evaluation.snapshot(model, path)    the picture after every epoch (the Trainer)
    evaluation.figures(model, out)      the pictures of a finished run

One module per family (autoencoder, vae, gan, classifier, pix2pix, cyclegan, clip,
ddpm) holds its Report; ``reference`` holds the reference classifier's use (features,
FID, class shares, conditional accuracy).
The pure metrics on arrays (psnr, ssim, auroc, frechet_distance) are `scratchgen.metrics`.
"""

from scratchgen.evaluation import (
    autoencoder,
    classifier,
    clip,
    cyclegan,
    ddpm,
    gan,
    pix2pix,
    reference,
    vae,
)
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


def evaluate(model, classifier=None, baseline=None):
    """The metrics of ``model`` (a dict of numbers and lists); classifier: the ruler.

    baseline: another trained model scored beside it on the same inputs, for the
    families whose Report lists the baseline's family in ``baselines`` (CycleGAN's
    denoise task takes a DAE); a ValueError for any other."""
    family_report = report(model)
    if baseline is None:
        return family_report.evaluate(classifier=classifier)
    accepted = getattr(family_report, "baselines", ())
    if baseline.name not in accepted:
        raise ValueError(
            f"evaluate: a {model.name!r} run takes a baseline of {' or '.join(accepted) or 'none'}"
            f", got a {baseline.name!r} run"
        )
    return family_report.evaluate(classifier=classifier, baseline=baseline)


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
    "clip",
    "classify",
    "conditional_accuracy",
    "cyclegan",
    "ddpm",
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
