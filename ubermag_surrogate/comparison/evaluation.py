"""A surrogate scored on many simulated fields at once: per-field errors over a store.

:func:`evaluate` predicts every field of a trajectory store (typically one the
model was not trained on, e.g. ``ubermag-surrogate generate ... --seed 2``) and
scores each prediction against the stored simulation with the metrics of the seed
paper and of ``benchmarks/``: the relative trajectory error
||M_pred - M_true||_F / ||M_true||_F and the largest error of the mean
magnetisation, max over time and components of |<m>_pred - <m>_true|. With
``sensitivity=True`` each field also gets the model's
:meth:`~ubermag_surrogate.models.SurrogateModel.field_sensitivity`, so that the
fields it flags can be told apart from the others. Where :func:`compare` runs one
new simulation beside one prediction, :func:`evaluate` reuses simulations already
stored, for as many fields as the store holds.
"""

import dataclasses
import pathlib
import time
import warnings

import numpy as np

from .._display import ReportDisplay
from .._progress import progress_bar
from ..data.domains import FieldDomain, in_plane_angle
from ..data.layout import mean_m, rms_difference
from ..driver.request import check_same_system
from ..models.base import (
    INITIAL_STATE_TOLERANCE,
    ExtrapolationWarning,
    as_fitted_model,
    as_store,
    reissue_warnings,
)

CHUNK_BYTES = 2**27
"""Bytes of predicted (and as many of stored) states held at a time (float32)."""


def trajectory_errors(predicted, true, Ms=None):
    """Return each trajectory's relative error and largest error of <m>.

    Parameters
    ----------
    predicted, true : numpy.ndarray
        Unit magnetisations ``(k, s+1, 3N)`` in the store's layout
        ``[m_x | m_y | m_z]``, zero vectors in empty cells.
    Ms : numpy.ndarray, optional
        Saturation magnetisation per cell (A/m), ``(N,)``: <m> is sum Ms m / sum
        Ms, as in OOMMF's tables (default: every cell weighs the same; a boolean
        mask: the plain mean over the cells it marks).

    Returns
    -------
    relative : numpy.ndarray
        ``(k,)``: ||M_pred - M_true||_F / ||M_true||_F over all outputs.
    mean_m : numpy.ndarray
        ``(k,)``: max over outputs and components of |<m>_pred - <m>_true|.
    """
    predicted = np.asarray(predicted)
    true = np.asarray(true)
    if predicted.shape != true.shape or predicted.ndim != 3:
        raise ValueError(
            f"predicted {predicted.shape} and true {true.shape} must both be "
            "(k, s+1, 3N)."
        )
    k, n_times, three_n = true.shape
    diff = (predicted - true).reshape(k, -1)
    relative = np.linalg.norm(diff, axis=1) / np.linalg.norm(
        true.reshape(k, -1), axis=1
    )
    Ms = np.ones(three_n // 3) if Ms is None else Ms
    mean_diff = mean_m(diff.reshape(k, n_times, three_n), Ms)
    return relative, np.abs(mean_diff).max(axis=(1, 2))


def error_statistics(errors, name):
    """Mean, its standard error, median and max of per-field errors (a dict).

    Keys ``{name}_mean``, ``{name}_sem`` (how much another draw of as many fields
    would move the mean; 0 for one field), ``{name}_median`` and ``{name}_max``.
    """
    errors = np.asarray(errors, dtype=np.float64)
    k = len(errors)
    return {
        f"{name}_mean": float(errors.mean()),
        f"{name}_sem": float(errors.std(ddof=1) / np.sqrt(k)) if k > 1 else 0.0,
        f"{name}_median": float(np.median(errors)),
        f"{name}_max": float(errors.max()),
    }


@dataclasses.dataclass(repr=False)
class Evaluation(ReportDisplay):
    """A surrogate's errors on the simulated fields of a store, field by field.

    Attributes
    ----------
    fields : numpy.ndarray
        mu0 H (T), ``(k, 3)``.
    samples : numpy.ndarray
        The store's sample index of each field, ``(k,)``.
    relative_error : numpy.ndarray
        ||M_pred - M_true||_F / ||M_true||_F per field, ``(k,)``.
    mean_m_error : numpy.ndarray
        Max over time and components of |<m>_pred - <m>_true| per field, ``(k,)``.
    sensitivity : numpy.ndarray or None
        The model's field sensitivity per field (``evaluate(sensitivity=True)``).
    predict_s : float
        Wall time of the prediction of all ``k`` trajectories, decoding included
        (s).
    model : str
        The model's kind and fingerprint.
    store : str
        The store's path.
    times : numpy.ndarray
        Output times (s), ``(s+1,)``.
    domain : FieldDomain or None
        The model's training field domain (sets the coordinates of the error
        map).
    """

    fields: np.ndarray
    samples: np.ndarray
    relative_error: np.ndarray
    mean_m_error: np.ndarray
    sensitivity: np.ndarray | None
    predict_s: float
    model: str
    store: str
    times: np.ndarray
    domain: FieldDomain | None = None

    def summary(self, threshold=0.05):
        """Return the statistics over fields (a JSON-serialisable dict).

        With sensitivities, also the <m> error of the fields at or below
        ``threshold`` and of those above it (SP4: 0.05).
        """
        out = {
            "n_fields": len(self.fields),
            **error_statistics(self.mean_m_error, "mean_m_error"),
            **error_statistics(self.relative_error, "relative_error"),
            "predict_s": self.predict_s,
        }
        if self.sensitivity is not None:
            flagged = self.sensitivity > threshold
            out["sensitivity_threshold"] = threshold
            for name, part in (("unflagged", ~flagged), ("flagged", flagged)):
                errors = self.mean_m_error[part]
                out[f"{name}_fields"] = int(part.sum())
                out[f"{name}_mean_m_error_mean"] = (
                    float(errors.mean()) if len(errors) else None
                )
        return out

    def to_dataframe(self):
        """One row per field: B (mT), angle (deg), errors, sensitivity.

        ``B_mT`` is the whole |mu0 H| (all three components, so a Bz bias
        counts); ``angle_deg`` the in-plane angle as the training domain counts it.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        b = self.fields * 1e3
        columns = {
            "sample": self.samples,
            "Bx_mT": b[:, 0],
            "By_mT": b[:, 1],
            "Bz_mT": b[:, 2],
            "B_mT": np.linalg.norm(b, axis=1),
            "angle_deg": in_plane_angle(self.fields, self.domain),
            "mean_m_error": self.mean_m_error,
            "relative_error": self.relative_error,
        }
        if self.sensitivity is not None:
            columns["sensitivity"] = self.sensitivity
        return pd.DataFrame(columns)

    def text(self, worst=5, threshold=0.05):
        """Return a few lines: statistics over fields and the worst fields."""
        s = self.summary(threshold)
        lines = [
            f"{self.model} on {s['n_fields']} fields of {self.store} "
            f"({len(self.times) - 1} outputs over {self.times[-1]:.3g} s)",
            f"  max |<m>_pred - <m>_true|: mean {s['mean_m_error_mean']:.4f} "
            f"(sem {s['mean_m_error_sem']:.4f}), median "
            f"{s['mean_m_error_median']:.4f}, max {s['mean_m_error_max']:.4f}",
            f"  relative trajectory error: mean {s['relative_error_mean']:.4f}, "
            f"max {s['relative_error_max']:.4f}",
            f"  prediction of all {s['n_fields']} trajectories: "
            f"{s['predict_s'] * 1e3:.1f} ms",
        ]
        if self.sensitivity is not None:
            for name, words in (("unflagged", "<="), ("flagged", ">")):
                count, mean = s[f"{name}_fields"], s[f"{name}_mean_m_error_mean"]
                lines.append(
                    f"  {count} fields with sensitivity {words} {threshold}: <m> "
                    + (f"error mean {mean:.4f}" if count else "-")
                )
        table = self.to_dataframe().nlargest(
            min(worst, len(self.fields)), "mean_m_error"
        )
        lines.append(f"  worst {len(table)} fields:")
        for row in table.itertuples():
            extra = (
                f", sensitivity {row.sensitivity:.3f}"
                if self.sensitivity is not None
                else ""
            )
            lines.append(
                f"    ({row.Bx_mT:.2f}, {row.By_mT:.2f}, {row.Bz_mT:.2f}) mT, "
                f"{row.B_mT:.2f} mT at {row.angle_deg:.2f} deg: <m> error "
                f"{row.mean_m_error:.4f}, relative {row.relative_error:.4f}{extra}"
            )
        return "\n".join(lines)

    def __str__(self):
        return self.text()

    def _one_line(self):
        return (
            f"{self.model}, {len(self.fields)} fields of {self.store!r}: "
            f"<m> error mean {np.mean(self.mean_m_error):.4f}, max "
            f"{np.max(self.mean_m_error):.4f}"
        )

    def to_dict(self, threshold=0.05):
        """Return the summary and the per-field values (JSON-serialisable)."""
        return {
            "model": self.model,
            "store": self.store,
            "times_s": self.times.tolist(),
            "summary": self.summary(threshold),
            "fields_T": self.fields.tolist(),
            "samples": self.samples.tolist(),
            "mean_m_error": self.mean_m_error.tolist(),
            "relative_error": self.relative_error.tolist(),
            "sensitivity": None
            if self.sensitivity is None
            else self.sensitivity.tolist(),
            "field_domain": None if self.domain is None else self.domain.to_dict(),
        }

    def save(self, out, formats=("png",), threshold=0.05):
        """Write ``evaluation.json``, ``evaluation.csv`` and the error map to ``out``.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        from .figures import plot_field_errors
        from .report import write_report

        figures = {"field_errors": lambda e: plot_field_errors(e, threshold)}
        record = self.to_dict(threshold)
        written = write_report(out, "evaluation.json", record, figures, self, formats)
        written.insert(1, pathlib.Path(out, "evaluation.csv"))
        self.to_dataframe().to_csv(written[1], index=False)
        return written


def _check_store(model, store):
    """Refuse a store the model cannot be scored on; warn for another m(0)."""
    attrs = store.attrs
    check_same_system(
        model,
        attrs["mesh"],
        np.asarray(store.group["Ms"][:], dtype=np.float64),
        attrs.get("material", {}),
        what="The store",
    )
    times = np.asarray(store.times, dtype=np.float64)
    if len(times) < 2:
        raise ValueError("The store holds a single output time: nothing to score.")
    dt = float(times[1] - times[0])
    if not np.isclose(dt, model.dt_, rtol=1e-9, atol=0):
        raise ValueError(
            f"The store's output step is {dt:.6g} s; the model predicts steps of "
            f"{model.dt_:.6g} s."
        )
    return times


def _training_fields_among(model, fields):
    """Count the ``fields`` (T) equal to a training field of ``model`` (to 1e-12 T)."""
    from scipy.spatial import KDTree

    trained = KDTree(np.asarray(model.training_fields_, dtype=np.float64))
    distance, _ = trained.query(fields, p=np.inf)  # largest component difference
    return int(np.count_nonzero(distance <= 1e-12))


def evaluate(model, store, samples=None, sensitivity=False, verbose=1):
    """Score a surrogate against the simulated trajectories of a store.

    Parameters
    ----------
    model : SurrogateModel or str or pathlib.Path
        A fitted surrogate or the path of a saved one.
    store : TrajectoryStore or str or pathlib.Path
        Simulated trajectories with the model's mesh and output step (fields the
        model was not trained on, to measure how well it generalises).
    samples : array_like of int, optional
        Which of the store's samples to score (default: all complete ones).
    sensitivity : bool, optional
        Also compute the model's field sensitivity per field (``2 p`` more
        predictions per field for ``p`` field coordinates).
    verbose : int, optional
        1 (default): a progress bar over the fields; 0: silent.

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        For a store with another mesh or output step than the model's, or no
        complete sample.

    Warns
    -----
    ExtrapolationWarning
        For fields outside the training domain, more outputs than the trained
        horizon, or trajectories that start from another state than the model's
        (RMS over cells of |m - m0| above 0.05; predictions start from the
        model's m0).
    """
    model = as_fitted_model(model)
    store = as_store(store)
    times = _check_store(model, store)
    samples = store.check_samples(samples)  # refuses bad indices, before work
    if samples.size == 0 and len(store.complete):
        raise ValueError("samples is empty: give the indices of samples to score.")
    if len(samples) == 0:
        raise ValueError(f"{store} has no complete sample to score.")
    fields = np.asarray(store.fields[samples], dtype=np.float64)
    n_times = len(times)
    trained = _training_fields_among(model, fields)
    if trained:
        warnings.warn(
            f"{trained} of the {len(fields)} fields scored are fields the model was "
            "trained on: their errors are training errors, lower than on fields it "
            "has not seen (score a store of other fields to measure how well it "
            "generalises).",
            UserWarning,
            stacklevel=2,
        )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        prediction = model.predict(fields, n=n_times - 1)
        rollout_s = time.perf_counter() - start
        moved = (
            model.field_sensitivity(fields, n=n_times - 1, prediction=prediction)
            if sensitivity
            else None
        )
    reissue_warnings(caught, stacklevel=2)
    m0 = store.tensor(samples[:1], field_components=(), dtype=np.float64)[0, 0]
    offset = rms_difference(m0, model.m0_)  # over magnetic cells, as predict's
    if offset > INITIAL_STATE_TOLERANCE:
        warnings.warn(
            f"The store's trajectories start from another state than the model's "
            f"(RMS over cells of |m - m0| = {offset:.3f}, tolerance "
            f"{INITIAL_STATE_TOLERANCE:g}); the predictions start from the model's "
            "m0.",
            ExtrapolationWarning,
            stacklevel=2,
        )

    per_chunk = max(1, CHUNK_BYTES // (n_times * 3 * len(model.Ms_) * 4))
    relative = np.empty(len(samples))
    mean_m = np.empty(len(samples))
    decode_s = 0.0
    latent = prediction.latent
    with progress_bar(
        total=len(samples), desc="evaluate", unit="field", disable=not verbose
    ) as bar:
        for lo in range(0, len(samples), per_chunk):
            chunk = slice(lo, lo + per_chunk)
            start = time.perf_counter()
            k, _, d = latent[chunk].shape
            predicted = prediction.decoder(latent[chunk].reshape(-1, d))
            decode_s += time.perf_counter() - start
            true = store.tensor(samples[chunk], field_components=())
            relative[chunk], mean_m[chunk] = trajectory_errors(
                predicted.reshape(k, n_times, -1), true.transpose(1, 0, 2), model.Ms_
            )
            bar.update(k)
    return Evaluation(
        fields=fields,
        samples=np.asarray(samples),
        relative_error=relative,
        mean_m_error=mean_m,
        sensitivity=moved,
        predict_s=rollout_s + decode_s,
        model=f"{model.kind} model {model.model_id}",
        store=str(store.path),
        times=times,
        domain=model.field_domain_,
    )
