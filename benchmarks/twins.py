"""PyTorch twins of the VAE and the DCGAN, trained as the issues describe and scored with
scratchgen's reference classifier, so that our FIDs can be read against theirs.

    python -m benchmarks.twins vae --epochs 40
    python -m benchmarks.twins gan --epochs 25

The twins are the reference architectures of benchmarks/reference_models.py, trained on
the same 4,000 embedded digits with the plain recipes (VAE: Adam 1e-3, batch 128,
BCE-sum + KL; DCGAN: DCGAN init, Adam 2e-4 betas (0.5, 0.999), batch 64,
non-saturating loss, no tricks). Every ``--every`` epochs the script prints the FID of
1,000 samples against the 1,000 test digits on scratchgen's classifier scale (and, for
the VAE, the test -ELBO averaged over 10 latent draws).
"""

import argparse
import time

import numpy as np
import torch

from benchmarks.reference_models import adversarial_update, conv_vae, dcgan, vae_negative_elbo
from scratchgen import evaluation
from scratchgen.data import mnist

LATENT_VAE, LATENT_GAN, SAMPLES = 16, 64, 1000


def vae_twin(train, test, epochs, every):
    encoder, decoder = conv_vae(torch)
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    for epoch in range(1, epochs + 1):
        for batch in batches(train, 128):
            optimizer.zero_grad()
            vae_negative_elbo(torch, encoder, decoder, batch, LATENT_VAE).backward()
            optimizer.step()
        if epoch % every == 0 or epoch == epochs:
            with torch.no_grad():
                test_x = torch.tensor(test)
                test_nats = np.mean(
                    [
                        vae_negative_elbo(torch, encoder, decoder, test_x, LATENT_VAE).item()
                        for _ in range(10)
                    ]
                )
                samples = decoder(torch.randn(SAMPLES, LATENT_VAE)).sigmoid().numpy()
            yield epoch, samples, f"test -ELBO {test_nats:.1f}"


def gan_twin(train, test, epochs, every):
    generator, discriminator = dcgan(torch)
    generator.apply(dcgan_init)
    discriminator.apply(dcgan_init)
    betas = (0.5, 0.999)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=betas)
    for epoch in range(1, epochs + 1):
        for batch in batches(train, 64):
            fake = generator(torch.randn(len(batch), LATENT_GAN))
            adversarial_update(torch, discriminator, batch * 2 - 1, fake, opt_d, opt_g)
        if epoch % every == 0 or epoch == epochs:
            generator.eval()
            with torch.no_grad():
                samples = ((generator(torch.randn(SAMPLES, LATENT_GAN)) + 1) / 2).clamp(0, 1)
            generator.train()
            yield epoch, samples.numpy(), ""


def dcgan_init(module):
    """N(0, 0.02) conv and linear weights, N(1, 0.02) batch-norm weights, zero biases."""
    if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
        torch.nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
        torch.nn.init.normal_(module.weight, 1.0, 0.02)
    else:
        return
    torch.nn.init.zeros_(module.bias)


def batches(train, size):
    """The training digits in a fresh random order, in full batches."""
    order = torch.randperm(len(train))
    for start in range(0, len(train) - size + 1, size):
        yield train[order[start : start + size]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=["vae", "gan"])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--every", type=int, default=10, help="report every N epochs")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train = torch.tensor(mnist("train").arrays["image"])
    test = mnist("test").arrays["image"]
    calibration = evaluation.fid(evaluation.noisy(test), test)
    print(f"calibration: FID of noisy test digits {calibration:.1f}")
    twin = vae_twin if args.model == "vae" else gan_twin
    start = time.perf_counter()
    for epoch, samples, extra in twin(train, test, args.epochs, args.every):
        shares = evaluation.class_shares(samples)
        print(
            f"epoch {epoch:3d}  {time.perf_counter() - start:6.0f} s  "
            f"FID {evaluation.fid(samples, test):6.1f}  class shares "
            f"{shares.min():.1%}-{shares.max():.1%}  {extra}",
            flush=True,
        )


if __name__ == "__main__":
    main()
