"""Captioned digits for CLIP: captions measured on the images, and a word-level tokenizer.

Each digit gets the caption "a <thickness> <digit name> <slant>", e.g.
"a thick seven leaning right" or "a thin one upright", from its label and two
attributes measured on the 28x28 image:

- thickness, from the ink mass m = sum of the pixel intensities: "thin" if m is below the
  median ink mass of the digit's class over mnist("train"), "thick" otherwise. The
  medians come from the train split for every split, so half of each class is thin in
  train and about half in test.
- slant, from the second moments of the intensity: the shear s = mu11 / mu02 (see
  ``slant``), s > 0 when the top of the digit lies to the right of its bottom.
  |s| <= 0.15 (about 8.5 degrees) is "upright", s > 0.15 "leaning right",
  s < -0.15 "leaning left".

Held-out compositions: six (digit, thickness, slant) combinations of the 60,
HELD_OUT_COMPOSITIONS, one for each (thickness, slant) pair and each with another digit,
are left out of CLIP's training data (``seen_captioned_digits``): neither their captions
nor their images are trained on. Their test images measure whether a model composes
words it only learned apart:

    a thick seven leaning right    a thin four leaning left     a thick nine leaning left
    a thin two upright             a thick eight upright        a thin three leaning right

The article is "an" before a vowel sound ("an eight"), "a" otherwise ("a one"). In the
captions a thickness word always follows it, so captions use "a"; the class prompts of
``class_prompts`` ("a seven", "an eight") use both, and parse_caption accepts both.
"""

import functools

import numpy as np

from scratchgen.data.dataset import ArrayDataset
from scratchgen.data.mnist import mnist
from scratchgen.tensor import Tensor

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESSES = ("thin", "thick")
SLANTS = ("leaning left", "upright", "leaning right")
SLANT_THRESHOLD = 0.15
PAD_WORD = "<pad>"
HELD_OUT_COMPOSITIONS = (  # (digit, thickness, slant): never in CLIP's training data
    (7, "thick", "leaning right"),
    (4, "thin", "leaning left"),
    (9, "thick", "leaning left"),
    (2, "thin", "upright"),
    (8, "thick", "upright"),
    (3, "thin", "leaning right"),
)


def ink_mass(images):
    """m = sum of the pixel intensities of each image: (N, 1, H, W) -> (N,) float64."""
    images = _single_channel("ink_mass", images)
    return images.sum(axis=(1, 2))


def slant(images):
    """The shear s = mu11 / mu02 of each image's intensity: (N, 1, H, W) -> (N,) float64.

    With column c, row r (growing downward) and intensity I >= 0:
        m = sum I,  c_bar = sum I c / m,  r_bar = sum I r / m,
        x = c - c_bar (to the right),  y = r_bar - r (upward),
        mu11 = sum I x y / m,  mu02 = sum I y^2 / m,   s = mu11 / mu02.
    s is the least-squares slope of x against y: how many pixels the ink moves right per
    pixel up. A bar sheared by x = k y has s = k; s > 0 leans right (top to the right).
    An empty image (m = 0) or a single row (mu02 = 0) has s = 0.
    """
    images = _single_channel("slant", images)
    rows = np.arange(images.shape[1], dtype=np.float64)[None, :, None]
    columns = np.arange(images.shape[2], dtype=np.float64)[None, None, :]
    mass = images.sum(axis=(1, 2))
    safe_mass = np.where(mass > 0, mass, 1.0)[:, None, None]
    row_mean = (images * rows).sum(axis=(1, 2), keepdims=True) / safe_mass
    column_mean = (images * columns).sum(axis=(1, 2), keepdims=True) / safe_mass
    x = columns - column_mean
    y = row_mean - rows
    mu11 = (images * x * y).sum(axis=(1, 2))
    mu02 = (images * y * y).sum(axis=(1, 2))
    return np.where(mu02 > 0, mu11 / np.where(mu02 > 0, mu02, 1.0), 0.0)


def slant_word(shear):
    """ "leaning left" (s < -0.15), "upright" (|s| <= 0.15) or "leaning right" (s > 0.15)."""
    if shear > SLANT_THRESHOLD:
        return "leaning right"
    if shear < -SLANT_THRESHOLD:
        return "leaning left"
    return "upright"


@functools.lru_cache(maxsize=1)
def class_median_ink_mass():
    """The median ink mass of each class over mnist("train"): (10,) float64."""
    train = mnist("train").arrays
    masses = ink_mass(train["image"])
    return np.array([np.median(masses[train["label"] == digit]) for digit in range(10)])


def thickness_words(images, labels):
    """ "thin" where the ink mass is below its class's train median, "thick" otherwise."""
    below = ink_mass(images) < class_median_ink_mass()[np.asarray(labels)]
    return ["thin" if is_below else "thick" for is_below in below]


def article(word):
    """ "an" before a vowel sound ("an eight", "an upright"), "a" otherwise ("a one")."""
    starts_with_vowel_sound = word[0] in "aeiou" and not word.startswith("one")
    return "an" if starts_with_vowel_sound else "a"


def make_caption(digit, thickness, slant_phrase):
    """ "a <thickness> <digit name> <slant>", e.g. make_caption(7, "thick", "leaning right")."""
    return f"{article(thickness)} {thickness} {DIGIT_NAMES[digit]} {slant_phrase}"


def parse_caption(caption):
    """The inverse of make_caption: "a thin one upright" -> dict(digit=1, thickness="thin",
    slant="upright")."""
    words = caption.split()
    expected = "'a <thin|thick> <digit name> <leaning left|upright|leaning right>'"
    if len(words) < 4:
        raise ValueError(f"parse_caption: expected {expected}, got {caption!r}")
    first, thickness, digit_name, slant_phrase = words[0], words[1], words[2], " ".join(words[3:])
    valid = (
        thickness in THICKNESSES
        and first == article(thickness)
        and digit_name in DIGIT_NAMES
        and slant_phrase in SLANTS
    )
    if not valid:
        raise ValueError(f"parse_caption: expected {expected}, got {caption!r}")
    return {"digit": DIGIT_NAMES.index(digit_name), "thickness": thickness, "slant": slant_phrase}


def drop_attributes(captions, drop_thickness, drop_slant):
    """Each caption with its thickness word and / or its slant phrase left out where the
    bool arrays say: "a thick seven leaning right" -> "a seven leaning right",
    "a thick seven", or "a seven" (the article follows the new next word: "an eight")."""
    shorter = []
    for caption, no_thickness, no_slant in zip(captions, drop_thickness, drop_slant, strict=True):
        parts = parse_caption(caption)
        words = [DIGIT_NAMES[parts["digit"]]]
        if not no_thickness:
            words.insert(0, parts["thickness"])
        if not no_slant:
            words.append(parts["slant"])
        shorter.append(" ".join([article(words[0]), *words]))
    return shorter


def all_captions():
    """Every caption the grammar can produce: 10 digits x 2 thicknesses x 3 slants = 60."""
    return [
        make_caption(digit, thickness, slant_phrase)
        for digit in range(10)
        for thickness in THICKNESSES
        for slant_phrase in SLANTS
    ]


def held_out_captions():
    """The captions of the HELD_OUT_COMPOSITIONS, e.g. "a thick seven leaning right"."""
    return [make_caption(*composition) for composition in HELD_OUT_COMPOSITIONS]


def is_held_out(captions):
    """A bool array: which of the captions (a list or array of str) are held out."""
    return np.isin(np.asarray(captions), held_out_captions())


def class_prompts():
    """One prompt per class for zero-shot classification: "a zero", ..., "an eight", ..."""
    return [f"{article(name)} {name}" for name in DIGIT_NAMES]


class Tokenizer:
    """Word-level tokenizer: a caption <-> a fixed-length row of word ids, 0 = padding.

    Built from a list of texts (default: all_captions() + class_prompts(), so every
    caption and prompt of this module can be encoded). The vocabulary is "<pad>" (id 0)
    followed by the words of the texts in sorted order; max_length is the most words in
    one of them. Texts are lower-cased and split on whitespace.
    """

    pad_id = 0

    def __init__(self, texts=None):
        texts = all_captions() + class_prompts() if texts is None else list(texts)
        if not texts:
            raise ValueError("Tokenizer: expected at least one text to build the vocabulary")
        word_lists = [text.lower().split() for text in texts]
        self.vocab = [PAD_WORD, *sorted({word for words in word_lists for word in words})]
        self.word_to_id = {word: index for index, word in enumerate(self.vocab)}
        self.max_length = max(len(words) for words in word_lists)

    @property
    def vocab_size(self):
        return len(self.vocab)

    def encode(self, texts):
        """A list of N texts -> int64 array (N, max_length) of word ids, padded with 0."""
        if isinstance(texts, str):
            raise TypeError(f"Tokenizer.encode: expected a list of texts, got the str {texts!r}")
        tokens = np.full((len(texts), self.max_length), self.pad_id, dtype=np.int64)
        for row, text in enumerate(texts):
            words = text.lower().split()
            if len(words) > self.max_length:
                raise ValueError(
                    f"Tokenizer.encode: {text!r} has {len(words)} words, "
                    f"more than the {self.max_length} this tokenizer pads to"
                )
            for column, word in enumerate(words):
                if word not in self.word_to_id:
                    raise ValueError(
                        f"Tokenizer.encode: unknown word {word!r} in {text!r}; the vocabulary "
                        f"has {self.vocab_size} entries, <pad> and {' '.join(self.vocab[1:])}"
                    )
                tokens[row, column] = self.word_to_id[word]
        return tokens

    def decode(self, tokens):
        """int array or Tensor (N, L) of word ids -> list of N texts, padding dropped."""
        if isinstance(tokens, Tensor):
            tokens = tokens.numpy()
        tokens = np.asarray(tokens)
        if tokens.ndim != 2:
            raise ValueError(f"Tokenizer.decode: expected ids of shape (N, L), got {tokens.shape}")
        if tokens.size and not 0 <= tokens.min() <= tokens.max() < self.vocab_size:
            raise ValueError(
                f"Tokenizer.decode: expected ids in 0..{self.vocab_size - 1}, "
                f"got {tokens.min()}..{tokens.max()}"
            )
        return [
            " ".join(self.vocab[index] for index in row if index != self.pad_id) for row in tokens
        ]


@functools.cache
def captioned_digits(split="train"):
    """ArrayDataset(image (N,1,28,28), label (N,), caption (N,) str, tokens (N, L) int64).

    caption: from the label and the measured thickness and slant (see the module
    docstring); tokens: Tokenizer().encode(captions), L = Tokenizer().max_length.
    The cached arrays are shared between calls and read-only.
    """
    if split not in ("train", "test"):
        raise ValueError(f"captioned_digits: expected split 'train' or 'test', got {split!r}")
    digits = mnist(split).arrays
    images, labels = digits["image"], digits["label"]
    captions = [
        make_caption(digit, thickness, slant_word(shear))
        for digit, thickness, shear in zip(
            labels, thickness_words(images, labels), slant(images), strict=True
        )
    ]
    arrays = {
        "image": images,
        "label": labels,
        "caption": np.array(captions),
        "tokens": Tokenizer().encode(captions),
    }
    for array in arrays.values():
        array.setflags(write=False)
    return ArrayDataset(**arrays)


@functools.cache
def seen_captioned_digits(split="train"):
    """captioned_digits(split) without the digits of the HELD_OUT_COMPOSITIONS: what CLIP
    trains on (3,554 of the 4,000 training digits). The cached arrays are read-only."""
    digits = captioned_digits(split)
    seen = digits.subset(np.flatnonzero(~is_held_out(digits.arrays["caption"])))
    for array in seen.arrays.values():
        array.setflags(write=False)
    return seen


def _single_channel(name, images):
    """(N, 1, H, W) images as a float64 array (N, H, W)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"{name}: expected images of shape (N, 1, H, W), got {images.shape}")
    return images[:, 0].astype(np.float64)
