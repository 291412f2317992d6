"""The model families: each trains with ``train_step`` under the one Trainer.

model = sg.models.build("classifier")
model = sg.models.load("runs/classifier")     # a trained run, in eval mode
"""

from scratchgen.models.autoencoder import ConvDenoisingAutoEncoder, MLPAutoEncoder
from scratchgen.models.base import TrainableModel, build, family, load, names, register
from scratchgen.models.classifier import Classifier
from scratchgen.models.clip import CLIP, ImageEncoder, TextEncoder
from scratchgen.models.cyclegan import CycleGAN, ImagePool, ResnetGenerator
from scratchgen.models.ddpm import DDPM
from scratchgen.models.gan import DCGAN, ConditionalGAN
from scratchgen.models.pix2pix import PatchDiscriminator, Pix2Pix
from scratchgen.models.unet import UNet
from scratchgen.models.vae import VAE

__all__ = [
    "CLIP",
    "Classifier",
    "ConditionalGAN",
    "ConvDenoisingAutoEncoder",
    "CycleGAN",
    "DCGAN",
    "DDPM",
    "ImageEncoder",
    "ImagePool",
    "MLPAutoEncoder",
    "PatchDiscriminator",
    "Pix2Pix",
    "ResnetGenerator",
    "TextEncoder",
    "TrainableModel",
    "UNet",
    "VAE",
    "build",
    "family",
    "load",
    "names",
    "register",
]
