"""Hyper-parameter selection by validation error on held-out field cases.

"Several hyperparameters have to be adjusted" is the seed paper's own complaint
about the kernel method. :func:`select_hyperparameters` splits the store's samples
by field case (never by time step), fits a surrogate per candidate and keeps the
one with the smallest validation error (mean over held-out fields of the maximum
over time of |<m>_pred - <m>_true|).
"""

import dataclasses
import itertools
import time

import numpy as np
from sklearn.base import clone

from .base import as_store


def split_samples(store, validation_fraction=0.2, seed=0):
    """Split complete samples into train and validation sets by field case."""
    samples = as_store(store).complete
    if not 0 < validation_fraction < 1:
        raise ValueError(
            f"validation_fraction={validation_fraction} must be in (0, 1)."
        )
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(samples)
    n_val = max(1, int(round(validation_fraction * len(samples))))
    if len(samples) - n_val < 2:
        raise ValueError(f"{len(samples)} complete samples are too few to split.")
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


def mean_m_errors(model, store, samples):
    """Per-sample max over time and components of |<m>_pred - <m>_true|."""
    store = as_store(store)
    truth = store.tensor(samples, field_components=())  # (s+1, k, 3N)
    n_times, k, three_n = truth.shape
    true_mean = truth.reshape(n_times, k, 3, three_n // 3).mean(-1).transpose(1, 0, 2)
    predicted = model.predict(store.fields[samples], n=n_times - 1).mean_m()
    return np.abs(predicted - true_mean).max(axis=(1, 2))


@dataclasses.dataclass
class SelectionResult:
    """Outcome of :func:`select_hyperparameters`."""

    best_params: dict
    best_error: float
    table: list
    model: object

    def __str__(self):
        lines = [f"{'error':>8}  {'fit (s)':>7}  parameters"]
        for row in sorted(self.table, key=lambda r: r["error"]):
            lines.append(f"{row['error']:8.4f}  {row['fit_s']:7.1f}  {row['params']}")
        return "\n".join(lines)


def select_hyperparameters(
    estimator,
    store,
    grid,
    strategy="coordinate",
    validation_fraction=0.2,
    seed=0,
    refit=True,
    verbose=True,
):
    """Choose hyper-parameters of a surrogate by validation error.

    Parameters
    ----------
    estimator : SurrogateModel
        Template model (e.g. ``KernelSurrogate(...)``); its parameters are the
        starting point.
    store : TrajectoryStore or path
        Training data.
    grid : dict
        Parameter name -> list of values to try (log-spaced values work well for
        widths and ridges).
    strategy : str
        ``"coordinate"`` (default): one parameter at a time in the given order,
        keeping the best value before moving on (sum of list lengths fits);
        ``"grid"``: every combination (product of list lengths fits).
    validation_fraction : float
        Share of field cases held out.
    seed : int
        Seed of the split.
    refit : bool
        Refit the best parameters on all samples (default ``True``).
    verbose : bool
        Print one line per candidate.

    Returns
    -------
    SelectionResult
    """
    store = as_store(store)
    if strategy not in ("coordinate", "grid"):
        raise ValueError(f"strategy={strategy!r} must be 'coordinate' or 'grid'.")
    valid = set(estimator.get_params())
    unknown = sorted(set(grid) - valid)
    if unknown:
        raise ValueError(
            f"Unknown parameters {unknown}; the model has {sorted(valid)}."
        )
    if any(len(v) == 0 for v in grid.values()):
        raise ValueError("Every grid entry needs at least one value.")
    train, validation = split_samples(store, validation_fraction, seed)
    table = []

    def evaluate(params):
        model = clone(estimator).set_params(**params)
        start = time.perf_counter()
        model.fit(store, samples=train)
        fit_s = time.perf_counter() - start
        error = float(mean_m_errors(model, store, validation).mean())
        table.append({"params": dict(params), "error": error, "fit_s": fit_s})
        if verbose:
            print(f"validation error {error:.4f} ({fit_s:.1f} s): {params}", flush=True)
        return error

    best = {}
    if strategy == "grid":
        names = list(grid)
        scores = {}
        for values in itertools.product(*(grid[n] for n in names)):
            params = dict(zip(names, values, strict=True))
            scores[tuple(values)] = evaluate(params)
        best_values = min(scores, key=scores.get)
        best = dict(zip(names, best_values, strict=True))
        best_error = scores[best_values]
    else:
        best_error = None
        for name, values in grid.items():
            errors = [evaluate({**best, name: value}) for value in values]
            i = int(np.argmin(errors))
            best[name] = values[i]
            best_error = errors[i]
    model = clone(estimator).set_params(**best)
    if refit:
        model.fit(store)
    return SelectionResult(
        best_params=best, best_error=best_error, table=table, model=model
    )
