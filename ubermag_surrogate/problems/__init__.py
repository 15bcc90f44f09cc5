"""Built-in micromagnetic problems (system factories) used to generate training data."""

from . import sp4 as sp4

__all__ = ["sp4"]
