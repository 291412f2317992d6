"""Ceilings of two quality targets: how much a supervised network reads from the inputs
that a generator or an encoder has to work from. Each trains a network of the chapter's
own architecture, supervised, and scores it on the test digits.

    python -m benchmarks.ceilings inpaint --epochs 20   # issue 19's 90% on restored digits
    python -m benchmarks.ceilings thickness             # issue 21's 97% zero-shot thickness

inpaint: the reference classifier (its architecture, recipe and shifts) trained on the
holed training digits and scored on the holed test digits. A classifier reading a
restored digit is, end to end, a classifier of the holed input, so this estimates how
many holed digits can be read at all; the reference classifier on the true digits is
printed beside it.

thickness: CLIP's image encoder with a Linear(64, 20) head trained on the 20 classes
(digit, thin|thick) of the seen training digits with CLIP's recipe (AdamW 1e-3, weight
decay 0.1, warm-up and cosine, shifts of 2 px, batch 256), scored on the test digits'
thickness: how well this encoder reads thin / thick (relative to each class's median ink
mass) when told the answer, against the contrastive model's zero-shot reading.
"""

import argparse

import numpy as np

import scratchgen as sg
from scratchgen import nn, optim
from scratchgen.data import ArrayDataset, DataLoader, captioned_digits, parse_caption
from scratchgen.data.augment import random_shift
from scratchgen.data.captions import seen_captioned_digits
from scratchgen.data.synthetic import holed_digits
from scratchgen.evaluation import reference
from scratchgen.models.classifier import Classifier, run_batched
from scratchgen.models.clip import ImageEncoder, warmup_cosine
from scratchgen.nn import functional as F
from scratchgen.train import Trainer


def centre_crop(images):
    """(N, 1, 32, 32) -> the centre (N, 1, 28, 28), where the digit was padded from."""
    return np.ascontiguousarray(images[:, :, 2:30, 2:30])


class HoledClassifier(Classifier):
    """The reference classifier, trained on the holed digits instead of the whole ones."""

    def training_data(self, split="train"):
        data = holed_digits(split).arrays
        return ArrayDataset(image=centre_crop(data["input"]), label=data["label"])


def inpaint_ceiling(epochs, out):
    model = HoledClassifier()
    Trainer(model, out, epochs=epochs, seed=0, progress=False).fit()
    model.eval()
    test = holed_digits("test").arrays
    holed = reference.classify(test["input"], classifier=model)  # centre-cropped to 28x28
    holed_accuracy = np.mean(holed.argmax(1) == test["label"])
    whole_accuracy = np.mean(reference.classify(test["target"]).argmax(1) == test["label"])
    print(f"the reference classifier on the true test digits: {whole_accuracy:.3f}")
    print(
        f"its architecture trained on holed digits, on the holed test digits: {holed_accuracy:.3f}"
    )


def thickness_class(data):
    """The 20 classes 2 * digit + [thick] of captioned digits."""
    thick = np.array([parse_caption(str(c))["thickness"] == "thick" for c in data["caption"]])
    return 2 * np.asarray(data["label"]) + thick


def thickness_ceiling(epochs):
    sg.manual_seed(0)
    encoder, head = ImageEncoder(), nn.Linear(64, 20)
    parameters = [*encoder.parameters(), *head.parameters()]
    optimizer = optim.AdamW(parameters, lr=1e-3, weight_decay=0.1)
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda e: warmup_cosine(e, 2, epochs))
    train = seen_captioned_digits("train").arrays
    data = ArrayDataset(image=train["image"], label=thickness_class(train))
    loader = DataLoader(data, batch_size=256, shuffle=True, drop_last=True, seed=0)
    for _ in range(epochs):
        for batch in loader:
            loss = F.cross_entropy(head(encoder(random_shift(batch["image"], 2))), batch["label"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
    encoder.eval()
    test = captioned_digits("test").arrays
    predicted = run_batched("thickness", lambda x: head(encoder(x)), test["image"], encoder, 500)
    truth = thickness_class(test)
    thick_right = predicted.argmax(1) % 2 == truth % 2
    print(f"supervised thickness, CLIP's image encoder, {epochs} epochs: {thick_right.mean():.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=("inpaint", "thickness"))
    parser.add_argument("--epochs", type=int, default=None, help="default: the chapter's")
    parser.add_argument("--out", default="runs/holed_classifier", help="inpaint's run folder")
    args = parser.parse_args(argv)
    if args.target == "inpaint":
        inpaint_ceiling(args.epochs or Classifier.defaults["epochs"], args.out)
    else:
        thickness_ceiling(args.epochs or 44)


if __name__ == "__main__":
    main()
