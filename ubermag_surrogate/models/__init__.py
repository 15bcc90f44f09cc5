"""Surrogate models sharing one interface: fit, predict, save, load."""

from .base import ExtrapolationWarning as ExtrapolationWarning
from .base import Prediction as Prediction
from .base import SurrogateModel as SurrogateModel
from .kernel import KernelSurrogate as KernelSurrogate

load = SurrogateModel.load

__all__ = [
    "ExtrapolationWarning",
    "KernelSurrogate",
    "Prediction",
    "SurrogateModel",
    "load",
]
