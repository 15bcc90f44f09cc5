"""Built-in micromagnetic problems (system factories) used to generate training data."""

from . import sp4 as sp4
from .base import Problem as Problem
from .base import cache_dir as cache_dir

PROBLEMS = {"sp4": sp4.problem}
"""Problem factories by name, as the command line knows them."""

__all__ = ["PROBLEMS", "Problem", "cache_dir", "sp4"]
