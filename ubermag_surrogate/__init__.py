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

__all__ = [
    "SurrogateDriver",
    "calculator",
    "compare",
    "evaluate",
    "oommf_available",
    "__version__",
]

_LAZY = {
    "SurrogateDriver": "ubermag_surrogate.driver",
    "compare": "ubermag_surrogate.comparison",
    "evaluate": "ubermag_surrogate.comparison",
}


_SUBPACKAGES = (
    "comparison",
    "data",
    "driver",
    "embedded",
    "integration",
    "lowrank",
    "models",
    "neural",
    "problems",
)


def __getattr__(name):
    # The driver and the comparison pull in scikit-learn, xarray and matplotlib:
    # import them on first use only; so are the subpackages (us.embedded.TimeDriver)
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
