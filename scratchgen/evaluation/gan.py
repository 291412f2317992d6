"""The evaluation of the DCGAN and the conditional GAN: sample grids, FID, class shares.

snapshot      64 digits from fixed noise (seed 0), the same latents every epoch
              (the CGAN: one row per digit, 8 columns sharing z)
figures       samples.png (the CGAN: class_grid.png, 10 x 10) and
              samples_over_epochs.png, a strip of the per-epoch snapshots
evaluate      FID of 1,000 samples (fixed noise, seed 1) against the 1,000 test
              digits; the FID of noisy test digits (the calibration point); the
              samples' class shares; the CGAN also the conditional accuracy of
              samples asked for the digits 0, 1, ..., 9, 0, ... in turn
"""

from pathlib import Path

import numpy

from scratchgen import viz
from scratchgen.data import mnist
from scratchgen.evaluation import reference
from scratchgen.evaluation.report import Report, reports
from scratchgen.models.gan import CLASSES, fixed_noise

EVAL_SAMPLES = 1000


def samples_over_epochs(out):
    """out/samples_over_epochs.png from the snapshots in out/samples, as a list of paths
    (empty when there are none)."""
    strip = viz.snapshot_strip(Path(out) / "samples", Path(out) / "samples_over_epochs.png")
    return [strip] if strip else []


@reports("gan")
class DCGANReport(Report):
    """Pictures and metrics of an unconditional GAN (``model.generate_images``)."""

    def snapshot(self, path):
        images = self.model.generate_images(fixed_noise(64, seed=0))
        return viz.image_grid(images, path, nrow=8)

    def figures(self, out):
        samples = viz.image_grid(self.model.sample(100), Path(out) / "samples.png", nrow=10)
        return [samples] + samples_over_epochs(out)

    def eval_labels(self):
        """The labels of the evaluation samples (None: unconditional)."""
        return None

    def evaluate(self, classifier=None):
        test = mnist("test").arrays["image"]
        labels = self.eval_labels()
        samples = self.model.generate_images(fixed_noise(EVAL_SAMPLES, seed=1), labels)
        return reference.sample_scores(samples, test, labels, classifier)


@reports("cgan")
class ConditionalGANReport(DCGANReport):
    """The DCGAN's report with class grids and the conditional accuracy."""

    def class_grid(self, path, columns=10, seed=0):
        """One row per digit 0..9; column j shares its z across the rows (same style)."""
        z = numpy.tile(fixed_noise(columns, seed), (CLASSES, 1))
        labels = numpy.repeat(numpy.arange(CLASSES), columns)
        images = self.model.generate_images(z, labels)
        return viz.image_grid(images, path, nrow=columns, row_labels=list(range(CLASSES)))

    def snapshot(self, path):
        return self.class_grid(path, columns=8)

    def figures(self, out):
        return [self.class_grid(Path(out) / "class_grid.png")] + samples_over_epochs(out)

    def eval_labels(self):
        return numpy.arange(EVAL_SAMPLES) % CLASSES
