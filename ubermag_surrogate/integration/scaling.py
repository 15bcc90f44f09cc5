"""Standardisation of the applied field as an input of learned maps."""

import numpy as np


def field_scaling(fields):
    """Return the field components that vary in training, their mean and scale.

    Components that do not vary (e.g. Bz = 0 for in-plane domains) are left out of
    the inputs of the learned maps.

    Parameters
    ----------
    fields : numpy.ndarray
        Training fields, mu0 H (T), ``(k, 3)``.

    Returns
    -------
    columns : numpy.ndarray
        Indices of the varying components.
    mean, scale : numpy.ndarray
        Their mean and standard deviation (T).
    """
    fields = np.asarray(fields, dtype=np.float64)
    std = fields.std(axis=0)
    varying = std > 1e-12 * max(np.abs(fields).max(), 1e-30)
    columns = np.flatnonzero(varying)
    return columns, fields[:, columns].mean(axis=0), std[columns]


def scale_fields(fields, columns, mean, scale):
    """Return the standardised inputs ``(k, len(columns))`` of fields ``(k, 3)`` (T)."""
    fields = np.asarray(fields, dtype=np.float64)[:, columns]
    return (fields - mean) / scale
