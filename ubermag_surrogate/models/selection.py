"""Hyper-parameter selection by validation error on held-out field cases.

"Several hyperparameters have to be adjusted" is the seed paper's own complaint
about the kernel method. :func:`select_hyperparameters` splits the store's samples
by field case (never by time step), fits a surrogate per candidate and keeps the
one with the smallest validation error (mean over held-out fields of the maximum
over time of |<m>_pred - <m>_true|).
"""

import dataclasses
import hashlib
import itertools
import json
import pathlib
import time
import warnings

import numpy as np
from sklearn.base import clone

from .._checks import check_seed
from .._display import ReportDisplay
from .._progress import progress_bar
from ..neural.dense import interrupts_stop_fits
from .base import SurrogateModel, as_store, fingerprint, plain


def split_samples(store, validation_fraction=0.2, seed=0):
    """Split complete samples into train and validation sets by field case."""
    return split_fields(as_store(store).complete, validation_fraction, seed)


def split_fields(samples, validation_fraction=0.2, seed=0):
    """Split sample indices (field cases) into sorted train and validation sets.

    At least one validation sample and two training samples; ValueError else.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(
            f"validation_fraction={validation_fraction} must be in (0, 1)."
        )
    rng = np.random.default_rng(check_seed("seed", seed))
    shuffled = rng.permutation(samples)
    n_val = max(1, int(round(validation_fraction * len(samples))))
    if len(samples) - n_val < 2:
        raise ValueError(
            f"Holding out {n_val} of {len(samples)} complete samples "
            f"(validation_fraction={validation_fraction}) leaves fewer than 2 to "
            "train on: hold out fewer, or simulate more fields."
        )
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


def mean_m_errors(model, store, samples, true_mean=None):
    """Per-sample max over time and components of |<m>_pred - <m>_true|.

    ``true_mean`` ``(k, s+1, 3)``: the samples' <m> when already read.
    """
    store = as_store(store)
    samples = store.check_samples(samples)  # None: all complete samples
    if true_mean is None:
        true_mean = store.mean_m(samples)  # (k, s+1, 3)
    n_times = true_mean.shape[1]
    predicted = model.predict(store.fields[samples], n=n_times - 1).mean_m()
    return np.abs(predicted - true_mean).max(axis=(1, 2))


@dataclasses.dataclass(repr=False)
class SelectionResult(ReportDisplay):
    """Outcome of :func:`select_hyperparameters`."""

    best_params: dict
    best_error: float
    table: list
    model: object

    def __str__(self):
        fitted = hasattr(self.model, "fingerprint_")
        lines = [
            f"Best of {len(self.table)} candidates: {self.best_params} (validation "
            f"error {self.best_error:.4f}: mean over the held-out fields of the max "
            "over time of |<m>_pred - <m>_true|).",
            "model: refitted on all samples with these parameters"
            if fitted
            else "model: these parameters, not fitted (refit=False)",
            "",
            f"{'error':>8}  {'fit (s)':>7}  parameters",
        ]
        for row in sorted(self.table, key=lambda r: _rank(r["error"])):
            capped = row.get("capped") or {}
            note = (
                "  (capped by the data: "
                + ", ".join(f"{k}={v}" for k, v in capped.items())
                + ")"
                if capped
                else ""
            )
            lines.append(
                f"{row['error']:8.4f}  {row['fit_s']:7.1f}  {row['params']}{note}"
            )
        return "\n".join(lines)

    def _one_line(self):
        return (
            f"best error {self.best_error:.4g} of {len(self.table)} "
            f"candidates: {self.best_params}"
        )


def select_hyperparameters(
    estimator,
    store,
    grid,
    strategy="coordinate",
    validation_fraction=0.2,
    seed=0,
    refit=True,
    verbose=True,
    record=None,
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
        keeping the best value before moving on (at most the sum of the list
        lengths fits); ``"grid"``: every combination (product of list lengths
        fits). A candidate met twice is fitted once.
    validation_fraction : float
        Share of field cases held out.
    seed : int
        Seed of the split.
    refit : bool
        Refit the best parameters on all samples (default ``True``); with
        ``False`` the result's ``model`` is unfitted (its parameters only).
    verbose : bool
        A progress bar over the candidates and one line per fit.
    record : str or pathlib.Path, optional
        JSON-lines file. Each candidate is appended when its fit is evaluated, and
        candidates already recorded for the same training data, split and model
        parameters are read back instead of refitted: an interrupted search
        loses at most the fit in progress and resumes when called again. (With
        an unseeded template, ``random_state=None``, each fit draws its own seed:
        the errors read back are those of the fits recorded, and the refit is
        another draw; give a seed to compare candidates on equal terms.)

    Returns
    -------
    SelectionResult
        ``table`` has one row per distinct candidate (``params``: the value of every
        grid parameter, also those the coordinate search has not reached yet;
        ``error``, ``fit_s``, ``recorded``: read back from ``record``;
        ``capped``: the model's :meth:`capped_params`, ranks the training data
        made smaller, so that larger values give the same model).
    """
    store = as_store(store)
    if not isinstance(estimator, SurrogateModel):
        what = estimator.__name__ if isinstance(estimator, type) else repr(estimator)
        raise TypeError(
            f"estimator must be a model to start from, e.g. KernelSurrogate(), not "
            f"{what}."
        )
    if strategy not in ("coordinate", "grid"):
        raise ValueError(f"strategy={strategy!r} must be 'coordinate' or 'grid'.")
    valid = set(estimator.get_params())
    unknown = sorted(set(grid) - valid)
    if unknown:
        raise ValueError(
            f"Unknown parameters {unknown}; the model has {sorted(valid)}."
        )
    if not grid:
        raise ValueError("The grid is empty: name at least one parameter to try.")
    for name, values in grid.items():
        if isinstance(values, str | bytes | set | frozenset | dict) or not hasattr(
            values, "__len__"
        ):
            raise TypeError(
                f"grid[{name!r}] must be a list of values to try (in order), e.g. "
                f"[{values!r}], not {values!r}."
            )
    if any(len(v) == 0 for v in grid.values()):
        raise ValueError("Every grid entry needs at least one value.")
    grid = {name: plain(list(values)) for name, values in grid.items()}
    _check_candidates(estimator, grid)  # every value, before any fit
    train, validation = split_samples(store, validation_fraction, seed)
    context = {
        "kind": getattr(estimator, "kind", type(estimator).__name__),
        "train": fingerprint(store, train),
        "validation": fingerprint(store, validation),
    }
    record = None if record is None else pathlib.Path(record)
    if record is not None and not record.parent.is_dir():  # before any fit
        raise FileNotFoundError(
            f"record={str(record)!r}: the folder {str(record.parent)!r} does not exist."
        )
    recorded = _read_record(record)
    rows = {}  # candidate key -> table row
    n_candidates = (
        int(np.prod([len(v) for v in grid.values()]))
        if strategy == "grid"
        else sum(len(v) for v in grid.values())
    )
    progress = progress_bar(
        total=n_candidates, desc="selection", unit="candidate", disable=not verbose
    )

    def evaluate(params):
        model = clone(estimator).set_params(**params)
        key = _candidate_key(context, model)
        values = model.get_params()
        params = {name: values[name] for name in grid}  # the whole candidate
        if key not in rows:
            try:
                model._check_params()
            except (ValueError, TypeError) as exc:  # a combination met in the search
                warnings.warn(
                    f"Skipped the candidate {params}: {exc}", UserWarning, stacklevel=4
                )
                rows[key] = {
                    "params": dict(params),
                    "error": float("inf"),
                    "fit_s": 0.0,
                    "recorded": False,
                    "capped": {},
                }
        if key not in rows:
            if key in recorded:
                rows[key] = {**recorded[key], "params": dict(params), "recorded": True}
            else:
                start = time.perf_counter()
                try:
                    # Ctrl-C stops the search, not just a network's training: a
                    # part-trained candidate is neither scored nor recorded
                    with interrupts_stop_fits():
                        model.fit(store, samples=train)
                except Exception as exc:  # say which candidate, keep the type
                    exc.add_note(f"(while fitting the candidate {params})")
                    raise
                fit_s = time.perf_counter() - start
                error = float(mean_m_errors(model, store, validation).mean())
                if not np.isfinite(error):
                    warnings.warn(
                        f"The candidate {params} gave a validation error of "
                        f"{error} (its rollouts diverged); it ranks last.",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                rows[key] = {
                    "params": dict(params),
                    "error": error,
                    "fit_s": fit_s,
                    "recorded": False,
                    "capped": model.capped_params(),
                }
                if record is not None:
                    _append(record, {"key": key, **context, **rows[key]})
                if verbose:
                    capped = rows[key]["capped"]
                    progress.write(
                        f"validation error {error:.4f} ({fit_s:.1f} s): {params}"
                        + (f" (capped by the data: {capped})" if capped else "")
                    )
        progress.update()
        return rows[key]["error"]

    best = {}
    try:
        with progress:
            if strategy == "grid":
                names = list(grid)
                scores = {}
                for values in itertools.product(*(grid[n] for n in names)):
                    params = dict(zip(names, values, strict=True))
                    scores[tuple(values)] = evaluate(params)
                best_values = min(scores, key=lambda v: _rank(scores[v]))
                best = dict(zip(names, best_values, strict=True))
                best_error = scores[best_values]
            else:
                best_error = None
                for name, values in grid.items():
                    errors = [evaluate({**best, name: value}) for value in values]
                    i = min(range(len(errors)), key=lambda j: _rank(errors[j]))
                    if not np.isfinite(errors[i]):
                        raise ValueError(
                            f"Every value of {name} ({values}) gave a non-finite "
                            f"validation error (diverged or skipped) with {best}."
                        )
                    best[name] = values[i]
                    best_error = errors[i]
    except KeyboardInterrupt as exc:
        done = [f"{row['params']}: {row['error']:.4g}" for row in rows.values()]
        exc.add_note(
            f"Selection interrupted after {len(done)} candidate(s)"
            + (": " + "; ".join(done) if done else "")
            + (
                f". They are kept in {str(record)!r}: call again to go on."
                if record is not None
                else ". Pass record=PATH to keep candidates across runs."
            )
        )
        raise
    if not np.isfinite(best_error):
        raise ValueError(
            "Every candidate gave a non-finite validation error (diverged or "
            f"skipped): {[row['params'] for row in rows.values()]}."
        )
    model = clone(estimator).set_params(**best)
    if refit:
        try:
            with interrupts_stop_fits():
                model.fit(store)
        except KeyboardInterrupt as exc:
            exc.add_note(
                f"Interrupted while refitting the best candidate {best} (validation "
                f"error {best_error:.4g}) on all samples; refit=False returns the "
                "choice without it."
            )
            raise
    return SelectionResult(
        best_params=best, best_error=best_error, table=list(rows.values()), model=model
    )


def _rank(error):
    """Sort key of a validation error: non-finite ones (diverged) last."""
    return (not np.isfinite(error), error)


def _check_candidates(estimator, grid):
    """Refuse bad grid values before any fit (``ValueError``, naming the value).

    Each value is checked with the template's other parameters, or with one other
    grid value where it needs one (``n_components`` with a larger
    ``embedding_rank``); a combination the search meets that is still refused
    (e.g. a grid's larger ``n_components`` with its smaller ``embedding_rank``) is
    skipped then, with a warning.
    """
    names = list(grid)
    for name in names:
        for value in grid[name]:
            others = [{o: v} for o in names if o != name for v in grid[o]]
            _check_candidate(
                estimator, [{name: value}] + [{**o, name: value} for o in others]
            )


def _check_candidate(estimator, tries):
    """Pass if one of the parameter sets ``tries`` is valid, else raise its error."""
    first = None
    for params in tries:
        try:
            clone(estimator).set_params(**params)._check_params()
            return
        except (ValueError, TypeError) as exc:
            first = first or (exc, params)
    exc, params = first
    exc.add_note(f"(the grid's candidate {params}; no fit was run)")
    raise exc


def _candidate_key(context, model):
    """Hash of the data, split and every parameter of a candidate (not verbosity)."""
    params = {k: v for k, v in model.get_params().items() if k != "verbose"}
    # numpy numbers as Python's: np.int64(4) and 4 are one candidate
    text = json.dumps(
        {**context, "params": plain(params)}, sort_keys=True, default=repr
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _append(path, row):
    """Append one JSON line, dropping a last line cut short by an interruption."""
    with open(path, "a+b") as f:
        f.seek(0)
        text = f.read()
        if text and not text.endswith(b"\n"):
            f.truncate(text.rfind(b"\n") + 1)
        f.write((json.dumps(plain(row), default=repr) + "\n").encode())


def _read_record(path):
    """Rows of a selection record by candidate key (empty if there is none)."""
    if path is None or not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    rows = {}
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
            rows[row["key"]] = {
                "error": row["error"],
                "fit_s": row["fit_s"],
                "capped": row.get("capped", {}),  # absent from older records
            }
        except (json.JSONDecodeError, KeyError, TypeError):
            if not line.strip():
                continue  # a blank line
            if number == len(lines) and not text.endswith("\n"):
                continue  # the last line, cut short by an interruption
            raise ValueError(
                f"{str(path)!r} line {number} is not a selection record."
            ) from None
    return rows
