"""muMAG standard problem 4 (SP4): a 500 x 125 x 3 nm permalloy film.

The s-state is reached by minimising the energy from a uniform (1, 0.25, 0.1)
magnetisation; then one of two in-plane fields is applied for 1 ns:
field 1 is mu0 H = (-24.6, 4.3, 0) mT, field 2 is mu0 H = (-35.5, -6.3, 0) mT.

Examples
--------
>>> from ubermag_surrogate.problems import sp4
>>> system = sp4.system(cell=(10e-9, 12.5e-9, 3e-9))
>>> system.m.mesh.n.tolist()
[50, 10, 1]
"""

import functools
import warnings

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np

from .._checks import check_fields
from .base import Problem

LENGTH = (500e-9, 125e-9, 3e-9)
"""Film size (m)."""
CELL = (5e-9, 5e-9, 3e-9)
"""Default cell (m): 100 x 25 x 1 cells, 3N = 7500."""
MS = 8e5
"""Saturation magnetisation (A/m)."""
A = 1.3e-11
"""Exchange constant (J/m)."""
ALPHA = 0.02
"""Gilbert damping."""
GAMMA0 = 2.211e5
"""Gyromagnetic ratio (m/(A s))."""
M_INITIAL = (1.0, 0.25, 0.1)
"""Direction the s-state relaxation starts from."""
FIELD1 = (-24.6e-3, 4.3e-3, 0.0)
"""SP4 field 1, mu0 H (T)."""
FIELD2 = (-35.5e-3, -6.3e-3, 0.0)
"""SP4 field 2, mu0 H (T)."""


def system(name="sp4", cell=CELL):
    """Return the SP4 system before relaxation (no Zeeman term yet).

    Parameters
    ----------
    name : str, optional
        System name (drive folders go to ``<dirname>/<name>/``).
    cell : tuple of float, optional
        Cell size (m); it must divide the film into whole cells.

    Returns
    -------
    micromagneticmodel.System
        Exchange + Demag energy, Precession + Damping dynamics, and ``m`` uniform
        along ``M_INITIAL`` with norm ``MS``.
    """
    mesh = df.Mesh(p1=(0, 0, 0), p2=LENGTH, cell=cell)
    result = mm.System(name=name)
    result.energy = mm.Exchange(A=A) + mm.Demag()
    result.dynamics = mm.Precession(gamma0=GAMMA0) + mm.Damping(alpha=ALPHA)
    result.m = df.Field(mesh, nvdim=3, value=M_INITIAL, norm=MS)
    return result


def problem(cell=CELL):
    """Return SP4 as a :class:`~ubermag_surrogate.problems.base.Problem`.

    Trajectories start from the s-state (relaxed once per mesh and calculator and
    cached on disk).

    Parameters
    ----------
    cell : tuple of float, optional
        Cell size (m).
    """
    return Problem("sp4", functools.partial(system, cell=tuple(cell)), relax=True)


def zeeman(b_field):
    """Zeeman term for a flux density mu0 H given in tesla.

    Parameters
    ----------
    b_field : array_like
        mu0 H (T), three components.

    Returns
    -------
    micromagneticmodel.Zeeman
        With ``H`` in A/m.
    """
    b_field = check_fields(b_field, "b_field")
    if b_field.shape != (1, 3):
        raise ValueError(
            f"b_field must be one field of three components (T), not {len(b_field)}."
        )
    if np.abs(b_field).max() > 1.0:  # SP4's fields are tens of mT
        warnings.warn(
            f"b_field has a component of {np.abs(b_field).max():g} T, above 1 T: "
            "mu0 H is in T (35 mT is 0.035, not 35).",
            UserWarning,
            stacklevel=2,
        )
    return mm.Zeeman(H=tuple(float(v) for v in b_field[0] / mm.consts.mu0))


def first_zero_crossing(t, mx):
    """Time (s) of the first sign change of ``mx``, linearly interpolated.

    Returns ``nan`` if ``mx`` never changes sign.
    """
    t = np.asarray(t, dtype=float)
    mx = np.asarray(mx, dtype=float)
    idx = np.flatnonzero(np.signbit(mx[1:]) != np.signbit(mx[:-1]))
    if idx.size == 0:
        return float("nan")
    i = idx[0]
    return float(t[i] - mx[i] * (t[i + 1] - t[i]) / (mx[i + 1] - mx[i]))
