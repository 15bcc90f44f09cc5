"""Surrogate against full simulation: errors, timings and figures.

:func:`compare` runs one new simulation beside one prediction; :func:`evaluate`
scores a model on the simulations of a whole store.
"""

from .evaluation import Evaluation as Evaluation
from .evaluation import evaluate as evaluate
from .evaluation import trajectory_errors as trajectory_errors
from .figures import plot_field_errors as plot_field_errors
from .figures import plot_mean_m as plot_mean_m
from .figures import plot_snapshots as plot_snapshots
from .report import Comparison as Comparison
from .report import compare as compare

__all__ = [
    "Comparison",
    "Evaluation",
    "compare",
    "evaluate",
    "plot_field_errors",
    "plot_mean_m",
    "plot_snapshots",
    "trajectory_errors",
]
