"""The evaluation of Pix2Pix: triptychs, dropout draws, PSNR, SSIM, accuracy, FID, diversity.

snapshot      8 fixed test inputs | their translations | the targets, after every epoch
figures       d_outputs.png (the moving averages of D(real) and D(fake) over the steps,
              from the run's log), draws.png (8 dropout draws of 4 test inputs: one row
              per input, the input first), translations.png (16 test triptychs) and
              samples_over_epochs.png, a strip of the per-epoch snapshots
evaluate      on the 1,000 test pairs of the run's task: PSNR of the whole image (and of
              the hole alone for inpainting), SSIM, the reference classifier's accuracy
              on the outputs, FID against the test digits with its noise calibration
              point, diversity (the per-pixel spread of 8 draws), and the input itself
              scored the same way as a baseline

The translations draw dropout noise (pix2pix's only noise), so every picture and metric is
drawn ``with seeded():``: the same numbers each time, and training's stream left alone.
"""

from pathlib import Path

import numpy

from scratchgen import metrics, viz
from scratchgen.data import mnist
from scratchgen.data.synthetic import hole_slice
from scratchgen.evaluation import reference
from scratchgen.evaluation.gan import samples_over_epochs
from scratchgen.evaluation.report import Report, reports, seeded
from scratchgen.models.pix2pix import TASKS

EVAL_PAIRS = 1000  # test pairs scored by evaluate (a test lowers it)
DIVERSITY_INPUTS = 200  # inputs whose translations are drawn DRAWS times for the diversity
DRAWS = 8
LOG_FILE = "log.jsonl"  # the Trainer's per-step log (scratchgen.train sits above this module)


def task_data(task):
    """The data set function of a task ("inpaint" -> holed_digits, "edges" -> edges2digits)."""
    if task not in TASKS:
        raise ValueError(
            f"Pix2PixReport: expected task {' or '.join(map(repr, TASKS))}, got {task!r}"
        )
    return TASKS[task]


def spread(count, total):
    """``count`` indices evenly spread over range(total) (the test digits are sorted by
    class, so a few spread indices still show every digit)."""
    return numpy.linspace(0, total - 1, min(count, total)).round().astype(int)


def diversity(draws):
    """The mean over inputs and pixels of the per-pixel standard deviation over draws.

        diversity = mean_{i, p} std_k(y_{k, i, p}),   draws: (K, N, C, H, W)

    0 for a deterministic translator; larger when dropout changes the outputs.
    """
    return float(numpy.asarray(draws, dtype=numpy.float64).std(axis=0).mean())


@reports("pix2pix")
class Pix2PixReport(Report):
    """Triptychs, dropout draws and scores of a paired translator (``model.translate``)."""

    def test_pairs(self, count):
        """(inputs, targets, labels) of ``count`` test pairs of the model's task, spread."""
        test = task_data(self.model.task)("test").arrays
        chosen = spread(count, len(test["input"]))
        return test["input"][chosen], test["target"][chosen], test["label"][chosen]

    def triptych(self, path, count):
        """input | output | target of ``count`` test pairs, one row per pair."""
        inputs, targets, _ = self.test_pairs(count)
        with seeded(0):
            outputs = self.model.translate(inputs)
        columns = {"input": inputs, "output": outputs, "target": targets}
        return viz.before_after(columns, path, n=count)

    def snapshot(self, path):
        return self.triptych(path, 8)

    def figures(self, out):
        out = Path(out)
        return [
            self.d_outputs(out / "d_outputs.png", out / LOG_FILE),
            self.draws(out / "draws.png"),
            self.triptych(out / "translations.png", 16),
        ] + samples_over_epochs(out)

    def d_outputs(self, path, log):
        """The discriminator's mean sigmoid outputs on real and fake pairs, per step."""
        records = viz.read_log(log)
        title = "D(input, target) and D(input, G(input))"
        return viz.loss_curves(records, path, keys=["d_real", "d_fake"], title=title)

    def draws(self, path, inputs=4):
        """One row per test input: the input, then DRAWS translations of it."""
        images, _, labels = self.test_pairs(inputs)
        with seeded(0):
            draws = numpy.stack([self.model.translate(images) for _ in range(DRAWS)], axis=1)
        rows = numpy.concatenate([images[:, None], draws], axis=1)  # (inputs, 1 + DRAWS, ...)
        return viz.image_grid(
            rows.reshape(-1, *images.shape[1:]),
            path,
            nrow=1 + DRAWS,
            title=f"input, then {DRAWS} dropout draws",
            row_labels=labels.tolist(),
        )

    def evaluate(self, classifier=None):
        """The scores of the translations of EVAL_PAIRS test pairs (seed 0) and of the
        inputs themselves (the baseline a translator has to beat)."""
        inputs, targets, labels = self.test_pairs(EVAL_PAIRS)
        test_digits = mnist("test").arrays["image"]
        with seeded(0):
            outputs = self.model.translate(inputs)
            draws = [self.model.translate(inputs[:DIVERSITY_INPUTS]) for _ in range(DRAWS)]
        results = {"psnr": metrics.psnr(outputs, targets)}
        if self.model.task == "inpaint":
            rows, columns = hole_slice()
            hole = (..., rows, columns)
            results["psnr_hole"] = metrics.psnr(outputs[hole], targets[hole])
        return results | {
            "ssim": metrics.ssim(outputs, targets),
            "classifier_accuracy": reference.conditional_accuracy(outputs, labels, classifier),
            "fid": reference.fid(outputs, test_digits, classifier),
            "fid_noise_calibration": reference.fid(
                reference.noisy(test_digits), test_digits, classifier
            ),
            "diversity": diversity(draws),
            "psnr_input": metrics.psnr(inputs, targets),
            "classifier_accuracy_input": reference.conditional_accuracy(inputs, labels, classifier),
        }
