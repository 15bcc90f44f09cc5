"""RBF kernel blocks computed in chunks, and landmark selection for Nystroem maps.

k(x, y) = exp(-gamma ||x - y||^2) (seed paper, eq. 5). Blocks ``K[X, Y]`` are formed
row-chunk by row-chunk in float64 so that an ``m x r`` block of ``m`` samples of
dimension ``3N`` never needs an ``m x 3N`` float64 copy of the data.
"""

import numbers

import numpy as np

LANDMARK_METHODS = ("random", "kmeans++", "greedy")


def _chunk_rows(n_rows, n_cols, budget_bytes=64 * 2**20):
    """Rows per chunk so a float64 chunk of ``n_cols`` columns fits the budget."""
    return max(1, min(n_rows, budget_bytes // (8 * max(n_cols, 1))))


def check_gamma(gamma, name="gamma"):
    """Return ``gamma`` as a positive float, or raise a clear error."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"{name} must be a positive number, not {gamma!r}.")
    if not (gamma > 0 and np.isfinite(gamma)):
        raise ValueError(f"{name}={gamma!r} must be positive and finite.")
    return float(gamma)


def squared_norms(X):
    """Row-wise squared norms in float64, computed chunk by chunk."""
    out = np.empty(X.shape[0])
    step = _chunk_rows(*X.shape)
    for start in range(0, X.shape[0], step):
        chunk = np.asarray(X[start : start + step], dtype=np.float64)
        out[start : start + step] = np.einsum("ij,ij->i", chunk, chunk)
    return out


def rbf_block(X, Y, gamma, X_sq=None, Y_sq=None, out=None):
    """Return the RBF kernel block ``K[X, Y]`` (float64, shape ``(len(X), len(Y))``).

    Parameters
    ----------
    X, Y : array_like
        Samples as rows; any float dtype (converted per chunk).
    gamma : float
        Kernel width (1 / unit of ||x - y||^2).
    X_sq, Y_sq : numpy.ndarray, optional
        Precomputed squared row norms.
    out : numpy.ndarray, optional
        Array to fill.

    Raises
    ------
    TypeError, ValueError
        For a gamma that is not a positive number, or X and Y that are not
        two-dimensional with the same number of columns.
    """
    X = X if hasattr(X, "shape") and hasattr(X, "ndim") else np.asarray(X, float)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(
            "X and Y must be two-dimensional (samples as rows) with the same number "
            f"of columns, not shapes {X.shape} and {Y.shape}."
        )
    return _rbf_block(X, Y, check_gamma(gamma), X_sq, Y_sq, out)


def _rbf_block(X, Y, gamma, X_sq=None, Y_sq=None, out=None):
    """:func:`rbf_block` for checked arguments (the estimators' inner loops)."""
    Y64 = np.asarray(Y, dtype=np.float64)
    Y_sq = squared_norms(Y64) if Y_sq is None else Y_sq
    X_sq = squared_norms(X) if X_sq is None else X_sq
    if out is None:
        out = np.empty((X.shape[0], Y64.shape[0]))
    step = _chunk_rows(X.shape[0], max(X.shape[1], Y64.shape[0]))
    for start in range(0, X.shape[0], step):
        stop = min(start + step, X.shape[0])
        chunk = np.asarray(X[start:stop], dtype=np.float64)
        block = out[start:stop]
        np.matmul(chunk, Y64.T, out=block)
        block *= -2.0
        block += X_sq[start:stop, None]
        block += Y_sq[None, :]
        np.maximum(block, 0.0, out=block)  # round-off can make distances negative
        block *= -gamma
        np.exp(block, out=block)
    return out


def select_landmarks(X, n, method="random", gamma=None, seed=0):
    """Choose ``n`` landmark rows of ``X`` for a Nystroem approximation.

    Parameters
    ----------
    X : array_like
        Samples, shape ``(m, dim)``.
    n : int
        Number of landmarks (``1 <= n <= m``).
    method : str, optional
        ``"random"`` (uniform without replacement, as the seed paper),
        ``"kmeans++"`` (D^2 sampling in input space: spread-out landmarks) or
        ``"greedy"`` (pivoted Cholesky of the kernel matrix: each landmark is the
        sample worst represented by the previous ones; deterministic, needs
        ``gamma``).
    gamma : float, optional
        Kernel width, for ``"greedy"``.
    seed : int, optional
        Random seed.

    Returns
    -------
    numpy.ndarray
        Sorted indices into ``X``, shape ``(n,)``.
    """
    m = X.shape[0]
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= m:
        raise ValueError(f"Cannot choose {n!r} landmarks from {m} samples.")
    if method not in LANDMARK_METHODS:
        raise ValueError(f"Unknown landmark method {method!r}; use {LANDMARK_METHODS}.")
    rng = np.random.default_rng(seed)
    if method == "random":
        return np.sort(rng.choice(m, size=n, replace=False))
    X_sq = squared_norms(X)
    chosen = np.empty(n, dtype=np.int64)
    if method == "kmeans++":
        chosen[0] = rng.integers(m)
        d2 = _distances_to(X, X_sq, chosen[0])
        for k in range(1, n):
            d2[chosen[:k]] = 0.0  # round-off (~1e-12) must not draw them again
            total = d2.sum()
            if total <= 0:  # all remaining samples coincide with landmarks
                rest = np.setdiff1d(np.arange(m), chosen[:k])
                chosen[k:] = rng.choice(rest, size=n - k, replace=False)
                break
            chosen[k] = rng.choice(m, p=d2 / total)
            d2 = np.minimum(d2, _distances_to(X, X_sq, chosen[k]))
        return np.sort(chosen)
    gamma = check_gamma(gamma)
    # Pivoted Cholesky: residual diagonal of K - L L^T, starting from k(x, x) = 1.
    residual = np.ones(m)
    L = np.zeros((m, n))
    for k in range(n):
        pivot = int(np.argmax(residual))
        if residual[pivot] <= 1e-12:
            rest = np.setdiff1d(np.arange(m), chosen[:k])
            chosen[k:] = rng.choice(rest, size=n - k, replace=False)
            break
        chosen[k] = pivot
        column = _rbf_block(
            X, X[pivot : pivot + 1], gamma, X_sq, X_sq[pivot : pivot + 1]
        )
        column = column[:, 0] - L[:, :k] @ L[pivot, :k]
        L[:, k] = column / np.sqrt(residual[pivot])
        residual -= L[:, k] ** 2
        residual[pivot] = 0.0
    return np.sort(chosen)


def _distances_to(X, X_sq, index):
    row = np.asarray(X[index], dtype=np.float64)
    d2 = X_sq + row @ row
    step = _chunk_rows(*X.shape)
    for start in range(0, X.shape[0], step):
        chunk = np.asarray(X[start : start + step], dtype=np.float64)
        d2[start : start + step] -= 2 * chunk @ row
    return np.maximum(d2, 0.0)
