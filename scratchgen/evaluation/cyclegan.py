"""The evaluation of CycleGAN: round trips, loss terms, and scores against the kept truth.

snapshot      8 test digits spread over the classes, one row each:
              A | G_AB(A) | G_BA(G_AB(A)) | B | G_BA(B) | G_AB(G_BA(B)), after every epoch
figures       generator_terms.png (the adversarial, cycle and identity terms of both
              directions over the steps, from the run's log), critics.png (both critics'
              halved losses), cycles.png (16 test rows as the snapshot) and
              samples_over_epochs.png, a strip of the per-epoch snapshots
evaluate      on the 1,000 test pairs the data set keeps (never seen in training):
              ink      PSNR of G_AB(a) against ink(a) and of G_BA(ink(a)) against a; the
                       reference classifier's accuracy on G_BA(ink(a)) turned grey (the
                       channel mean) and its FID against the test digits; the mean cycle
                       error |G_BA(G_AB(a)) - a| and |G_AB(G_BA(b)) - b| both ways
              denoise  PSNR, SSIM and classifier accuracy of G_AB(noisy) against the clean
                       truth, beside the noisy input itself and, when a run of the paired
                       DAE of chapter 2 is named (``scratchgen eval RUN --baseline DAE_RUN``),
                       that DAE on the same noisy digits; all on the 28x28 centre crop
                       that the DAE and the classifier read (the padding is noise alone)

Translation is deterministic (instance norm on each image's own statistics, no dropout),
so the pictures and scores need no seed.
"""

from pathlib import Path

import numpy

from scratchgen import metrics, viz
from scratchgen.data import mnist
from scratchgen.evaluation import reference
from scratchgen.evaluation.gan import samples_over_epochs
from scratchgen.evaluation.pix2pix import spread
from scratchgen.evaluation.report import Report, reports
from scratchgen.models.cyclegan import TASKS

EVAL_PAIRS = 1000  # test pairs scored by evaluate (a test lowers it)
LOG_FILE = "log.jsonl"  # the Trainer's per-step log (scratchgen.train sits above this module)
GENERATOR_TERMS = ["loss_gan_ab", "loss_gan_ba", "loss_cycle_a", "loss_cycle_b"]
GENERATOR_TERMS += ["loss_id_a", "loss_id_b"]
CRITIC_TERMS = ["loss_d_a", "loss_d_b"]
CROP = (..., slice(2, 30), slice(2, 30))  # 32x32 -> the 28x28 digit frame
NO_BASELINE = "none named: scratchgen eval RUN --baseline DAE_RUN adds a paired DAE"


def grey(images):
    """(N, C, H, W) -> (N, 1, H, W), the mean over channels (3-channel grey digits back
    to one channel for the classifier)."""
    return numpy.asarray(images).mean(axis=1, keepdims=True)


def cycle_error(round_trip, original):
    """The mean absolute error of a round trip, in [0, 1] pixel units:
    mean |F(G(x)) - x| over images and pixels (0: the cycle returns x exactly)."""
    return float(numpy.abs(numpy.asarray(round_trip, numpy.float64) - original).mean())


@reports("cyclegan")
class CycleGANReport(Report):
    """Round trips and scores of an unpaired translator pair (``model.translate``)."""

    baselines = ("dae",)  # the families whose runs ``evaluate(baseline=...)`` accepts

    def test_pairs(self, count):
        """(a, b, labels) of ``count`` test pairs of the model's task, spread over the
        classes; b[i] is the truth of a[i] (its ink version, or its clean digit)."""
        test = TASKS[self.model.task]("test").arrays
        chosen = spread(count, len(test["a"]))
        return test["a"][chosen], test["b"][chosen], test["label"][chosen]

    def round_trips(self, a, b):
        """{name: images} of both cycles: A, G_AB(A), G_BA(G_AB(A)), B, G_BA(B),
        G_AB(G_BA(B))."""
        translate = self.model.translate
        forward, backward = translate(a, "AB"), translate(b, "BA")
        return {
            "A": a,
            "G_AB(A)": forward,
            "G_BA(G_AB(A))": translate(forward, "BA"),
            "B": b,
            "G_BA(B)": backward,
            "G_AB(G_BA(B))": translate(backward, "AB"),
        }

    def cycles(self, path, count):
        a, b, _ = self.test_pairs(count)
        return viz.before_after(self.round_trips(a, b), path, n=count)

    def snapshot(self, path):
        return self.cycles(path, 8)

    def figures(self, out):
        out = Path(out)
        records = viz.read_log(out / LOG_FILE)
        title = "the translators' terms: adversarial, cycle, identity"
        return [
            viz.loss_curves(records, out / "generator_terms.png", GENERATOR_TERMS, title=title),
            viz.loss_curves(records, out / "critics.png", CRITIC_TERMS, title="critics, halved"),
            self.cycles(out / "cycles.png", 16),
        ] + samples_over_epochs(out)

    def evaluate(self, classifier=None, baseline=None):
        """The task's scores on EVAL_PAIRS test pairs; baseline: a trained DAE (denoise)."""
        if baseline is not None and self.model.task != "denoise":
            raise ValueError(
                f"evaluate: a baseline applies to task 'denoise', not {self.model.task!r}"
            )
        a, b, labels = self.test_pairs(EVAL_PAIRS)
        trips = self.round_trips(a, b)
        results = {
            "cycle_error_a": cycle_error(trips["G_BA(G_AB(A))"], a),
            "cycle_error_b": cycle_error(trips["G_AB(G_BA(B))"], b),
        }
        if self.model.task == "ink":
            return self.ink_scores(trips, labels, classifier) | results
        return self.denoise_scores(trips, labels, classifier, baseline) | results

    def ink_scores(self, trips, labels, classifier):
        """G_AB(a) against the true ink(a); G_BA(ink(a)) against a, read and compared
        with the test digits by the reference classifier."""
        test_digits = mnist("test").arrays["image"]
        back = grey(trips["G_BA(B)"])
        return {
            "psnr_ab": metrics.psnr(trips["G_AB(A)"], trips["B"]),
            "psnr_ba": metrics.psnr(trips["G_BA(B)"], trips["A"]),
            "classifier_accuracy_ba": reference.conditional_accuracy(back, labels, classifier),
            "fid_ba": reference.fid(back, test_digits, classifier),
            "fid_noise_calibration": reference.fid(
                reference.noisy(test_digits), test_digits, classifier
            ),
        }

    def denoise_scores(self, trips, labels, classifier, baseline):
        """PSNR, SSIM and accuracy of the cleaned, the noisy and (with a baseline) the
        DAE's digits against the clean truth, on the 28x28 crop."""
        clean, noisy = trips["B"][CROP], trips["A"][CROP]
        candidates = {"cleaned": trips["G_AB(A)"][CROP], "noisy": noisy}
        if baseline is not None:
            candidates["dae"] = baseline.reconstruct(noisy)
        results = {}
        for name, images in candidates.items():
            results |= {
                f"psnr_{name}": metrics.psnr(images, clean),
                f"ssim_{name}": metrics.ssim(images, clean),
                f"classifier_accuracy_{name}": reference.conditional_accuracy(
                    images, labels, classifier
                ),
            }
        return results | {
            "dae_baseline": NO_BASELINE if baseline is None else f"a DAE (noise {baseline.noise})"
        }
