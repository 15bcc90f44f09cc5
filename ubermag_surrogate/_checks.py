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


def check_bool(name, value):
    """Return ``value`` as a bool if it is one (numpy's included), or a TypeError.

    A string such as ``"false"`` (e.g. from JSON written by hand) would otherwise
    count as true.
    """
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, not {value!r}.")
    return bool(value)


def check_verbosity(name, value):
    """Return ``value`` as an int >= 0 (a verbosity level), or a TypeError."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if not isinstance(value, numbers.Integral) or value < 0:
        raise TypeError(f"{name} must be an integer >= 0, not {value!r}.")
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


MAX_FIELD = 100.0
"""Largest applied field |mu0 H| (T) accepted: larger is taken for a unit mistake
(H in A/m given where mu0 H in T is asked for); no lab magnet reaches it."""


MAX_DYNAMICS_TIME = 1e-3
"""Longest simulated time (s) a time drive or ``generate`` accepts: longer is
taken for a unit mistake (ns given as s); time-stepping the LLG equation over
milliseconds does not finish."""


def check_dynamics_time(t, name="t"):
    """Return ``t`` as a positive float of at most :data:`MAX_DYNAMICS_TIME` s."""
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not t > 0:
        raise ValueError(f"{name}={t!r} must be a positive time in seconds.")
    if t > MAX_DYNAMICS_TIME:
        raise ValueError(
            f"{name}={t!r} s is more than {MAX_DYNAMICS_TIME:g} s of magnetisation "
            "dynamics, which time-stepping the LLG equation does not finish: times "
            "are in seconds (1 ns is 1e-9)."
        )
    return float(t)


def as_float_array(values, name):
    """``values`` as a float64 array, or a ValueError naming the argument."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers: {error}") from None


def check_fields(values, name="fields", unit="T"):
    """Constant applied fields as a finite float64 array ``(k, 3)``.

    Parameters
    ----------
    values : array_like
        ``(k, 3)`` fields, or ``(3,)`` for one.
    name : str
        The argument's name, for messages.
    unit : {"T", "A/m"}
        ``"T"``: mu0 H in T (default); ``"A/m"``: H in A/m.

    Returns
    -------
    numpy.ndarray
        The fields ``(k, 3)``, float64, in ``unit``.

    Raises
    ------
    ValueError
        Naming ``name`` and its unit, for non-numbers, another shape, no fields,
        non-finite values, or a field above ``MAX_FIELD`` (100 T) in mu0 H.
    """
    fields = as_float_array(values, name)
    if fields.ndim == 1:
        fields = fields[None, :]
    described = "mu0 H in T" if unit == "T" else "H in A/m"
    if fields.ndim != 2 or fields.shape[1] != 3:
        raise ValueError(
            f"{name} must be an array of shape (k, 3) ({described}), got shape "
            f"{fields.shape}."
        )
    if len(fields) == 0:
        raise ValueError(f"No fields given: {name} is empty.")
    if not np.all(np.isfinite(fields)):
        raise ValueError(f"{name} has non-finite values.")
    scale = np.abs(fields).max() or 1.0  # |1e200 T| without overflow
    tesla = np.linalg.norm(fields / scale, axis=1) * scale
    if unit != "T":
        import micromagneticmodel as mm  # only callers that already use it pass A/m

        tesla *= mm.consts.mu0
    if tesla.max() > MAX_FIELD:
        hint = (
            "fields are mu0 H in tesla (36 mT is 0.036); H in A/m times mu0 = "
            "4 pi 1e-7 T m/A is mu0 H"
            if unit == "T"
            else "H is in A/m (mu0 H = 36 mT is H = 28648 A/m)"
        )
        raise ValueError(
            f"{name} has |mu0 H| up to {tesla.max():.3g} T, above "
            f"{MAX_FIELD:g} T: {hint}."
        )
    return fields
