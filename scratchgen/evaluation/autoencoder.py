"""The evaluation of the autoencoders: reconstructions, the latent space, PSNR and SSIM.

snapshot      8 test digits and their reconstructions (the DAE: clean / noisy /
              denoised), after every epoch
figures       latent_scatter.png (the test codes' first two principal components),
              interpolation.png (decoded straight lines between pairs of codes);
              the DAE also denoising.png (16 digits)
evaluate      the MLP AE: test BCE (nats per digit) and reconstruction PSNR; the DAE:
              PSNR and SSIM of noisy and denoised test digits, and how many of the
              clean, noisy and denoised digits the reference classifier reads right
"""

import numpy

import scratchgen as sg
from scratchgen import metrics, viz
from scratchgen.data import mnist
from scratchgen.evaluation import reference
from scratchgen.evaluation.report import Report, reports

SHOWN = 8  # test digits shown in the per-epoch pictures


def project_2d(points):
    """The first two principal components of (N, D) points: a 2-D view of a latent space."""
    centred = points - points.mean(axis=0)
    _, _, directions = numpy.linalg.svd(centred, full_matrices=False)
    return centred @ directions[:2].T


def noisy_test_digits(model, images):
    """The fixed noisy test set of the DAE's evaluation: ``noisy`` at the model's sigma,
    seed 0 (every run is scored on the same noisy digits)."""
    return reference.noisy(images, model.noise, seed=0)


class AutoEncoderReport(Report):
    """Reconstructions, the latent scatter and interpolations of any autoencoder (the
    model's ``code``, ``decode`` and ``reconstruct``)."""

    def shown_digits(self):
        """A fixed set of test digits (one per class where possible) for the pictures."""
        return mnist("test").arrays["image"][::100][:SHOWN]

    def snapshot(self, path):
        digits = self.shown_digits()
        columns = {"input": digits, "reconstruction": self.model.reconstruct(digits)}
        return viz.before_after(columns, path)

    def figures(self, out):
        test = mnist("test")
        with sg.no_grad():
            codes = self.model.code(test.arrays["image"]).numpy()
        return [
            viz.latent_scatter(
                project_2d(codes),
                test.arrays["label"],
                f"{out}/latent_scatter.png",
                title="test codes, first two principal components",
            ),
            self.interpolations(f"{out}/interpolation.png"),
        ]

    def interpolations(self, path, steps=10):
        """Decode straight lines between the codes of pairs of test digits (0->5, 1->6 ...)."""
        model, test = self.model, mnist("test")
        starts, ends = test.arrays["image"][0:500:100], test.arrays["image"][550:1000:100]
        with sg.no_grad():
            z_start, z_end = model.code(starts).numpy(), model.code(ends).numpy()
            rows = []
            for a, b in zip(z_start, z_end):
                weights = numpy.linspace(0.0, 1.0, steps, dtype=numpy.float32)[:, None]
                line = sg.tensor((1 - weights) * a + weights * b, device=model.device)
                rows.append(model.decode(line).sigmoid().numpy())
        return viz.interpolation_strip(rows, path, title="latent interpolation")


@reports("ae")
class MLPAutoEncoderReport(AutoEncoderReport):
    """The MLP autoencoder: test BCE and the PSNR of its reconstructions."""

    def evaluate(self, classifier=None):
        test = mnist("test").arrays["image"]
        with sg.no_grad():
            loss = self.model.loss(test).item()
        return {
            "test_bce_nats": loss,
            "psnr_reconstruction": metrics.psnr(self.model.reconstruct(test), test),
        }


@reports("dae")
class DenoisingAutoEncoderReport(AutoEncoderReport):
    """The DAE: clean / noisy / denoised pictures; PSNR, SSIM and the classifier's reading."""

    def snapshot(self, path):
        digits = self.shown_digits()
        noisy = noisy_test_digits(self.model, digits)
        columns = {"clean": digits, "noisy": noisy, "denoised": self.model.reconstruct(noisy)}
        return viz.before_after(columns, path)

    def figures(self, out):
        test = mnist("test").arrays["image"][::60][:16]  # 16 digits across the classes
        noisy = noisy_test_digits(self.model, test)
        columns = {"clean": test, "noisy": noisy, "denoised": self.model.reconstruct(noisy)}
        return super().figures(out) + [viz.before_after(columns, f"{out}/denoising.png", n=16)]

    def evaluate(self, classifier=None):
        """PSNR and SSIM of noisy and denoised test digits; the classifier's accuracy on them."""
        test = mnist("test")
        clean, labels = test.arrays["image"], test.arrays["label"]
        noisy = noisy_test_digits(self.model, clean)
        denoised = self.model.reconstruct(noisy)

        def accuracy(images):
            return reference.conditional_accuracy(images, labels, classifier)

        return {
            "noise_sigma": self.model.noise,
            "psnr_noisy": metrics.psnr(noisy, clean),
            "psnr_denoised": metrics.psnr(denoised, clean),
            "ssim_noisy": metrics.ssim(noisy, clean),
            "ssim_denoised": metrics.ssim(denoised, clean),
            "classifier_acc_clean": accuracy(clean),
            "classifier_acc_noisy": accuracy(noisy),
            "classifier_acc_denoised": accuracy(denoised),
        }
