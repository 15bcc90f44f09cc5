"""``SurrogateDriver``: a drop-in Ubermag time driver that predicts instead of solving.

Where a notebook has ``oommfc.TimeDriver().drive(system, t=1e-9, n=100)``,
``SurrogateDriver(model=model).drive(system, t=1e-9, n=100)`` gives the same kind
of result in milliseconds: ``system.m`` becomes the predicted final state,
``system.table`` holds ``t, mx, my, mz`` as oommfc's does, and
``<dirname>/<system.name>/drive-N/`` holds ``info.json`` (with the model's
fingerprint), ``m0.omf``, an OOMMF-style table and one ``.omf`` file per output,
which ``micromagneticdata.Data(system.name)[-1]`` reads as it reads an OOMMF drive.
"""

import collections
import datetime
import hashlib
import json
import pathlib
import time
import warnings
import weakref

import micromagneticmodel as mm
import numpy as np
import xarray as xr

from .. import __version__
from .._progress import progress_bar
from ..data.domains import in_plane_angle
from ..data.layout import to_field, unit_vectors
from ..driver_options import (
    OOMMF_ONLY,
    DriveInterrupted,
    NoScheduling,
    check_drive_options,
    check_positive_int,
    check_verbose,
    interrupts_as_keyboard,
    write_oommf_script,
)
from ..models.base import (
    ExtrapolationWarning,
    Prediction,
    SensitivityWarning,
    as_fitted_model,
    check_fields,
    reissue_warnings,
)
from . import drive_folder
from .request import check_compatible, initial_state, read_request

SWEEP_CHUNK = 1000
"""Fields :meth:`SurrogateDriver.sweep` predicts at a time (SP4: about 50 MB of
latent trajectories and 4 s on 2 cores per chunk)."""


def _check_time(t, n):
    """Check a drive's t (s) and n; return them as a Python float and int.

    (numpy scalars, e.g. from ``np.arange``, are not JSON serialisable and drives
    record their arguments in JSON.)
    """
    if isinstance(t, bool) or not isinstance(t, int | float | np.floating):
        raise TypeError(f"t must be a time in seconds, not {t!r}.")
    if not (t > 0 and np.isfinite(t)):
        raise ValueError(f"Cannot drive with t={t!r}: it must be a positive time (s).")
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an integer number of outputs, not {n!r}.")
    if n < 1:
        raise ValueError(f"Cannot drive with n={n}: it must be positive.")
    return float(t), int(n)


def _update_m(system, field):
    """Set ``system.m`` to the values of ``field``, as oommfc does.

    Only the values change: the user's component labels, unit, subregions and
    valid mask of ``system.m`` are kept.
    """
    system.m.array = field.array


def _check_threshold(value, name):
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TypeError(f"{name} must be a number, not {value!r}.")
    if not (value >= 0 and np.isfinite(value)):
        raise ValueError(f"{name}={value!r} must be a finite number >= 0.")
    return float(value)


def _states_array(m, mesh, Ms=None):
    """Reshape flat states ``(k, 3N)`` to ``(k, nx, ny, nz, 3)``.

    With ``Ms``: M (A/m), normalised in float64 as ``layout.to_field`` does.
    """
    array = np.moveaxis(m.reshape(len(m), 3, *mesh.n), 1, -1)
    if Ms is not None:
        array = unit_vectors(array) * Ms.reshape(*mesh.n, 1)
    return array


_LAST_DRIVES = weakref.WeakKeyDictionary()
"""Per model object, an ordered dict of the drives a next drive may continue:
key (system name, hash of the m written, field); value (model_id, m written, m0 of
the first drive of the chain, latent history, end step). Gone with the model;
at most :data:`KEPT_DRIVES` per model, the oldest dropped first."""

KEPT_DRIVES = 256
"""Drives per model that a next drive can continue (the most recent ones; SP4:
about 130 kB each). An older drive's system starts afresh, with the
initial-state warning."""


class SurrogateDriver(NoScheduling, mm.ExternalDriver):
    """Time driver that predicts the dynamics with a trained surrogate.

    Parameters
    ----------
    model : SurrogateModel or str or pathlib.Path
        A fitted surrogate (any model implementing
        :class:`~ubermag_surrogate.models.SurrogateModel`) or the path of a saved one.
    initial_state_tolerance : float, optional
        Warn when the system's magnetisation differs from the state the model was
        trained from by more than this (RMS over cells of |m - m0|, default 0.05).
    sensitivity_threshold : float, optional
        Off by default (``None``). When set, each :meth:`drive` also computes the
        model's :meth:`~ubermag_surrogate.models.SurrogateModel.field_sensitivity`
        for the system's field (4 more predictions for an in-plane domain: about 0.1 s
        on 2 cores), records it in the drive's ``info.json`` (``field_sensitivity``)
        and warns with :class:`~ubermag_surrogate.models.SensitivityWarning` when
        it exceeds this threshold (unit magnetisation; 0.05 on SP4, where fields
        above it erred by 0.15 in <m> on average and those below by 0.04).

    Examples
    --------
    >>> import micromagneticmodel as mm
    >>> from ubermag_surrogate import SurrogateDriver
    >>> driver = SurrogateDriver(model="sp4_kernel.npz")  # doctest: +SKIP
    >>> system.energy += mm.Zeeman(H=(-28.2e3, -5.0e3, 0))  # doctest: +SKIP
    >>> driver.drive(system, t=1e-9, n=100)  # doctest: +SKIP
    """

    _allowed_attributes = ["model", "initial_state_tolerance", "sensitivity_threshold"]
    _initial_state_tolerance = 0.05
    _sensitivity_threshold = None
    _no_scheduling = "SurrogateDriver predicts in milliseconds; call drive() instead."

    def __init__(self, model=None, **kwargs):
        if model is None:
            raise TypeError(
                "SurrogateDriver needs a model: a fitted surrogate or the path of a "
                "saved one, e.g. SurrogateDriver(model='model.npz')."
            )
        super().__init__(model=model, **kwargs)
        self._pending = None

    @property
    def model(self):
        """The surrogate (a fitted :class:`SurrogateModel`)."""
        return self._model

    @model.setter
    def model(self, value):
        self._model = as_fitted_model(value)
        # the file the model came from (given as a path, or loaded or saved)
        self._source = getattr(self._model, "file_", None)

    @property
    def initial_state_tolerance(self):
        """RMS of |m - m0| over cells above which an initial state warns."""
        return self._initial_state_tolerance

    @initial_state_tolerance.setter
    def initial_state_tolerance(self, value):
        self._initial_state_tolerance = _check_threshold(
            value, "initial_state_tolerance"
        )

    @property
    def sensitivity_threshold(self):
        """Field sensitivity above which a drive warns (``None``: not computed)."""
        return self._sensitivity_threshold

    @sensitivity_threshold.setter
    def sensitivity_threshold(self, value):
        self._sensitivity_threshold = (
            None if value is None else _check_threshold(value, "sensitivity_threshold")
        )

    def __repr__(self):
        return (
            f"SurrogateDriver(model={type(self.model).__name__} "
            f"[{self.model.model_id}])"
        )

    @property
    def _x(self):
        return "t"

    # -- drive ------------------------------------------------------------------------
    def drive(
        self,
        system,
        /,
        dirname=".",
        append=True,
        runner=None,
        ovf_format="bin8",
        verbose=1,
        save=True,
        **kwargs,
    ):
        """Predict the dynamics of ``system`` under its constant Zeeman field.

        Follows ``micromagneticmodel.ExternalDriver.drive`` (as oommfc's
        ``TimeDriver``): outputs at ``t_i = i t / n``, i = 1..n.

        Parameters
        ----------
        system : micromagneticmodel.System
            Mesh, Ms, energy (besides Zeeman) and dynamics as the model's training
            system, a constant uniform Zeeman field and the initial ``m``.
        dirname : str or pathlib.Path, optional
            Base directory: results go to ``dirname/<system.name>/drive-<N>``.
        append : bool, optional
            Append drives to an existing system directory (default ``True``).
        runner : None
            Only ``None`` (accepted for oommfc compatibility).
        ovf_format : str, optional
            ``"bin8"`` (default), ``"bin4"`` or ``"txt"``.
        verbose : int, optional
            0: silent, 1 or 2: one line with the run time (default 1).
        save : bool, optional
            ``True`` (default): write the drive folder. ``False``: write nothing,
            update ``system.m`` and ``system.table`` and return the outputs.
        **kwargs
            ``t`` (s) and ``n`` (number of outputs); ``t / n`` must be a whole
            multiple of the model's time step. ``n_threads`` is accepted (so that
            calls written for oommfc run unchanged) and has no effect;
            ``fixed_subregions``, ``output_step`` and ``compute`` are refused.

        Returns
        -------
        None or xarray.DataArray
            With ``save=False``: M (A/m) of outputs 1..n, dims ``(t, x, y, z,
            vdims)``, as ``micromagneticdata``'s ``drive.to_xarray()``.

        Raises
        ------
        TypeError, ValueError
            For bad arguments or a system the model cannot answer; raised before
            any folder is created.

        Warns
        -----
        ExtrapolationWarning
            For a field outside the training domain, ``t`` beyond the trained
            horizon, or an initial state far from the trained one.
        """
        check_drive_options(
            runner,
            ovf_format,
            verbose,
            dirname,
            no_runner="A SurrogateDriver runs no external program",
        )
        self.drive_kwargs_setup(kwargs)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            request = read_request(system, self.model)
            after, origin = self._continuation(system, request.field)
            origin = request.m0 if after is None else origin
            prediction = self.model._rollout(
                *self.model._checked_request(
                    request.field,
                    request.m0 if after is None else None,
                    kwargs["t"],
                    kwargs["n"],
                    stacklevel=2,
                    m0_tolerance=self.initial_state_tolerance,
                    after=after,
                )
            )
            sensitivity = self._sensitivity(
                request.field, origin, prediction, kwargs, fresh=after is None
            )
        predict_s = time.perf_counter() - start
        reissue_warnings(caught, stacklevel=2)
        states = prediction.m[0, 1:]  # decoded once
        if not np.all(np.isfinite(states)):
            first = int(np.argmin(np.isfinite(states).all(axis=1)))
            raise RuntimeError(
                "The surrogate's prediction is NaN or infinite from output "
                f"{first + 1} (t = {prediction.times[first + 1]:.4g} s) on: nothing "
                "was written "
                f"and system.m is unchanged. The field {request.field} T may be far "
                "outside what the model learned; check it, or refit the model."
            )
        values = drive_folder.table_values(
            prediction.times,
            prediction.mean_m()[0],
            round((prediction.times[1] - prediction.times[0]) / self.model.dt_),
        )
        # time of the earlier drives this one continues (0: a fresh start)
        t_before = (0 if after is None else after.end_step) * self.model.dt_
        if not save:
            _update_m(system, to_field(states[-1], system.m.mesh, self.model.Ms_))
            system.table = drive_folder.table(values)
            self._remember(system, request.field, prediction, origin)
            if verbose:
                print(f"{self._label()} predicted in {predict_s * 1e3:.1f} ms.")
            darray = self._to_xarray(system, states, prediction.times[1:])
            if sensitivity is not None:
                darray.attrs["field_sensitivity"] = sensitivity
            darray.attrs["t_before"] = t_before
            return darray
        self._pending = {
            "request": request,
            "sensitivity": sensitivity,
            "values": values,
            "states": states,
            "predict_s": predict_s,
            "ovf_format": ovf_format,
            "t_before": t_before,
        }
        try:
            with interrupts_as_keyboard():
                super().drive(
                    system,
                    dirname=dirname,
                    append=append,
                    runner=runner,
                    ovf_format=ovf_format,
                    verbose=verbose,
                    **kwargs,
                )
        finally:
            self._pending = None
        self._remember(system, request.field, prediction, origin)
        return None

    def _drives(self):
        """Return the recent drives of this model (by any driver), oldest first."""
        return _LAST_DRIVES.setdefault(self.model, collections.OrderedDict())

    @staticmethod
    def _drive_key(system, field):
        m = np.ascontiguousarray(system.m.array)
        digest = hashlib.sha256(m.tobytes()).hexdigest()
        return (system.name, digest, tuple(np.asarray(field, dtype=float).tolist()))

    def _continuation(self, system, field):
        """Return the prediction a drive of ``system`` continues and its origin.

        ``(None, None)`` for a fresh start; the origin is the m0 of the first
        drive of the chain.

        A drive continues a recent drive of a system of the same name with this
        model (by any ``SurrogateDriver`` of the same model object, fitted the
        same way since) when the system is as that drive left it: ``system.m``
        exactly the state it wrote and the same field. The rollout then goes on
        with its latent history and time, so two drives of 0.5 ns predict what
        one drive of 1 ns predicts (otherwise the integrator would start with the
        mid-trajectory state repeated as its history, which it never saw in
        training). Systems of one name driven in turn each continue
        their own drives. Anything else starts afresh from ``system.m``.
        """
        key = self._drive_key(system, field)
        last = self._drives().get(key)
        if last is None:
            return None, None
        fitted, m, origin, history, end_step = last
        now = (self.model.model_id, getattr(self.model, "_fit_token", None))
        if fitted != now or not np.array_equal(m, system.m.array):
            return None, None  # refitted since, or a hash collision
        self._drives().move_to_end(key)
        prediction = Prediction(
            times=np.zeros(1),
            fields=field[None],
            latent=history[:, -1:],
            decoder=self.model.decode,
            Ms=self.model.Ms_,
            history=history,
            end_step=end_step,
        )
        return prediction, origin

    def _remember(self, system, field, prediction, origin):
        """Keep what the next drive of ``system`` needs to continue this one.

        Plain arrays only: a reference back to the model (its ``decode``) would
        keep the weak registry's key alive.
        """
        drives = self._drives()
        key = self._drive_key(system, field)
        drives[key] = (
            (self.model.model_id, getattr(self.model, "_fit_token", None)),
            system.m.array.copy(),
            origin,  # m0 of the first drive of the chain
            prediction.history,
            prediction.end_step,
        )
        drives.move_to_end(key)  # the most recent, whether new or not
        while len(drives) > KEPT_DRIVES:
            drives.popitem(last=False)

    def _sensitivity(self, field, origin, prediction, kwargs, fresh):
        """Return the model's field sensitivity for this drive; warn if large.

        ``None`` when no ``sensitivity_threshold`` is set. For a drive that
        continues earlier ones (not ``fresh``), over the whole trajectory from
        ``origin`` (the first drive's m0) to the end of this drive.
        """
        threshold = self.sensitivity_threshold
        if threshold is None:
            return None
        with warnings.catch_warnings():
            if fresh:
                args = {"t": kwargs["t"], "n": kwargs["n"], "prediction": prediction}
            else:  # the drive's own prediction has warned already
                warnings.simplefilter("ignore", ExtrapolationWarning)
                steps = prediction.end_step
                args = {"t": steps * self.model.dt_, "n": steps}
            sensitivity = float(
                self.model.field_sensitivity(field, m0=origin, **args)[0]
            )
        if sensitivity > threshold:
            b = field * 1e3
            warnings.warn(
                f"The predicted <m> changes by up to {sensitivity:.3f} when the field "
                f"({b[0]:.2f}, {b[1]:.2f}, {b[2]:.2f}) mT moves by 0.5 % of the "
                f"training domain's range (sensitivity_threshold={threshold:g}): here "
                "the dynamics change faster with the field than the training fields "
                "resolve, and the prediction may be far off. Check it against a full "
                "simulation (ubermag_surrogate.compare).",
                SensitivityWarning,
                stacklevel=2,
            )
        return sensitivity

    def _label(self):
        return f"ubermag-surrogate ({self.model.kind} model {self.model.model_id})"

    def _to_xarray(self, system, states, times):
        reference = system.m.to_xarray()
        array = _states_array(states, system.m.mesh, self.model.Ms_)
        coords = dict(reference.coords)
        coords["t"] = times
        darray = xr.DataArray(array, coords=coords, dims=["t", *reference.dims])
        darray["t"].attrs["units"] = "s"
        darray.name = reference.name
        return darray.assign_attrs(
            **reference.attrs, driver="SurrogateDriver", model=self.model.model_id
        )

    # -- ExternalDriver's steps ----------------------------------------------------
    def drive_kwargs_setup(self, drive_kwargs):
        """Check the drive arguments: ``t`` (s) and ``n`` are needed.

        ``n_threads`` (oommfc's thread count) is accepted and checked so that a
        call written for ``oommfc.TimeDriver`` runs unchanged, and has no effect:
        the prediction runs in this process, on numpy's threads. oommfc's options
        that change what is computed or written (``fixed_subregions``,
        ``output_step``, ``compute``) are accepted with their default (no-op)
        values and otherwise refused: a surrogate predicts what it was
        trained on.
        """
        missing = [k for k in ("t", "n") if k not in drive_kwargs]
        if missing:
            raise TypeError(
                f"SurrogateDriver.drive() needs {' and '.join(missing)}: the time t "
                "(s) and the number of outputs n."
            )
        # with their default (no-op) values accepted, as by the embedded drivers
        untrained = sorted(
            key
            for key, default in OOMMF_ONLY.items()
            if drive_kwargs.pop(key, default) != default
        )
        if untrained:
            raise TypeError(
                f"SurrogateDriver.drive() cannot take {untrained}: oommfc options "
                "that change what is computed or written; a surrogate predicts only "
                "the trained dynamics at the requested outputs. Drive the system "
                "with oommfc for them."
            )
        unknown = sorted(set(drive_kwargs) - {"t", "n", "n_threads"})
        if unknown:
            raise TypeError(
                f"SurrogateDriver.drive() got unexpected argument(s) {unknown}; it "
                "accepts t, n (and n_threads, which has no effect)."
            )
        if drive_kwargs.get("n_threads") is not None:  # a Python int: info.json
            drive_kwargs["n_threads"] = check_positive_int(
                "n_threads", drive_kwargs["n_threads"]
            )
        drive_kwargs["t"], drive_kwargs["n"] = _check_time(
            drive_kwargs["t"], drive_kwargs["n"]
        )

    def _check_system(self, system):
        """Nothing left to check: drive() read and checked the request already."""

    def _write_input_files(self, system, ovf_format="bin8", **kwargs):
        # the full simulation this drive stands for, from system.m (the whole
        # state: the LLG equation is first order in time, also for a continuation)
        write_oommf_script(
            system, "TimeDriver", ovf_format, t=kwargs["t"], n=kwargs["n"]
        )
        system.m.to_file("m0.omf", representation=ovf_format)
        request = self._pending["request"]
        record = {
            "field_T": request.field.tolist(),
            "H_A_per_m": (request.field / mm.consts.mu0).tolist(),
            "t": kwargs["t"],
            "n": kwargs["n"],
            # time of the earlier drives this one continues (0: a fresh start)
            "t_before": self._pending["t_before"],
            "model": self._model_info(),
        }
        pathlib.Path(f"{system.name}-request.json").write_text(
            json.dumps(record, indent=2), encoding="utf-8"
        )

    def _model_info(self):
        return {
            "kind": self.model.kind,
            "id": self.model.model_id,
            "training_data": self.model.fingerprint_,
            "file": self._source,
            "trained_dt": self.model.dt_,
            "trained_steps": self.model.n_steps_,
            "field_domain": self.model.field_domain_.to_dict()
            if self.model.field_domain_
            else None,
        }

    def _write_info_json(self, system, start_time, **kwargs):
        # micromagneticdata takes the independent variable from "driver": a
        # surrogate drive is a time drive, so it says "TimeDriver" and names itself
        # in "surrogate_driver".
        super()._write_info_json(
            system,
            start_time,
            **kwargs,
            driver="TimeDriver",
            surrogate_driver=type(self).__name__,
            calculator="ubermag-surrogate",
            calculator_version=__version__,
            model_kind=self.model.kind,
            model_id=self.model.model_id,
            training_data=self.model.fingerprint_,
            # no nulls: info.json goes into to_xarray()'s attributes, and netCDF
            # cannot store None
            **{
                key: value
                for key, value in (
                    ("model_file", self._source),
                    ("field_sensitivity", self._pending["sensitivity"]),
                )
                if value is not None
            },
        )

    def _call(self, system, runner=None, verbose=1, **kwargs):
        pending = self._pending
        start = time.perf_counter()
        if verbose >= 1:
            now = datetime.datetime.now().strftime("%Y/%m/%d %H:%M")
            print(f"Running {self._label()}[{now}]... ", end="", flush=True)
        mesh = system.m.mesh
        fields = (to_field(m, mesh, self.model.Ms_) for m in pending["states"])
        iterations = pending["values"][:, 0]
        # after a Ctrl-C: the outputs written so far make a shorter, whole drive
        written = drive_folder.write_outputs(
            system.name, fields, pending["values"], pending["ovf_format"]
        )
        if written < len(iterations):
            raise DriveInterrupted(
                f"Drive of {system.name!r} interrupted after {written} of "
                f"{len(iterations)} outputs were written; they are in "
                f"{pathlib.Path().absolute()}."
            )
        if verbose >= 1:
            total = pending["predict_s"] + time.perf_counter() - start
            print(f"({total:.2f} s)")

    def _read_data(self, system):
        import ubermagtable as ut

        _update_m(
            system,
            to_field(self._pending["states"][-1], system.m.mesh, self.model.Ms_),
        )
        system.table = ut.Table.fromfile(f"{system.name}.odt", x="t")

    # -- many fields at once ---------------------------------------------------------
    def sweep(
        self,
        system,
        *,
        H=None,
        B=None,
        t,
        n,
        states=False,
        sensitivity=False,
        verbose=1,
    ):
        """Predict the response of ``system`` to many constant fields at once.

        The system's own Zeeman term (if any) is ignored; ``system`` is not changed.

        Parameters
        ----------
        system : micromagneticmodel.System
            Mesh, material and initial ``m``, as for :meth:`drive`.
        H : array_like, optional
            External fields H (A/m), ``(k, 3)``.
        B : array_like, optional
            Or flux densities mu0 H (T), ``(k, 3)``; give ``H`` or ``B``.
        t : float
            Time (s).
        n : int
            Number of outputs.
        states : bool, optional
            Also return the unit magnetisation of every output (float32; 300 fields
            x 101 outputs x 7500 values is 0.9 GB).
        sensitivity : bool, optional
            Also return each field's ``sensitivity``: how much the predicted <m>
            changes when the field moves by 0.5 % of the training domain's range
            (:meth:`SurrogateModel.field_sensitivity`, 4 more predictions per
            field for an in-plane domain). Large values (SP4: above about 0.05)
            mark fields where the prediction is not to be trusted.
        verbose : int, optional
            1 (default): a progress bar when there is more than one chunk of
            :data:`SWEEP_CHUNK` fields (fields are predicted a chunk at a time, so
            memory stays bounded); 0: silent.

        Returns
        -------
        xarray.Dataset
            ``mx, my, mz`` (mean unit magnetisation) over ``(field, t)`` with t = 0
            included; coordinates ``Bx, By, Bz`` (T), ``B`` (|mu0 H|, T) and
            ``angle`` (in-plane, deg) along ``field``; with ``states=True`` also
            ``m`` over ``(field, t, x, y, z, vdims)``, with ``sensitivity=True``
            ``sensitivity`` along ``field``.
        """
        if (H is None) == (B is None):
            given = "both were given" if H is not None else "neither was given"
            raise TypeError(f"Give the fields as H (A/m) or as B = mu0 H (T): {given}.")
        if H is not None:
            fields = check_fields(H, "H", unit="A/m") * mm.consts.mu0
        else:
            fields = check_fields(B, "B")
        t, n = _check_time(t, n)
        check_verbose(verbose)
        chunks = [
            slice(start, start + SWEEP_CHUNK)
            for start in range(0, len(fields), SWEEP_CHUNK)
        ]
        check_compatible(system, self.model)  # a System with m, of the model's
        mesh = system.m.mesh
        moved = np.empty(len(fields)) if sensitivity else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # checked (and warned about) once for all fields, predicted by chunks
            request = self.model._checked_request(
                fields,
                initial_state(system),
                t,
                n,
                stacklevel=2,
                m0_tolerance=self.initial_state_tolerance,
            )
            _, m0, n_outputs, stride, _, t = request
            # filled chunk by chunk: the states are held once, in float32
            mean = np.empty((len(fields), n_outputs + 1, 3))
            if states:
                array = np.empty(
                    (len(fields), n_outputs + 1, *mesh.n, 3), dtype=np.float32
                )
            with progress_bar(
                total=len(fields),
                desc="sweep",
                unit="field",
                disable=not verbose or len(chunks) == 1,
            ) as bar:
                for chunk in chunks:
                    prediction = self.model._rollout(
                        fields[chunk], m0, n_outputs, stride, t=t
                    )
                    if states:  # decoded once: mean_m() below reuses them
                        m = prediction.m
                        k, n_times, _ = m.shape
                        array[chunk] = _states_array(
                            m.reshape(k * n_times, -1), mesh
                        ).reshape(k, n_times, *mesh.n, 3)
                    mean[chunk] = prediction.mean_m()
                    if sensitivity:
                        moved[chunk] = self.model.field_sensitivity(
                            fields[chunk], m0=m0, t=t, n=n, prediction=prediction
                        )
                    bar.update(len(fields[chunk]))
        reissue_warnings(caught, stacklevel=2)
        dims = ("field", "t")
        data = {c: (dims, mean[..., i]) for i, c in enumerate(("mx", "my", "mz"))}
        if sensitivity:
            data["sensitivity"] = ("field", moved)
        coords = {
            "t": ("t", prediction.times, {"units": "s"}),
            "Bx": ("field", fields[:, 0], {"units": "T"}),
            "By": ("field", fields[:, 1], {"units": "T"}),
            "Bz": ("field", fields[:, 2], {"units": "T"}),
            "B": ("field", np.linalg.norm(fields, axis=1), {"units": "T"}),
            "angle": (  # as the training domain counts them (as evaluate)
                "field",
                in_plane_angle(fields, self.model.training_domain()),
                {"units": "deg"},
            ),
        }
        if states:
            reference = system.m.to_xarray()
            for dim in reference.dims:
                coord = reference.coords[dim]
                coords[dim] = (dim, coord.values, coord.attrs)  # units kept
            data["m"] = ((*dims, *reference.dims), array)
        return xr.Dataset(
            data,
            coords=coords,
            attrs={
                "model": self.model.model_id,
                "model_kind": self.model.kind,
                "training_data": self.model.fingerprint_,
            },
        )
