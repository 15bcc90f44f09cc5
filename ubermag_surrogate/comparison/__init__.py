"""Surrogate against full simulation: errors, timings and figures."""

from .figures import plot_mean_m as plot_mean_m
from .figures import plot_snapshots as plot_snapshots
from .report import Comparison as Comparison
from .report import compare as compare

__all__ = ["Comparison", "compare", "plot_mean_m", "plot_snapshots"]
