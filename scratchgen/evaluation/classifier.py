"""The evaluation of a trained classifier: its test accuracy and the FID calibration points.

snapshot      a grid of the test digits it gets wrong, titled with their count
evaluate      test accuracy and errors; the FID between training and test digits (the
              floor a generator can reach) and between test digits and noisy test
              digits (the point the quality targets are stated against), both measured
              in this classifier's own feature space
"""

import numpy

from scratchgen import viz
from scratchgen.data import mnist
from scratchgen.evaluation import reference
from scratchgen.evaluation.report import Report, reports


@reports("classifier")
class ClassifierReport(Report):
    """The classifier: its mistakes as a picture, its accuracy and FID calibration points."""

    def snapshot(self, path):
        test = mnist("test")
        predicted = self.model.predict(test.arrays["image"]).argmax(axis=1)
        wrong = numpy.flatnonzero(predicted != test.arrays["label"])
        images = test.arrays["image"][wrong[:64]] if len(wrong) else test.arrays["image"][:1]
        title = f"{len(wrong)} of {len(test)} test digits misclassified"
        return viz.image_grid(images, path, title=title)

    def evaluate(self, classifier=None):
        """The classifier measures itself; ``classifier`` is not used."""
        model = self.model
        test, train = mnist("test"), mnist("train")
        test_images = test.arrays["image"]
        logits = model.predict(test_images)
        accuracy = float((logits.argmax(axis=1) == test.arrays["label"]).mean())
        return {
            "test_accuracy": accuracy,
            "test_errors": int(round((1 - accuracy) * len(test))),
            "fid_train_vs_test": reference.fid(train.arrays["image"], test_images, model),
            "fid_test_vs_noise": reference.fid(test_images, reference.noisy(test_images), model),
        }
