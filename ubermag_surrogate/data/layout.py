"""The magnetisation layout of the data tensor and the models.

A state is stored as unit vectors in components-first order, shape ``(3, N)``
(flattened: ``[m_x (N) | m_y (N) | m_z (N)]``), cells in ``discretisedfield``'s
array order. Empty cells (Ms = 0) hold zero vectors.
"""

import discretisedfield as df
import numpy as np


def unit_vectors(M):
    """Return M (A/m), shape ``(..., 3)``, as unit vectors; zero where M = 0."""
    M = np.asarray(M, dtype=np.float64)
    norm = np.sqrt(np.einsum("...i,...i->...", M, M))[..., None]
    return np.divide(M, norm, out=np.zeros_like(M), where=norm > 0)


def fix_cells(m, magnetic, normalize=True):
    """Put decoded states ``(k, 3N)`` into the layout, in place, and return them.

    Parameters
    ----------
    m : numpy.ndarray
        Decoded magnetisations ``(k, 3N)`` (any float dtype); changed in place.
    magnetic : numpy.ndarray
        Which cells have Ms > 0, ``(N,)``: the other cells get zero vectors.
    normalize : bool
        Scale each magnetic cell's vector to unit length (default ``True``).
    """
    k, three_n = m.shape
    cells = m.reshape(k, 3, three_n // 3)
    if normalize:  # one factor per cell: 1/|m| (0 in empty cells)
        norm = np.sqrt(np.einsum("kcn,kcn->kn", cells, cells))
        factor = np.zeros_like(norm)
        np.divide(1.0, norm, out=factor, where=(norm > 0) & magnetic)
        cells *= factor[:, None, :]
    elif not magnetic.all():
        cells *= magnetic  # empty cells hold zero vectors
    return m


def to_components(M):
    """Return a field array M (A/m), shape ``(nx, ny, nz, 3)``, as unit ``(3, N)``."""
    return unit_vectors(M).reshape(-1, 3).T


def to_field(m, mesh, Ms):
    """Return unit magnetisation ``(3, N)`` or ``(3N,)`` as a Field of M (A/m).

    The field's ``unit`` is ``"A/m"`` (written to OVF files as ``valueunits``, as
    OOMMF writes its magnetisation).

    The vectors are normalised in float64 first (predictions and stored states are
    unit vectors to float32 precision), so |M| = Ms to float64 precision.

    Parameters
    ----------
    m : array_like
        Unit vectors in the layout above.
    mesh : discretisedfield.Mesh
        Mesh with N cells.
    Ms : numpy.ndarray
        Saturation magnetisation (A/m) per cell, ``(N,)``.
    """
    Ms = np.asarray(Ms, dtype=np.float64).reshape(-1)
    values = unit_vectors(np.asarray(m, dtype=np.float64).reshape(3, Ms.size).T)
    values *= Ms[:, None]
    return df.Field(mesh, nvdim=3, value=values.reshape((*mesh.n, 3)), unit="A/m")


def mean_m(m, Ms):
    """Mean magnetisation <m> as OOMMF's tables have it: sum Ms m / sum Ms.

    For a magnet of uniform Ms this is the plain mean over its cells.

    Parameters
    ----------
    m : array_like
        Unit magnetisations in the layout above, ``(..., 3N)`` (any float dtype).
    Ms : array_like
        Saturation magnetisation per cell (A/m), ``(N,)``; a boolean mask gives
        the plain mean over the cells it marks.

    Returns
    -------
    numpy.ndarray
        ``(..., 3)``, float64.
    """
    Ms = np.asarray(Ms, dtype=np.float64).reshape(-1)
    m = np.asarray(m)
    if m.shape[-1] != 3 * Ms.size:
        raise ValueError(
            f"m has {m.shape[-1]} values per state, not 3 x {Ms.size} (one vector "
            "per cell of Ms)."
        )
    total = Ms.sum()
    weights = Ms / total if total > 0 else Ms
    # einsum casts float32 states in its buffers, not as a float64 copy of them all
    return np.einsum("...cn,n->...c", m.reshape(*m.shape[:-1], 3, Ms.size), weights)


def rms_difference(m, m_ref):
    """Root-mean-square of |m - m_ref| over the magnetic cells of ``m_ref``.

    Parameters
    ----------
    m, m_ref : array_like
        Unit magnetisations in the layout above, ``(3N,)`` or ``(3, N)``.

    Returns
    -------
    float
        0 for identical states, 2 for opposite ones.
    """
    m_ref = np.asarray(m_ref, dtype=np.float64).reshape(3, -1)
    delta = np.asarray(m, dtype=np.float64).reshape(3, -1) - m_ref
    magnetic = np.linalg.norm(m_ref, axis=0) > 0
    if not magnetic.any():
        return 0.0
    return float(np.sqrt((delta[:, magnetic] ** 2).sum(axis=0).mean()))
