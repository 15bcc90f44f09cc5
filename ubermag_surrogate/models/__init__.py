"""Surrogate models sharing one interface: fit, predict, save, load."""

from .base import ExtrapolationWarning as ExtrapolationWarning
from .base import Prediction as Prediction
from .base import SensitivityWarning as SensitivityWarning
from .base import SurrogateModel as SurrogateModel
from .base import model_class as model_class
from .base import register as register
from .kernel import KernelSurrogate as KernelSurrogate
from .neural import NeuralSurrogate as NeuralSurrogate
from .selection import SelectionResult as SelectionResult
from .selection import mean_m_errors as mean_m_errors
from .selection import select_hyperparameters as select_hyperparameters
from .selection import split_samples as split_samples

load = SurrogateModel.load

__all__ = [
    "ExtrapolationWarning",
    "KernelSurrogate",
    "NeuralSurrogate",
    "Prediction",
    "SelectionResult",
    "SensitivityWarning",
    "SurrogateModel",
    "load",
    "mean_m_errors",
    "model_class",
    "register",
    "select_hyperparameters",
    "split_samples",
]
