"""The evaluation of the VAE: prior samples, the bound on test digits, FID, anomalies.

snapshot      64 samples from fixed prior noise (seed 0), the same latents every epoch
figures       the autoencoders' latent scatter and interpolations, prior_samples.png
              (100 samples) and reconstructions.png (16 test digits)
evaluate      test -ELBO (10-sample mean per digit) and IWAE-64 bound in nats, FID of
              1,000 prior samples against the test digits with its calibration point,
              their class shares; trained with ``exclude=d``, the AUROC of the -ELBO
              as a score for digit d against the rest
"""

import numpy

import scratchgen as sg
from scratchgen import losses, metrics, viz
from scratchgen.data import mnist
from scratchgen.evaluation import reference
from scratchgen.evaluation.autoencoder import AutoEncoderReport
from scratchgen.evaluation.report import reports, seeded
from scratchgen.models.autoencoder import as_images

EVAL_SAMPLES = 1000


@reports("vae")
class VAEReport(AutoEncoderReport):
    """The VAE: prior samples and reconstructions; its bounds, FID and class shares."""

    def snapshot(self, path):
        model = self.model
        z = numpy.random.default_rng(0).standard_normal((64, model.latent)).astype(numpy.float32)
        with sg.no_grad():
            samples = model.decode(sg.tensor(z, device=model.device)).sigmoid().numpy()
        return viz.image_grid(samples, path, nrow=8)

    def figures(self, out):
        digits = mnist("test").arrays["image"][::60][:16]
        columns = {"digit": digits, "reconstruction": self.model.reconstruct(digits)}
        return super().figures(out) + [
            viz.image_grid(self.model.sample(100), f"{out}/prior_samples.png", nrow=10),
            viz.before_after(columns, f"{out}/reconstructions.png", n=16),
        ]

    def evaluate(self, classifier=None):
        """Test -ELBO and IWAE-64 (nats), FID of 1,000 prior samples, their class shares
        (the bounds' and the samples' noise drawn under seed 0: the same numbers each time)."""
        model, test = self.model, mnist("test")
        images, labels = test.arrays["image"], test.arrays["label"]
        with seeded(0):
            neg_elbo = model.per_digit_neg_elbo(images)
            iwae = losses.iwae_bound(model, as_images(images, model.device), k=64, batch_size=100)
            samples = model.sample(EVAL_SAMPLES)
        results = {
            "test_neg_elbo_nats": float(neg_elbo.mean()),
            "iwae64_nats": -iwae.item(),
            "fid": reference.fid(samples, images, classifier),
            "fid_noise_calibration": reference.fid(reference.noisy(images), images, classifier),
            "class_shares": reference.class_shares(samples, classifier).tolist(),
        }
        if model.exclude is not None:
            is_anomaly = labels == model.exclude
            results["anomaly_digit"] = model.exclude
            results["anomaly_auroc"] = metrics.auroc(neg_elbo, is_anomaly)
        return results
