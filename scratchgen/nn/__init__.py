"""Layers and models as ``torch.nn``: Module, Parameter, the layers, init, functional.

    from scratchgen import nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))

Class names, constructor arguments, parameter names, shapes and default
initialisation are torch's, so ``model.state_dict()`` loads into the torch twin
(and back) unchanged.
"""

from scratchgen.nn import functional, init, utils
from scratchgen.nn.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from scratchgen.nn.containers import ModuleDict, ModuleList, Sequential
from scratchgen.nn.conv import Conv2d, ConvTranspose2d
from scratchgen.nn.dropout import Dropout, Dropout2d
from scratchgen.nn.linear import Identity, Linear
from scratchgen.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from scratchgen.nn.module import Module
from scratchgen.nn.norm import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from scratchgen.nn.padding import ReflectionPad2d, ZeroPad2d
from scratchgen.nn.parameter import Parameter
from scratchgen.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from scratchgen.nn.shape import Flatten, PixelShuffle, PixelUnshuffle, Unflatten
from scratchgen.nn.sparse import Embedding
from scratchgen.nn.transformer import (
    MultiheadAttention,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from scratchgen.nn.upsampling import Upsample

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d",
    "ConvTranspose2d", "Dropout", "Embedding", "Flatten", "GELU", "Identity",
    "InstanceNorm2d", "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d", "Module", "ModuleList",
    "MultiheadAttention", "Parameter", "ReLU", "ReflectionPad2d", "Sequential", "Sigmoid",
    "Softplus", "Tanh", "TransformerEncoderLayer", "Unflatten", "ZeroPad2d", "functional",
    "init",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "ELU", "L1Loss", "LogSoftmax",
    "MSELoss", "ModuleDict", "NLLLoss", "SiLU", "Softmax", "utils",
    "Dropout2d", "GroupNorm", "PixelShuffle", "PixelUnshuffle", "TransformerEncoder", "Upsample",
]  # fmt: skip
