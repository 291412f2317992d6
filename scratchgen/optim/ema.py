"""An exponential moving average (EMA) of a network's weights, for sampling.

A network trained by a game (a GAN's generator) or by noisy steps (a diffusion model)
oscillates around good weights; the average over its recent steps sits nearer the centre.
The average is kept in a second copy of the network, updated after every optimiser step:

    theta_ema <- d theta_ema + (1 - d) theta,     d = min(decay, (1 + t) / (10 + t))

at update t. The warm-up (1 + t) / (10 + t) lets the average forget the random start in
short runs; after (10 decay - 1) / (1 - decay) updates d reaches ``decay`` (8,990 for
0.999), and the average then spans about the last 1 / (1 - decay) steps.

A copy with batch norm needs statistics measured on its own weights before it samples:
`scratchgen.optim.swa_utils.update_bn` measures them (its running statistics were measured
on other weights).

    from scratchgen.optim.ema import ema_decay, update_ema
    update_ema(average, network, ema_decay(t, 0.999))
"""

from scratchgen.tensor import mark_written, no_grad


def ema_decay(updates, decay):
    """d = min(decay, (1 + t) / (10 + t)) for update number t = ``updates`` (from 0)."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


def update_ema(average, network, decay):
    """theta_ema <- decay theta_ema + (1 - decay) theta, in place, for each pair of
    parameters of the ``average`` module and the ``network`` it follows (same layout)."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"update_ema: expected a decay in [0, 1], got {decay}")
    pairs = list(zip(average.parameters(), network.parameters()))
    shapes = [p.shape for p in average.parameters()], [p.shape for p in network.parameters()]
    if shapes[0] != shapes[1]:
        raise ValueError(
            "update_ema: expected the average and the network to have parameters of the same "
            f"shapes, got {len(shapes[0])} and {len(shapes[1])} parameters that differ"
        )
    with no_grad():
        for mean, current in pairs:
            mean.data *= decay
            mean.data += (1.0 - decay) * current.data
            mark_written(mean)
