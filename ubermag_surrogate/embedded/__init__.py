"""Embedded calculator: Ubermag drivers backed by magnum.np.

A drop-in for oommfc where OOMMF is not installed. Drives run magnum.np (GPL-3.0,
installed with the ``embedded`` extra) in a child process, started by the first
drive and reused by the next ones (:mod:`.solver_process`), and write the same drive
folder layout as oommfc, so ``micromagneticdata`` reads it.

Examples
--------
>>> from ubermag_surrogate import embedded
>>> driver = embedded.TimeDriver()  # doctest: +SKIP
>>> driver.drive(system, t=1e-9, n=100)  # doctest: +SKIP
"""

from .delete import delete as delete
from .drivers import MinDriver as MinDriver
from .drivers import TimeDriver as TimeDriver
from .system_input import SUPPORTED_DYNAMICS as SUPPORTED_DYNAMICS
from .system_input import SUPPORTED_ENERGY as SUPPORTED_ENERGY

__all__ = [
    "MinDriver",
    "TimeDriver",
    "delete",
    "SUPPORTED_ENERGY",
    "SUPPORTED_DYNAMICS",
]


def __getattr__(name):
    # code written for oommfc (calc = us.calculator(); calc.HysteresisDriver())
    if name == "HysteresisDriver":
        raise AttributeError(
            "The embedded calculator has no HysteresisDriver (oommfc's needs OOMMF); "
            "step the Zeeman field and run MinDriver at each value instead."
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
