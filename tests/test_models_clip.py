"""CLIP: the encoders and the masked mean pool, the logit scale (initial value, clamp, no
weight decay), one training step against a PyTorch twin, zero-shot prompt ensembles,
the held-out compositions left out of training, resume, and the settings' errors."""

import math

import numpy as np
import pytest

import scratchgen as sg
from scratchgen import models
from scratchgen.data import (
    captioned_digits,
    held_out_captions,
    is_held_out,
    seen_captioned_digits,
)
from scratchgen.evaluation.clip import CLIPReport
from scratchgen.models.clip import CLIP, ImageEncoder, TextEncoder, ensemble, warmup_cosine
from scratchgen.train import Trainer
from tests.helpers import torch


def caption_batch(device, n=8, start=0):
    """n seen training digits as the Trainer feeds them: image, label, caption, tokens."""
    arrays = CLIP().training_data("train")[start : start + n]
    batch = {key: sg.tensor(arrays[key], device=device) for key in ("image", "label", "tokens")}
    return batch | {"caption": arrays["caption"].tolist()}


def unit_rows(array):
    return np.linalg.norm(array, axis=1)


# ----------------------------------------------------------------------------------
# the encoders
# ----------------------------------------------------------------------------------


def test_the_encoders_map_digits_and_captions_to_64_numbers(device):
    images = sg.rand(3, 1, 28, 28, device=device)
    assert ImageEncoder().to(device)(images).shape == (3, 64)
    tokens = sg.tensor([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]], device=device)
    assert TextEncoder(19, 5).to(device)(tokens).shape == (2, 64)


def test_padding_changes_nothing_the_pool_is_over_the_real_tokens(device):
    """A text padded to 5 ids encodes as the same text cut to its 2 words, and whatever
    the padding id's embedding holds does not reach the output."""
    encoder = TextEncoder(19, 5).to(device).eval()
    padded = sg.tensor([[3, 7, 0, 0, 0]], device=device)
    with sg.no_grad():
        full = encoder(padded).numpy()
        cut = encoder(padded[:, :2]).numpy()
        encoder.token_embedding.weight.data[0] = 50.0
        repadded = encoder(padded).numpy()
    np.testing.assert_allclose(full, cut, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(full, repadded, rtol=1e-5, atol=1e-6)


def test_the_text_encoder_names_the_shape_it_expected():
    with pytest.raises(ValueError, match=r"TextEncoder: expected word ids \(N, L\) with L <= 5"):
        TextEncoder(19, 5)(sg.tensor([[1, 2, 3, 4, 5, 6]]))


def test_embeddings_are_unit_vectors_and_similarity_is_their_cosine(device):
    model = CLIP().to(device)
    images = captioned_digits("test").arrays["image"][:6]
    texts = ["a thin one upright", "an eight", "a seven"]
    image_embeddings, text_embeddings = model.encode_image(images), model.encode_text(texts)
    assert image_embeddings.shape == (6, 64) and text_embeddings.shape == (3, 64)
    np.testing.assert_allclose(unit_rows(image_embeddings), 1, rtol=1e-5)
    np.testing.assert_allclose(unit_rows(text_embeddings), 1, rtol=1e-5)
    similarity = model.similarity(images, texts)
    np.testing.assert_allclose(similarity, image_embeddings @ text_embeddings.T, atol=1e-6)
    assert model.training  # encoding ran in eval mode and restored the mode


def test_encode_image_names_the_shape_it_expected():
    with pytest.raises(ValueError, match=r"encode_image: expected digits \(N, 1, 28, 28\)"):
        CLIP().encode_image(np.zeros((2, 28, 28)))


def test_an_unknown_word_is_named_with_the_vocabulary_size():
    with pytest.raises(ValueError, match=r"unknown word 'photo' .* vocabulary has 19 entries"):
        CLIP().encode_text(["a photo of a seven"])


# ----------------------------------------------------------------------------------
# the logit scale
# ----------------------------------------------------------------------------------


def test_the_logit_scale_starts_at_1_over_0_07_and_is_clamped_at_100():
    model = CLIP()
    assert model.scale().item() == pytest.approx(1 / 0.07, rel=1e-6)
    model.logit_scale.data[...] = 7.0  # e^7 = 1097
    scale = model.scale()
    scale.backward()
    assert scale.item() == pytest.approx(100.0, rel=1e-6)
    assert model.logit_scale.grad.numpy().tolist() == 0.0  # past the clamp: no pull


def test_the_logit_scale_gets_no_weight_decay_and_everything_else_does():
    model = CLIP(weight_decay=0.1)
    decayed, scale = model.optimizers["adamw"].param_groups
    assert scale["params"] == [model.logit_scale] and scale["weight_decay"] == 0.0
    assert decayed["weight_decay"] == 0.1
    assert len(decayed["params"]) + 1 == len(list(model.parameters()))
    before = model.logit_scale.numpy().copy()
    weight_before = model.image_encoder.projection.weight.numpy().copy()
    for param in model.parameters():
        param.grad = sg.zeros_like(param)
    model.optimizers["adamw"].step()  # zero gradients: only weight decay moves weights
    np.testing.assert_array_equal(model.logit_scale.numpy(), before)
    decayed_weight = model.image_encoder.projection.weight.numpy()
    np.testing.assert_allclose(decayed_weight, weight_before * (1 - 1e-3 * 0.1), rtol=1e-6)


# ----------------------------------------------------------------------------------
# one step against PyTorch
# ----------------------------------------------------------------------------------


def twin_state(parts):
    """The PyTorch twin's tensors under our state-dict names."""
    body, image_projection, ((embed, layer1, layer2, norm, project), positions), scale = parts
    prefixes = {
        "image_encoder.body.": body,
        "image_encoder.projection.": image_projection,
        "text_encoder.token_embedding.": embed,
        "text_encoder.transformer.layers.0.": layer1,
        "text_encoder.transformer.layers.1.": layer2,
        "text_encoder.transformer.norm.": norm,
        "text_encoder.projection.": project,
    }
    state = {"text_encoder.positions": positions, "logit_scale": scale}
    for prefix, module in prefixes.items():
        state |= {prefix + key: value for key, value in module.state_dict(keep_vars=True).items()}
    return state


def test_one_train_step_matches_the_pytorch_twin(device):
    """Copied weights, the same batch and shortened captions, no shift, float64: the loss,
    every gradient and every weight and batch-norm statistic after AdamW."""
    if torch is None:
        pytest.skip("torch is not installed")
    from benchmarks.reference_models import clip_model, clip_update

    model = CLIP(shift=0).to(device).double()
    parts, their_optimizer = clip_model(torch)
    body, image_projection, (modules, positions), scale = parts
    for module in (body, image_projection, modules):
        module.double()
    for param in (positions, scale):
        param.data = param.data.double()
    theirs = twin_state(parts)
    assert set(theirs) == set(model.state_dict())
    with torch.no_grad():
        for name, value in model.state_dict().items():
            theirs[name].copy_(torch.from_numpy(value.numpy()))
    batch = caption_batch(device)
    batch["image"] = batch["image"].double()
    sg.manual_seed(0)  # the step's shortened captions (caption_dropout), drawn here first
    tokens = torch.from_numpy(model.training_captions(batch)[1].numpy())
    images = torch.from_numpy(batch["image"].numpy())

    sg.manual_seed(0)
    stats = model.train_step(batch)
    loss = clip_update(torch, parts, their_optimizer, images, tokens, tokens == 0)

    assert stats["loss"] == pytest.approx(loss.item(), rel=1e-10)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(
            param.grad.numpy(), theirs[name].grad.numpy(), rtol=1e-7, atol=1e-12, err_msg=name
        )
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(
            value.numpy(), theirs[name].detach().numpy(), rtol=1e-7, atol=1e-10, err_msg=name
        )


def test_a_few_steps_lower_the_loss_and_report_the_scale(device):
    model = CLIP().to(device)
    model.schedule_over(1)
    batch = caption_batch(device, n=16)
    history = [model.train_step(batch) for _ in range(8)]
    assert set(history[0]) == {"loss", "logit_scale", "accuracy"}
    assert all(isinstance(value, float) for value in history[0].values())
    assert history[-1]["loss"] < history[0]["loss"]
    assert 0 <= history[-1]["accuracy"] <= 1
    assert history[0]["logit_scale"] == pytest.approx(1 / 0.07, rel=1e-2)


def test_caption_dropout_shortens_a_share_of_the_captions_and_retokenizes_them(device):
    batch = caption_batch(device, n=400)
    kept, kept_tokens = CLIP(caption_dropout=0.0).training_captions(batch)
    assert kept.tolist() == batch["caption"] and kept_tokens is batch["tokens"]
    model = CLIP(caption_dropout=0.25).to(device)
    sg.manual_seed(0)
    captions, tokens = model.training_captions(batch)
    assert model.tokenizer.decode(tokens.numpy()) == captions.tolist()
    lengths = [len(caption.split()) for caption in captions]
    full_lengths = [len(caption.split()) for caption in batch["caption"]]
    assert all(short <= full for short, full in zip(lengths, full_lengths, strict=True))
    without_thickness = np.mean(["thin" not in c and "thick" not in c for c in captions])
    assert 0.15 < without_thickness < 0.35  # p = 0.25; 400 draws: sd 0.022
    sg.manual_seed(0)
    assert model.training_captions(batch)[0].tolist() == captions.tolist()  # seeded


# ----------------------------------------------------------------------------------
# zero-shot
# ----------------------------------------------------------------------------------


def test_an_ensemble_is_the_renormalised_mean_of_unit_embeddings():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(ensemble(vectors), [math.sqrt(0.5), math.sqrt(0.5)])
    np.testing.assert_allclose(ensemble(vectors[:1]), [1.0, 0.0])
    assert np.isfinite(ensemble(np.array([[1.0, 0.0], [-1.0, 0.0]]))).all()


def test_zero_shot_gives_probabilities_and_ensembles_the_templates(device):
    model = CLIP().to(device)
    images = captioned_digits("test").arrays["image"][:5]
    single = model.zero_shot(images, ["a seven", "an eight"])
    assert single.shape == (5, 2)
    np.testing.assert_allclose(single.sum(axis=1), 1, rtol=1e-6)
    repeated = model.zero_shot(images, [["a seven", "a seven"], ["an eight"]])
    np.testing.assert_allclose(repeated, single, rtol=1e-5)  # the same template twice
    templates = [["a thin seven upright", "a thick seven upright"], ["an eight"]]
    mixed = model.zero_shot(images, templates)
    seven = ensemble(model.encode_text(templates[0]))
    logits = model.encode_image(images) @ np.stack([seven, model.encode_text(["an eight"])[0]]).T
    expected = np.exp(logits * model.scale().item())
    np.testing.assert_allclose(mixed, expected / expected.sum(1, keepdims=True), rtol=1e-4)
    with pytest.raises(ValueError, match="zero_shot: expected one prompt"):
        model.zero_shot(images, [])


# ----------------------------------------------------------------------------------
# data, schedule, resume, settings
# ----------------------------------------------------------------------------------


def test_held_out_compositions_are_absent_from_training_captions_and_images():
    train = CLIP().training_data("train").arrays
    assert not is_held_out(train["caption"]).any()
    everything = captioned_digits("train").arrays
    held = is_held_out(everything["caption"])
    assert held.sum() + len(train["caption"]) == len(everything["caption"]) and held.sum() > 0
    seen_images = {image.tobytes() for image in train["image"]}
    assert not any(image.tobytes() in seen_images for image in everything["image"][held])
    assert is_held_out(captioned_digits("test").arrays["caption"]).sum() > 60
    assert len(held_out_captions()) == 6


def test_the_learning_rate_warms_up_then_follows_half_a_cosine():
    assert [warmup_cosine(e, 2, 10) for e in range(2)] == pytest.approx([1 / 3, 2 / 3])
    assert warmup_cosine(2, 2, 10) == 1.0
    assert warmup_cosine(6, 2, 10) == pytest.approx(0.5)
    assert warmup_cosine(5, 0, None) == 1.0
    model = CLIP(lr=1e-3, warmup=1)
    model.schedule_over(4)
    assert model.optimizers["adamw"].param_groups[0]["lr"] == pytest.approx(5e-4)


def test_a_stopped_and_resumed_run_ends_where_a_straight_run_ends(tmp_path, monkeypatch):
    """Resume bit for bit on the CPU: weights, AdamW state, the schedule and the shifts'
    random stream are all in the checkpoint. 16 digits (2 steps an epoch) keep it quick."""
    tiny = seen_captioned_digits("train").subset(np.arange(0, 3554, 222))
    monkeypatch.setattr(CLIP, "training_data", lambda self, split="train": tiny)
    monkeypatch.setattr(CLIPReport, "figures", lambda self, out: [])

    def run(out, epochs, resume=False):
        sg.manual_seed(3)
        model = CLIP()
        Trainer(model, str(out), epochs=epochs, batch_size=8, resume=resume, progress=False).fit()
        return model

    straight = run(tmp_path / "straight", 3)
    run(tmp_path / "split", 1)
    resumed = run(tmp_path / "split", 3, resume=True)
    for name, value in straight.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), resumed.state_dict()[name].numpy(), name)
    assert (tmp_path / "split" / "samples" / "epoch_003.png").is_file()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("lr", -1.0, "CLIP: lr must be >= 0, got -1.0"),
        ("weight_decay", -0.1, "CLIP: weight_decay must be >= 0"),
        ("warmup", -1, "CLIP: warmup must be >= 0"),
        ("shift", 9, "CLIP: shift must be in 0..4 pixels, got 9"),
        ("caption_dropout", 1.0, r"CLIP: caption_dropout must be in \[0, 1\), got 1.0"),
    ],
)
def test_settings_errors_name_the_setting(setting, value, message):
    with pytest.raises(ValueError, match=message):
        models.build("clip", **{setting: value})
