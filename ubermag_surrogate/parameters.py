"""Ubermag term parameters on a mesh's cells, read as oommfc reads them.

A parameter of a ``micromagneticmodel`` term (``Zeeman.H``, ``Exchange.A``,
``Damping.alpha``, ...) is a number or vector, a dict of values per subregion, or a
``discretisedfield.Field``. oommfc writes a dict as an OOMMF atlas field: cells
outside the named subregions take the value under ``"default"``, and zero where the
dict has no ``"default"``; a name the mesh has no subregion for is an error (OOMMF
stops on it). :func:`cell_values` applies the same rules, so the embedded
calculator simulates, and the surrogate driver reads, what OOMMF would.

Examples
--------
>>> import discretisedfield as df
>>> mesh = df.Mesh(
...     p1=(0, 0, 0), p2=(4e-9, 1e-9, 1e-9), n=(4, 1, 1),
...     subregions={"left": df.Region(p1=(0, 0, 0), p2=(2e-9, 1e-9, 1e-9))},
... )
>>> cell_values(mesh, {"left": 1e5}, 1, "H")[:, 0, 0]  # no "default": zero
array([100000., 100000.,      0.,      0.])
"""

import discretisedfield as df
import numpy as np

TIME_DEPENDENT_ZEEMAN = ("func", "wave", "f", "t0", "dt", "tcl_strings")
"""Options of ``micromagneticmodel.Zeeman`` that make the field change in time."""


def subregion_labels(mesh, names, what):
    """Return which of the subregions ``names`` each cell lies in, ``mesh.n``.

    1 for the first name, 2 for the second, ...; 0 for cells in none of them
    (where a parameter dict's ``"default"`` holds), by the same rules as
    :func:`cell_values`.
    """
    labels = {name: i + 1.0 for i, name in enumerate(names)}
    return cell_values(mesh, {**labels, "default": 0.0}, 1, what)


def cell_values(mesh, value, nvdim, what):
    """Return a term parameter's value on every cell of ``mesh``, float64.

    Parameters
    ----------
    mesh : discretisedfield.Mesh
        The system's mesh.
    value : number, sequence, dict or discretisedfield.Field
        The parameter, in its SI unit (e.g. A/m for ``Zeeman.H``).
    nvdim : int
        1 for a scalar parameter, 3 for a vector one.
    what : str
        How error messages name it, e.g. ``"Zeeman.H"``.

    Returns
    -------
    numpy.ndarray
        Shape ``mesh.n`` (``nvdim`` 1) or ``(*mesh.n, nvdim)``.

    Raises
    ------
    ValueError
        For subregion names the mesh does not have, values that cannot be
        evaluated on the mesh and non-finite values.
    """
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(mesh.subregions) - {"default"})
        if unknown:
            raise ValueError(
                f"{what} names subregion(s) {', '.join(map(repr, unknown))} that the "
                f"mesh does not have (its subregions: {sorted(mesh.subregions)})."
            )
        if "default" not in value:  # as oommfc: zero outside the named subregions
            value = {**value, "default": 0.0 if nvdim == 1 else (0.0,) * nvdim}
    try:
        field = df.Field(mesh, nvdim=nvdim, value=value)
    except Exception as exc:  # discretisedfield raises many types for bad values
        raise ValueError(
            f"Cannot evaluate {what}={value!r} on the mesh: {exc}"
        ) from exc
    array = np.asarray(field.array, dtype=np.float64)
    if nvdim == 1:
        array = array[..., 0]
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} has non-finite values.")
    return array
