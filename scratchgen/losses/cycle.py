"""CycleGAN's reconstruction terms (Zhu et al., 2017): cycle consistency and identity.

Two translators G: A -> B and F: B -> A learn from unpaired images. The adversarial terms
only ask that G(a) look like some b; the cycle term asks that F bring G(a) back to a
(and G bring F(b) back to b), so G cannot map every a to the same plausible b. The
identity term asks that a translator leave an image already of its output domain alone,
which keeps colours and intensities where they were.
"""

from scratchgen.nn import functional as F


def _check_same_shape(op_name, x, y, x_name, y_name):
    if x.shape != y.shape:
        raise ValueError(
            f"{op_name}: expected {y_name} of the shape of {x_name} {tuple(x.shape)}, "
            f"got {tuple(y.shape)}"
        )


def cycle_loss(reconstruction, original):
    """The cycle-consistency loss: the mean absolute error of a round trip.

        L_cyc = mean |F(G(a)) - a|,     d L_cyc / d F(G(a)) = sign(F(G(a)) - a) / n

    n the number of elements; reconstruction = F(G(a)), original = a (in either
    direction). L1 rather than L2, as in the paper: its bounded gradient does not let a
    few badly reconstructed pixels dominate, and it blurs less. Zero for a perfect round
    trip; the gradient at an exact match is 0 (sign(0) = 0).
    """
    _check_same_shape("cycle_loss", original, reconstruction, "original", "reconstruction")
    return F.l1_loss(reconstruction, original)


def identity_loss(translated, image):
    """The identity loss: how much a translator into domain B changes an image of B.

        L_id = mean |G(b) - b|,     d L_id / d G(b) = sign(G(b) - b) / n

    translated = G(b), image = b. Zero exactly when G acts as the identity on b. Without
    it, nothing stops G and F from agreeing on a colour (or intensity) shift that the
    round trip undoes; with it, the shift costs.
    """
    _check_same_shape("identity_loss", image, translated, "image", "translated")
    return F.l1_loss(translated, image)
