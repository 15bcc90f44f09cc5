"""The training-data store: trajectories of many field cases in one Zarr store.

Layout (Zarr v3, readable with ``xarray.open_zarr(path, consolidated=False)`` or
plain ``zarr``, no need for this package):

=========  ==================================  =====================================
array      dimensions                          content
=========  ==================================  =====================================
``m``      (sample, time, component, cell)     unit magnetisation, float32; one chunk
                                               per sample (a whole trajectory)
``field``  (sample, vector)                    mu0 H (T) of each sample, float64
``status`` (sample,)                           0 pending, 1 complete, -1 failed; one
                                               chunk (file) per sample
``time``   (time,)                             output times (s), t_0 = 0 included
``Ms``     (cell,)                             saturation magnetisation (A/m)
=========  ==================================  =====================================

Coordinate arrays ``sample`` and ``cell`` (indices) and ``component`` ("x", "y",
"z") label the dimensions for xarray.

Cells are numbered in ``discretisedfield``'s array order (C order over x, y, z). A
sample's ``m`` chunk is written first and its ``status`` chunk after it; both writes
are atomic file replacements, so a reader that takes only ``status == 1`` never sees
a partially written sample. Attributes hold the mesh, material, driver (t, n),
calculator, field domain, sampling and failures.

:meth:`TrajectoryStore.tensor` gives the seed paper's data tensor
``D`` of shape ``(s+1, n, 3N+2)`` with rows ``[h(t_i) | m_x | m_y | m_z]``.
"""

import contextlib
import datetime
import json
import numbers
import os
import pathlib
import shutil
import time

import discretisedfield as df
import filelock
import numpy as np
import zarr

from ..material import same_material
from .domains import FieldDomain
from .layout import mean_m, to_field

FORMAT = "ubermag-surrogate-trajectories/1"
PENDING, COMPLETE, FAILED = 0, 1, -1
FIELD_DECIMALS = 12
"""Fields equal when rounded to this many decimals (1e-12 T) are one sample."""


def field_key(field):
    """Return the key under which a field mu0 H (T), ``(3,)``, is one sample."""
    return tuple(np.round(np.asarray(field, dtype=float), FIELD_DECIMALS).tolist())


MODES = ("r", "r+")
ARRAYS = ("m", "field", "status", "time", "Ms", "sample")
"""The arrays every store has (the readers need them all)."""

# Metadata that must agree when samples are appended to an existing store.
_MUST_MATCH = ("problem", "mesh", "material", "driver")


class StoreMismatchError(ValueError):
    """Appending to a store whose mesh, material or driver settings differ."""


class StoreBusyError(RuntimeError):
    """Another process is writing to the store."""


@contextlib.contextmanager
def writing(path):
    """Hold a store's write lock while simulations are added to it.

    One writer per store: two ``generate`` runs appending at once took the same
    sample indices, and one run's samples were lost. The lock is an operating-system
    file lock (:mod:`filelock`) on ``.<name>.lock`` beside the store, released when
    the process ends, however it ends. Where that file cannot be made (a read-only
    folder) nothing can be written either, and no lock is taken.

    Raises
    ------
    StoreBusyError
        Another process holds the lock.
    """
    path = pathlib.Path(path)
    lock = filelock.FileLock(path.parent / f".{path.name}.lock")
    locked = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
        locked = True
    except filelock.Timeout:
        raise StoreBusyError(
            f"Another process is writing to {str(path)!r} (a generate run): wait for "
            "it to end, or write to another store. Two runs appending to one store "
            "at once would take the same samples."
        ) from None
    except OSError:  # a read-only folder: the store cannot be changed either
        pass
    try:
        yield
    finally:
        if locked:
            lock.release()


class TrajectoryStore:
    """A Zarr store of trajectories, one sample per external field.

    Open an existing store with ``TrajectoryStore(path)``; create one with
    :meth:`create` or :meth:`open_or_create`.

    Parameters
    ----------
    path : str or pathlib.Path
        Directory of the Zarr store.
    mode : str, optional
        ``"r"`` (default) or ``"r+"`` (read and append). Zarr's other modes
        (``"w"``, ``"a"``, ...) would create or overwrite a group and are refused:
        :meth:`create` makes a new store.
    """

    def __init__(self, path, mode="r"):
        if mode not in MODES:
            raise ValueError(
                f"mode={mode!r}: a trajectory store opens with mode 'r' (read) or "
                "'r+' (read and append); create a new one with "
                "TrajectoryStore.create(...) or generate(...)."
            )
        self.path = pathlib.Path(path)
        if not (self.path / "zarr.json").is_file():
            if self.path.exists():
                what = "folder" if self.path.is_dir() else "file"
                raise FileExistsError(
                    f"{str(self.path)!r} is a {what} but not a trajectory store (no "
                    "zarr.json)."
                )
            raise FileNotFoundError(f"No trajectory store at {str(self.path)!r}.")
        try:
            self.group = zarr.open_group(str(self.path), mode=mode)
        except zarr.errors.BaseZarrError as error:  # e.g. a Zarr array there
            raise ValueError(
                f"{str(self.path)!r} is not a trajectory store ({error})."
            ) from None
        if self.group.attrs.get("format") != FORMAT:
            raise ValueError(
                f"{str(self.path)!r} is not a trajectory store ({FORMAT})."
            )
        missing = [name for name in ARRAYS if name not in self.group]
        if missing:
            raise ValueError(
                f"The trajectory store {str(self.path)!r} is damaged: it has no "
                f"{', '.join(missing)} array(s)."
            )

    # -- creation -------------------------------------------------------------------
    @classmethod
    def create(cls, path, *, times, Ms, metadata):
        """Create an empty store.

        Parameters
        ----------
        path : str or pathlib.Path
            Directory to create (must not exist).
        times : array_like
            Output times (s), including t = 0.
        Ms : numpy.ndarray
            Saturation magnetisation (A/m), array of the mesh's shape.
        metadata : dict
            JSON-serialisable: ``problem``, ``mesh``, ``material``, ``driver`` and
            optional ``calculator``, ``field_domain``, ``sampling``.
        """
        path = pathlib.Path(path)
        if path.exists():
            raise FileExistsError(f"{str(path)!r} exists already.")
        # Built beside its place and renamed into it: a reader (or a rerun after an
        # interrupted creation) sees a complete store or none.
        partial = path.with_name(f".{path.name}.creating-{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(partial, ignore_errors=True)
            group = zarr.open_group(str(partial), mode="w-")
        except OSError as exc:
            raise OSError(f"Cannot create a store at {str(path)!r}: {exc}") from exc
        try:
            cls._fill_new(group, times, Ms, metadata)
            os.rename(partial, path)
        except OSError as exc:
            raise OSError(f"Cannot create a store at {str(path)!r}: {exc}") from exc
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return cls(path, mode="r+")

    @staticmethod
    def _fill_new(group, times, Ms, metadata):
        """Write the arrays and attributes of a new store into ``group``."""
        times = np.asarray(times, dtype=np.float64)
        Ms = np.asarray(Ms, dtype=np.float64).reshape(-1)
        n_times, n_cells = len(times), Ms.size
        group.create_array(
            "m",
            shape=(0, n_times, 3, n_cells),
            chunks=(1, n_times, 3, n_cells),
            dtype="float32",
            dimension_names=["sample", "time", "component", "cell"],
            fill_value=np.nan,
        )
        group.create_array(
            "field",
            shape=(0, 3),
            chunks=(4096, 3),
            dtype="float64",
            dimension_names=["sample", "vector"],
            fill_value=np.nan,
        )
        group.create_array(
            "status",
            shape=(0,),
            chunks=(1,),
            dtype="int8",
            dimension_names=["sample"],
            fill_value=PENDING,
        )
        time = group.create_array(
            "time", shape=(n_times,), dtype="float64", dimension_names=["time"]
        )
        time[:] = times
        ms = group.create_array(
            "Ms", shape=(n_cells,), dtype="float64", dimension_names=["cell"]
        )
        ms[:] = Ms
        group.create_array(
            "sample",
            shape=(0,),
            chunks=(4096,),
            dtype="int64",
            dimension_names=["sample"],
            fill_value=-1,
        )
        component = group.create_array(
            "component", shape=(3,), dtype=str, dimension_names=["component"]
        )
        component[:] = np.array(["x", "y", "z"])
        cell = group.create_array(
            "cell", shape=(n_cells,), dtype="int64", dimension_names=["cell"]
        )
        cell[:] = np.arange(n_cells)
        from .. import __version__

        group.attrs.update(
            {
                "format": FORMAT,
                "created": datetime.datetime.now().isoformat(timespec="seconds"),
                "ubermag_surrogate_version": __version__,
                "units": {"m": "1", "field": "T (mu0 H)", "time": "s", "Ms": "A/m"},
                "tensor_layout": "D[i, j] = [h_x, h_y (T) | m_x | m_y | m_z (N each)]",
                "errors": {},
                **json.loads(json.dumps(metadata)),
            }
        )

    @classmethod
    def open_or_create(cls, path, *, times, Ms, metadata):
        """Open ``path`` for appending, or create it; refuse mismatched metadata.

        Raises
        ------
        StoreMismatchError
            If an existing store has another problem, mesh, material or driver
            (t, n) than ``metadata``, or another Ms per cell (another geometry on
            the same mesh).
        """
        path = pathlib.Path(path)
        if not path.exists():
            return cls.create(path, times=times, Ms=Ms, metadata=metadata)
        store = cls(path, mode="r+")
        wanted = json.loads(json.dumps(metadata))
        for key in _MUST_MATCH:
            have = store.attrs.get(key)
            same = (
                same_material(have, wanted.get(key))
                if key == "material"
                else have == wanted.get(key)
            )
            if not same:
                raise StoreMismatchError(
                    f"Cannot append to {str(path)!r}: its {key} is {have!r}, this run "
                    f"has {wanted.get(key)!r}. Write to a new store instead."
                )
        Ms = np.asarray(Ms, dtype=np.float64).reshape(-1)
        stored = store.group["Ms"][:]
        changed = (
            Ms.size
            if stored.shape != Ms.shape
            else int(np.count_nonzero(~np.isclose(stored, Ms, rtol=1e-9, atol=0)))
        )
        if changed:
            raise StoreMismatchError(
                f"Cannot append to {str(path)!r}: Ms differs in {changed} of "
                f"{Ms.size} cells (another geometry on the same mesh). Write to a new "
                "store instead."
            )
        return store

    def check_field_domain(self, fields, domain=None):
        """Refuse to leave the store with a field domain that misses its fields.

        The recorded ``field_domain`` is what a model trained on the store warns
        outside of (``ExtrapolationWarning``), so it must contain every field of
        the store, those about to be added included.

        Parameters
        ----------
        fields : numpy.ndarray
            Fields about to be added, mu0 H (T), ``(k, 3)``.
        domain : FieldDomain, optional
            The domain about to be recorded (default: keep the recorded one).

        Raises
        ------
        StoreMismatchError
            If a stored or new field lies outside the domain the store would record.
        """
        recorded = self.attrs.get("field_domain")
        if domain is None and not recorded:
            return
        what = "the domain to record" if domain else "the store's recorded domain"
        domain = domain or FieldDomain.from_dict(recorded)
        everything = np.vstack([self.fields, np.asarray(fields, dtype=np.float64)])
        outside = domain.outside_text(everything, what=what)[1]
        if outside:
            raise StoreMismatchError(
                f"Cannot add these fields to {str(self.path)!r}: of its fields and the "
                f"new ones, {outside[0].lower()}{outside[1:]} A store's recorded field "
                "domain must contain all its fields (a model trained on it warns "
                "outside it): pass a domain that does, or write to another store."
            )

    def check_initial_state(self, m0, tolerance=1e-3):
        """Refuse to add trajectories that start from another state than the stored.

        Parameters
        ----------
        m0 : numpy.ndarray
            The new trajectories' initial unit magnetisation, ``(3, N)``.
        tolerance : float, optional
            Largest accepted RMS over cells of |m - m0| (default 1e-3: the
            s-states of SP4 relaxed by OOMMF and by the embedded calculator differ
            by 2e-6; another starting direction or geometry by order 1).

        Raises
        ------
        StoreMismatchError
            If the store's complete samples start from another state (e.g. another
            initial magnetisation in the system factory, relaxed to another state).
        """
        complete = self.complete
        if not len(complete):
            return
        stored = np.asarray(self.group["m"][int(complete[0]), 0], dtype=np.float64)
        m0 = np.asarray(m0, dtype=np.float64).reshape(stored.shape)
        rms = np.sqrt(np.mean(np.sum((stored - m0) ** 2, axis=0)))
        if rms > tolerance:
            raise StoreMismatchError(
                f"Cannot append to {str(self.path)!r}: its trajectories start from "
                f"another state (RMS over cells of |m - m0| = {rms:.3g}); has the "
                "system factory's initial magnetisation changed? Write to a new store "
                "instead."
            )

    # -- properties -----------------------------------------------------------------
    @property
    def attrs(self):
        """Store attributes (metadata), a dict (a copy: changing it changes nothing)."""
        return json.loads(json.dumps(dict(self.group.attrs)))

    @property
    def n_samples(self):
        """Number of samples, complete or not."""
        return self.group["m"].shape[0]

    @property
    def times(self):
        """Output times (s), shape ``(s+1,)``."""
        return self.group["time"][:]

    @property
    def fields(self):
        """mu0 H (T) of every sample, shape ``(n_samples, 3)``."""
        return self.group["field"][:]

    @property
    def status(self):
        """Per-sample status: 0 pending, 1 complete, -1 failed."""
        return self.group["status"][:]

    @property
    def complete(self):
        """Indices of complete samples."""
        return np.flatnonzero(self.status == COMPLETE)

    @property
    def errors(self):
        """Error messages of failed samples, by sample index."""
        return {int(k): v for k, v in self.group.attrs.get("errors", {}).items()}

    @property
    def mesh(self):
        """The ``discretisedfield.Mesh`` of the trajectories."""
        mesh = self.group.attrs["mesh"]
        return df.Mesh(p1=mesh["pmin"], p2=mesh["pmax"], n=mesh["n"])

    def __repr__(self):
        return (
            f"TrajectoryStore({str(self.path)!r}, samples={self.n_samples}, "
            f"complete={len(self.complete)}, times={len(self.times)})"
        )

    # -- writing --------------------------------------------------------------------
    def add_samples(self, fields):
        """Append pending samples for fields mu0 H (T); return their indices."""
        fields = np.atleast_2d(np.asarray(fields, dtype=np.float64))
        start = self.n_samples
        stop = start + len(fields)
        for name in ("m", "field", "status", "sample"):
            array = self.group[name]
            array.resize((stop, *array.shape[1:]))
        self.group["field"][start:stop] = fields
        self.group["sample"][start:stop] = np.arange(start, stop)
        return np.arange(start, stop)

    def write_sample(self, index, m):
        """Store the trajectory of sample ``index`` and mark it complete.

        Parameters
        ----------
        index : int
            Sample index.
        m : numpy.ndarray
            Unit magnetisation, shape ``(s+1, 3, N)``.
        """
        array = self.group["m"]
        m = np.asarray(m, dtype=np.float32)
        if m.shape != array.shape[1:]:
            raise ValueError(
                f"Sample has shape {m.shape}, the store {array.shape[1:]}."
            )
        array[index] = m  # one chunk, written atomically
        self.group["status"][index] = COMPLETE  # only after the data are in place
        errors = self.group.attrs.get("errors", {})
        if str(index) in errors:
            errors = dict(errors)
            del errors[str(index)]
            self.group.attrs["errors"] = errors

    def mark_failed(self, index, message):
        """Record that sample ``index`` failed, with its error message."""
        self.group["status"][index] = FAILED
        errors = dict(self.group.attrs.get("errors", {}))
        errors[str(index)] = str(message)[-2000:]
        self.group.attrs["errors"] = errors

    def update_attrs(self, **attrs):
        """Set JSON-serialisable attributes (e.g. calculator, sampling).

        Attributes that already hold these values are not written again (a store
        that is complete can be read-only).
        """
        attrs = json.loads(json.dumps(attrs))
        changed = {k: v for k, v in attrs.items() if self.group.attrs.get(k) != v}
        if changed:
            self.group.attrs.update(changed)

    # -- reading --------------------------------------------------------------------
    def trajectory(self, index):
        """Return the unit magnetisation of one sample, ``(s+1, 3, N)`` float32."""
        index = int(self.check_samples([index])[0])
        return self._read(index)

    def _read(self, index):
        """Return the states of a complete sample; refuse damaged (non-finite) ones.

        A chunk lost from disk reads as the fill value (NaN).
        """
        m = self.group["m"][index]
        if not np.all(np.isfinite(m)):
            raise ValueError(
                f"Sample {index} of {str(self.path)!r} is marked complete but its "
                "states are not all finite (a chunk lost or damaged on disk). To "
                "simulate it again: open the store with mode='r+', call "
                f"mark_failed({index}, 'damaged') and rerun generate(...) with its "
                "field."
            )
        return m

    def samples_of(self, fields):
        """Return the indices of the complete samples of ``fields`` (mu0 H, T).

        In the order of ``fields`` (a field given twice, once); e.g. to fit on the
        fields of one ``generate`` call in a store that holds more.

        Raises
        ------
        ValueError
            If a field has no complete sample in the store.
        """
        fields = np.atleast_2d(np.asarray(fields, dtype=float))
        index = {}
        status = self.status
        for i, f in enumerate(self.fields):
            if status[i] == COMPLETE:
                index.setdefault(field_key(f), i)
        found = [index.get(field_key(f)) for f in fields]
        missing = [j for j, i in enumerate(found) if i is None]
        if missing:
            raise ValueError(
                f"{len(missing)} of the {len(fields)} fields have no complete sample "
                f"in {str(self.path)!r} (the first: {fields[missing[0]].tolist()} T)."
            )
        return np.array(list(dict.fromkeys(found)), dtype=np.int64)

    def check_samples(self, samples):
        """Return sample indices as an int array, all of complete samples.

        Parameters
        ----------
        samples : array_like of int or bool, or None
            Indices, or a boolean mask over all samples; ``None``: all complete
            samples, in order.

        Raises
        ------
        TypeError
            For anything but integer indices or a boolean mask.
        IndexError, ValueError
            For indices not in the store, or of samples not complete.
        """
        status = self.status
        if samples is None:
            return self.complete
        given = np.asarray(samples)
        if given.dtype == bool:
            if given.shape != status.shape:
                raise ValueError(
                    f"A boolean mask of samples must have one entry per sample "
                    f"({len(status)}), not shape {given.shape}."
                )
            given = np.flatnonzero(given)
        if given.ndim != 1 or not (given.size == 0 or given.dtype.kind in "iu"):
            raise TypeError(
                "samples must be a sequence of integer sample indices or a boolean "
                f"mask, not {samples!r}."
            )
        samples = given.astype(np.int64)
        outside = samples[(samples < 0) | (samples >= len(status))]
        if outside.size:
            raise IndexError(
                f"Samples {outside[:10].tolist()} are not in the store "
                f"({len(status)} samples)."
            )
        bad = [int(i) for i in samples if status[i] != COMPLETE]
        if bad:
            raise ValueError(f"Samples {bad[:10]} are not complete.")
        return samples

    def tensor(self, samples=None, field_components=(0, 1), dtype=np.float32):
        """Return the data tensor D, shape ``(s+1, n, 3N + len(field_components))``.

        Rows are ``[h(t_i) | m_x | m_y | m_z]`` with h = mu0 H (T) (constant in
        time). Samples are read one chunk at a time into the preallocated result,
        so memory holds the result and a single trajectory.

        Parameters
        ----------
        samples : array_like of int, optional
            Sample indices (default: all complete samples, in order).
        field_components : tuple of int, optional
            Which components of mu0 H form h (default in-plane x, y, as the paper;
            one int for one component, ``()`` for none).
        dtype : numpy dtype, optional
            ``float32`` (default, as stored) or ``float64``.
        """
        samples = self.check_samples(samples)
        n_times, _, n_cells = self.group["m"].shape[1:]
        if isinstance(field_components, numbers.Integral):  # one component
            field_components = (field_components,)
        field_components = list(field_components)
        if not all(c in (0, 1, 2) for c in field_components):
            raise ValueError(
                f"field_components={field_components!r}: components of mu0 H are "
                "0 (x), 1 (y) and 2 (z)."
            )
        k = len(field_components)
        out = np.empty((n_times, len(samples), k + 3 * n_cells), dtype=dtype)
        fields = self.fields
        for j, index in enumerate(samples):
            out[:, j, :k] = fields[index, field_components]
            out[:, j, k:] = self._read(index).reshape(n_times, 3 * n_cells)
        return out

    def mean_m(self, samples=None):
        """Return the mean magnetisation <m>(t) of samples, ``(k, s+1, 3)`` float64.

        Weighted by Ms, sum Ms m / sum Ms, as OOMMF's tables and
        :meth:`Prediction.mean_m <ubermag_surrogate.models.Prediction.mean_m>`
        (for a uniform Ms the mean over the magnetic cells). Samples are read one
        at a time, so memory holds the result and a single trajectory.

        Parameters
        ----------
        samples : array_like of int, optional
            Sample indices (default: all complete samples, in order).
        """
        samples = self.check_samples(samples)
        Ms = self.group["Ms"][:]
        n_times = self.group["m"].shape[1]
        out = np.empty((len(samples), n_times, 3))
        for j, index in enumerate(samples):
            out[j] = mean_m(self._read(index).reshape(n_times, -1), Ms)
        return out

    def to_xarray(self):
        """Lazy ``xarray.Dataset`` (dask-backed) of the whole store.

        While :func:`~.generate.generate` appends fields, the arrays grow one after
        another for a few milliseconds; an open that falls in between is retried.
        """
        import xarray as xr

        for attempt in range(20):
            try:
                return xr.open_zarr(str(self.path), consolidated=False)
            except ValueError as exc:
                if "conflicting sizes" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.05)

    def field(self, sample, time_index):
        """Magnetisation M (A/m) of one snapshot as a ``discretisedfield.Field``.

        ``time_index``: which output, 0 (t = 0) to s (the index into ``times``,
        not a time in seconds; negative indices count from the end).
        """
        n_times = len(self.times)
        if (
            isinstance(time_index, bool)
            or not isinstance(time_index, numbers.Integral)
            or not -n_times <= time_index < n_times
        ):
            raise IndexError(
                f"time_index={time_index!r} must be an integer output index in "
                f"[0, {n_times - 1}] (an index into times, not a time in s)."
            )
        return to_field(
            self.trajectory(sample)[time_index], self.mesh, self.group["Ms"][:]
        )
