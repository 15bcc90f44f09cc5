"""ubermag-surrogate: machine-learned surrogates of micromagnetic dynamics for Ubermag.

The pipeline, one module each: training data from a calculator (oommfc or the
embedded magnum.np calculator, :mod:`ubermag_surrogate.embedded`), reduction,
integration in the reduced space, a drop-in Ubermag driver, and comparison with the
full simulation.
"""

import importlib.metadata

from .calculators import calculator as calculator
from .calculators import oommf_available as oommf_available

__version__ = importlib.metadata.version("ubermag-surrogate")

__all__ = ["calculator", "oommf_available", "__version__"]
