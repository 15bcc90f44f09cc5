"""Choose the Ubermag calculator that runs full simulations: oommfc or embedded.

``calculator()`` returns a module with ``TimeDriver``, ``MinDriver`` and ``delete``:
``oommfc`` when oommfc's runner finds OOMMF, else the embedded calculator
(:mod:`ubermag_surrogate.embedded`, magnum.np). Either can be forced by name.
"""

import functools
import importlib
import logging

CHOICES = ("auto", "oommf", "embedded")


@functools.lru_cache(maxsize=1)
def oommf_available():
    """Whether oommfc's runner finds an OOMMF installation.

    The answer is cached for the session (finding OOMMF can take seconds).

    Returns
    -------
    bool
    """
    import oommfc

    oommfc_log = logging.getLogger("oommfc")
    level = oommfc_log.level
    oommfc_log.setLevel(logging.CRITICAL)  # its runner search logs every failure
    try:
        oommfc.runner.runner  # noqa: B018 - selecting a runner is the check
    except (OSError, RuntimeError):
        return False
    finally:
        oommfc_log.setLevel(level)
    return True


def check_embedded_available():
    """Raise ``RuntimeError`` naming the extra to install unless it is installed."""
    if not embedded_available():
        raise RuntimeError(
            "The embedded calculator needs magnum.np and torch: pip install "
            "'ubermag-surrogate[embedded]' (install a CPU build of torch first on "
            "machines without a GPU)."
        )


def embedded_available():
    """Whether magnum.np and torch are installed (the ``embedded`` extra).

    Returns
    -------
    bool
    """
    # Only look the packages up: importing magnum.np changes global torch state.
    return all(importlib.util.find_spec(name) for name in ("magnumnp", "torch"))


def calculator(name="auto", verbose=True):
    """Return the calculator module used to run full simulations.

    Parameters
    ----------
    name : str, optional
        ``"auto"`` (default): oommfc when OOMMF is found, else the embedded
        calculator; ``"oommf"`` or ``"embedded"`` force one.
    verbose : bool, optional
        Print which calculator was chosen (default ``True``).

    Returns
    -------
    module
        ``oommfc`` or ``ubermag_surrogate.embedded``; both provide ``TimeDriver``,
        ``MinDriver`` and ``delete``.

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        If the requested calculator is not installed.

    Examples
    --------
    >>> import ubermag_surrogate as us
    >>> calc = us.calculator("embedded", verbose=False)
    >>> calc.__name__
    'ubermag_surrogate.embedded'
    """
    if name not in CHOICES:
        raise ValueError(f"Unknown calculator {name!r}; choose one of {CHOICES}.")
    if name == "auto":
        name = "oommf" if oommf_available() else "embedded"
        reason = "OOMMF found by oommfc" if name == "oommf" else "OOMMF not found"
    else:
        reason = "requested"
    if name == "oommf":
        if not oommf_available():
            raise RuntimeError(
                "oommfc cannot find OOMMF (install it, e.g. from conda-forge, or set "
                "OOMMFTCL); use the embedded calculator instead "
                "(calculator='embedded'; on the command line --calculator embedded)."
            )
        module = importlib.import_module("oommfc")
        label = "oommfc (OOMMF)"
    else:
        check_embedded_available()
        module = importlib.import_module("ubermag_surrogate.embedded")
        label = "embedded (magnum.np)"
    if verbose:
        print(f"Calculator: {label} [{reason}]")
    return module
