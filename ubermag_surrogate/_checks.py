"""Checks of hyper-parameters, shared by the estimators.

Each returns the value in its canonical type or raises a ``ValueError`` naming the
parameter, so that a bad value is refused before any work, in the user's terms.
"""

import numbers

import numpy as np


def check_int(name, value, minimum=1):
    """Return ``value`` as an int >= ``minimum`` (default 1), or a ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, not {value!r}.")
    return int(value)


def check_seed(name, value):
    """Return ``value`` as None or an int in [0, 2**32), or a ValueError."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 0 <= value < 2**32
    ):
        raise ValueError(
            f"{name} must be None or an integer in [0, 2**32), not {value!r}."
        )
    return int(value)


def check_positive(name, value):
    """Return ``value`` as a positive finite float, or a ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (0 < value < np.inf)
    ):
        raise ValueError(f"{name} must be a positive number, not {value!r}.")
    return float(value)


def check_hidden(name, hidden):
    """Return hidden-layer widths as a tuple of positive ints, or a ValueError."""
    try:
        widths = tuple(hidden)
    except TypeError:
        widths = None
    if not widths or not all(
        isinstance(w, int | np.integer) and not isinstance(w, bool) and w > 0
        for w in widths
    ):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive layer widths, "
            f"not {hidden!r}."
        )
    return tuple(int(w) for w in widths)


def check_fraction(name, value, upper=1.0):
    """Return ``value`` as a float in [0, upper), or a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"{name} must be a number in [0, {upper}), not {value!r}.")
    if not 0 <= value < upper:
        raise ValueError(f"{name} must be in [0, {upper}), not {value!r}.")
    return float(value)
