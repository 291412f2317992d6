"""benchmarks/ceilings.py: the data its two supervised ceilings train on."""

import numpy as np

from benchmarks.ceilings import HoledClassifier, centre_crop, thickness_class
from scratchgen.data import captioned_digits, parse_caption
from scratchgen.data.synthetic import HOLE_VALUE, holed_digits


def test_holed_classifier_trains_on_the_holed_28x28_digits():
    data = HoledClassifier().training_data("train").arrays
    holed = holed_digits("train").arrays
    assert data["image"].shape == (len(holed["input"]), 1, 28, 28)
    np.testing.assert_array_equal(data["image"], holed["input"][:, :, 2:30, 2:30])
    assert np.all(data["image"][:, :, 14, 14] == HOLE_VALUE)  # the centre is the hole
    np.testing.assert_array_equal(data["label"], holed["label"])


def test_centre_crop_keeps_the_middle_28x28():
    images = np.arange(2 * 32 * 32, dtype=np.float32).reshape(2, 1, 32, 32)
    cropped = centre_crop(images)
    assert cropped.shape == (2, 1, 28, 28) and cropped.flags["C_CONTIGUOUS"]
    assert cropped[0, 0, 0, 0] == images[0, 0, 2, 2]


def test_thickness_class_is_twice_the_digit_plus_thick():
    data = captioned_digits("test").arrays
    classes = thickness_class(data)
    assert classes.min() >= 0 and classes.max() <= 19
    np.testing.assert_array_equal(classes // 2, data["label"])
    thick = [parse_caption(str(c))["thickness"] == "thick" for c in data["caption"]]
    np.testing.assert_array_equal(classes % 2, np.array(thick, dtype=int))
    assert 0.3 < np.mean(thick) < 0.7  # thin / thick split each class near its median
