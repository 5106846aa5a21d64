"""nn: neurons, layers, MLPs, losses and optimizers on the autodiff engine.

>>> import nn
>>> model = nn.MLP(2, [3, 2], output_activation="linear", seed=0)
>>> optimizer = nn.SGD(model.parameters(), lr=0.1)
>>> loss = nn.cross_entropy(model([1.0, -1.0]), 1)
>>> optimizer.zero_grad()
>>> loss.backward()
>>> optimizer.step()
>>> nn.cross_entropy(model([1.0, -1.0]), 1).data < loss.data
True
"""

from . import datasets, gradient_flow, init, losses, modes, optim, train
from .losses import (
    accuracy,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse,
    nll,
    quadratic,
    sigmoid_cross_entropy,
    sigmoid_cross_entropy_with_logits,
    softmax,
)
from .module import MLP, Layer, Module, Neuron
from .optim import SGD, Adam, Optimizer
from .serialize import load, save
from .train import History, StopTraining, fit, predict

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "History",
    "Layer",
    "Module",
    "Neuron",
    "Optimizer",
    "StopTraining",
    "accuracy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "datasets",
    "fit",
    "gradient_flow",
    "init",
    "load",
    "log_softmax",
    "losses",
    "modes",
    "mse",
    "nll",
    "optim",
    "predict",
    "quadratic",
    "save",
    "sigmoid_cross_entropy",
    "sigmoid_cross_entropy_with_logits",
    "softmax",
    "train",
]
