"""The interface every surrogate implements, and its single-file format.

A surrogate knows what it was trained on (mesh, Ms, time step, horizon, field
domain, initial state, training-data fingerprint) and offers ``fit``, ``predict``,
``save`` and ``load``. The Ubermag driver uses nothing else, so kernel and neural
surrogates are interchangeable.

Files are ``.npz`` archives of plain arrays plus one JSON string (``__metadata__``),
read with ``allow_pickle=False``: loading never executes code from the file
(:mod:`ubermag_surrogate.models.files` checks each array before reading it).
"""

import abc
import dataclasses
import functools
import hashlib
import inspect
import json
import pathlib
import uuid
import warnings

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np
from sklearn.base import BaseEstimator

from .._checks import as_float_array, check_fields, check_seed
from ..data.domains import FieldDomain
from ..data.layout import mean_m, rms_difference, to_field, unit_vectors
from ..data.store import TrajectoryStore
from ..integration.scaling import field_scaling
from ..material import build
from . import files
from .files import FILE_FORMAT as FILE_FORMAT

MAX_HORIZON_FACTOR = 100
"""A prediction may run past the trained horizon (with an ``ExtrapolationWarning``)
up to this many times its length; longer is refused as a likely unit mistake."""
INITIAL_STATE_TOLERANCE = 0.05
"""Predictions from an initial state further than this from the trained one (RMS
over cells of |m - m0|, unit vectors: 0 same, 2 reversed) warn: extrapolation."""
_REGISTRY = {}


class ExtrapolationWarning(UserWarning):
    """A prediction was asked for outside what the model was trained on."""


class SensitivityWarning(UserWarning):
    """A prediction was asked for where the model's dynamics change fast with the field.

    Issued by :class:`~ubermag_surrogate.SurrogateDriver` when its
    ``sensitivity_threshold`` is set and :meth:`SurrogateModel.field_sensitivity`
    exceeds it: there the training fields lie too far apart to resolve the
    dynamics, and the prediction may be far off although the field lies inside the
    training domain.
    """


def reissue_warnings(caught, stacklevel):
    """Warn again with warnings recorded by ``catch_warnings(record=True)``.

    ``stacklevel`` as for ``warnings.warn`` in the caller: 2 points at the line that
    called the caller.
    """
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=stacklevel + 1)


def register(cls):
    """Class decorator: make a model kind loadable by its ``kind`` name.

    ``cls`` must be a concrete :class:`SurrogateModel` subclass with a ``kind`` of
    its own (a non-empty string). A kind is registered once: another class under a
    registered kind would make that kind's files load as the wrong class (a class
    defined again under the same module and name, as when a notebook cell is
    rerun, replaces its earlier definition).

    Raises
    ------
    TypeError, ValueError
        For anything else, saying what.
    """
    if not (isinstance(cls, type) and issubclass(cls, SurrogateModel)):
        raise TypeError(f"register takes a SurrogateModel subclass, not {cls!r}.")
    if inspect.isabstract(cls):
        missing = sorted(cls.__abstractmethods__)
        raise TypeError(f"{cls.__name__} does not implement {missing}.")
    kind = cls.__dict__.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ValueError(
            f"{cls.__name__} needs a kind of its own: a class attribute kind = "
            f"'name' (a non-empty string; inherited: {getattr(cls, 'kind', None)!r})."
        )
    known = _REGISTRY.get(kind)
    if known is not None and _class_name(known) != _class_name(cls):
        raise ValueError(
            f"The kind {kind!r} is {_class_name(known)}'s already: give "
            f"{cls.__name__} another kind."
        )
    _REGISTRY[kind] = cls
    return cls


def _class_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def model_class(kind):
    """Return the model class registered under ``kind`` (e.g. ``"kernel"``).

    Raises
    ------
    ValueError
        For an unknown kind (the message lists the known ones).
    """
    if kind not in _REGISTRY:
        raise ValueError(
            f"Unknown model kind {kind!r}; known: {sorted(_REGISTRY)} (a kind "
            "defined outside this package is known once the module that registers "
            "it is imported)."
        )
    return _REGISTRY[kind]


@dataclasses.dataclass(repr=False)
class Prediction:
    """Predicted trajectories: latent states now, magnetisations when asked for.

    Attributes
    ----------
    times : numpy.ndarray
        Output times (s), ``(n+1,)``, t = 0 included.
    fields : numpy.ndarray
        mu0 H (T), ``(k, 3)``.
    latent : numpy.ndarray
        Reduced trajectories, ``(k, n+1, d)``.
    decoder : callable
        The model's ``decode``: latent states ``(j, d)`` -> unit magnetisations
        ``(j, 3N)``, zero in empty cells.
    Ms : numpy.ndarray
        Saturation magnetisation per cell (A/m), ``(N,)``: <m> is weighted by it,
        as in OOMMF's tables (empty cells, Ms = 0, do not count).
    m : numpy.ndarray
        Unit magnetisation, ``(k, n+1, 3N)`` in the store's layout
        ``[m_x | m_y | m_z]``, float32; decoded on first access and kept.
    history : numpy.ndarray or None
        The integrator's last ``nu`` latent states at the model's step, ``(k, nu,
        d)``, and ``end_step`` the step index of the last one from the start of
        the first prediction: what ``predict(..., after=prediction)`` continues
        from.
    """

    times: np.ndarray
    fields: np.ndarray
    latent: np.ndarray
    decoder: object
    Ms: np.ndarray
    history: np.ndarray = None
    end_step: int = 0

    def __repr__(self):
        k, n_times, d = self.latent.shape
        decoded = "decoded" if "m" in self.__dict__ else "not decoded yet"
        return (
            f"Prediction({k} fields, {n_times} times from 0 to {self.times[-1]:.3g} s, "
            f"{d} latent dimensions, magnetisation {decoded})"
        )

    @functools.cached_property
    def m(self):
        """Unit magnetisation ``(k, n+1, 3N)``, float32 (decoded once)."""
        k, n_times, d = self.latent.shape
        latent = self.latent.reshape(-1, d)
        first = self.decoder(latent[:_DECODE_CHUNK])
        out = np.empty((len(latent), first.shape[1]), dtype=first.dtype)
        out[: len(first)] = first
        for start in range(len(first), len(latent), _DECODE_CHUNK):
            out[start : start + _DECODE_CHUNK] = self.decoder(
                latent[start : start + _DECODE_CHUNK]
            )
        return out.reshape(k, n_times, -1)

    def mean_m(self):
        """Mean magnetisation <m>, ``(k, n+1, 3)``: sum Ms m / sum Ms, as OOMMF's table.

        Without materialising ``m`` if it has not been asked for: states are
        decoded a chunk at a time (for sweeps over many fields, and for long
        horizons of one field).
        """
        if "m" in self.__dict__:
            return mean_m(self.m, self.Ms)
        k, n_times, d = self.latent.shape
        latent = self.latent.reshape(-1, d)
        out = np.empty((len(latent), 3))
        for start in range(0, len(latent), _DECODE_CHUNK):  # states, not fields
            chunk = slice(start, start + _DECODE_CHUNK)
            out[chunk] = mean_m(self.decoder(latent[chunk]), self.Ms)
        return out.reshape(k, n_times, 3)


_DECODE_CHUNK = 256
"""States decoded at a time (their temporaries stay in cache)."""


def _check_consistent(model, n_cells, path):
    """Refuse a loaded model whose pieces do not fit together (a damaged file).

    Shapes against the mesh and the time line, then one step of the first
    training field, which must give finite magnetisations.
    """
    damaged = f"{str(path)!r} is damaged"
    problems = []
    if model.Ms_.shape != (n_cells,):
        problems.append(f"Ms has shape {model.Ms_.shape} for {n_cells} cells")
    if model.m0_.shape != (3 * n_cells,):
        problems.append(f"m0 has shape {model.m0_.shape} for {n_cells} cells")
    if model.times_.shape != (model.n_steps_ + 1,) or not np.allclose(
        np.diff(model.times_), model.dt_, rtol=1e-6, atol=0
    ):
        problems.append(
            f"its {model.times_.size} times are not the {model.n_steps_} steps of "
            f"{model.dt_:g} s its metadata give"
        )
    if model.training_fields_.ndim != 2 or model.training_fields_.shape[1:] != (3,):
        problems.append(f"training_fields has shape {model.training_fields_.shape}")
    if problems:
        raise ValueError(f"{damaged}: {'; '.join(problems)}. Refit the model.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = model.predict(model.training_fields_[:1], n=1).m
    except Exception as error:  # noqa: BLE001 - any failure: the pieces do not fit
        raise ValueError(
            f"{damaged}: one step of its first training field fails "
            f"({type(error).__name__}: {error}). Refit the model."
        ) from None
    if not np.all(np.isfinite(m)):
        raise ValueError(
            f"{damaged}: one step of its first training field gives NaN or "
            "infinite magnetisations. Refit the model."
        )


def as_fitted_model(model):
    """Return a fitted :class:`SurrogateModel`, given one or the path of a saved one.

    Raises
    ------
    TypeError
        For anything else.
    ValueError
        For a model that is not fitted.
    """
    if isinstance(model, str | pathlib.Path):
        model = SurrogateModel.load(model)
    if not isinstance(model, SurrogateModel):
        raise TypeError(
            f"model must be a SurrogateModel or the path of a saved one, not "
            f"{type(model).__name__}."
        )
    if not hasattr(model, "fingerprint_"):
        raise ValueError(f"The {type(model).__name__} is not fitted yet.")
    return model


def as_store(dataset):
    """Return a :class:`TrajectoryStore` for a store or a path."""
    if isinstance(dataset, TrajectoryStore):
        return dataset
    if isinstance(dataset, str | pathlib.Path):
        return TrajectoryStore(dataset)
    raise TypeError(
        f"Expected a TrajectoryStore or the path of one, got {type(dataset).__name__}."
    )


PROVENANCE_ATTRS = ("errors", "created", "runs")
"""Store attributes that record how and when samples were made, not what they are:
left out of :func:`fingerprint` (appending to a store leaves the fingerprint of
its earlier samples as it was)."""


MT_AS_T_HINT = " Fields are mu0 H in T (35 mT is 0.035, not 35)."
"""Added to an extrapolation warning for fields above 1 T (the command line, which
reads mT, leaves it out)."""
H_IN_A_PER_M_HINT = (
    " These fields are the training domain's divided by mu0 (or by 1000 mu0): most "
    "likely a Zeeman H given in T (or mT), where A/m is due (mu0 H = 35 mT is H = "
    "0.035 / mu0 = 2.79e4 A/m)."
)
"""Added to an extrapolation warning for fields that, read as T or mT instead of
A/m, lie in the training domain (the command line, which reads T, leaves it
out)."""


def plain(value):
    """Return ``value`` with numpy scalars and arrays as Python numbers and lists.

    For JSON: hyper-parameters given as ``np.int64(4)`` or ``np.array([16])``
    are accepted by the checks and must not fail a save after the fit.
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def _shown(value):
    """Return a hyper-parameter as describe() writes it: numpy values as Python's."""
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else value


def fingerprint(store, samples):
    """Short hash identifying training data.

    Of the store's attributes (problem, mesh, material, driver, ...; not
    :data:`PROVENANCE_ATTRS`), Ms per cell, the initial state, the samples'
    fields and indices: two stores of the same mesh and Ms range but another
    geometry (Ms = 0 elsewhere) or initial state differ in it.
    """
    digest = hashlib.sha256()
    attrs = {k: v for k, v in store.attrs.items() if k not in PROVENANCE_ATTRS}
    digest.update(json.dumps(attrs, sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(store.group["Ms"][:], np.float64).tobytes())
    samples = np.asarray(samples, dtype=np.int64)
    if samples.size:  # every sample starts from the same state (generate checks)
        digest.update(np.ascontiguousarray(store.trajectory(samples[0])[0]).tobytes())
    digest.update(np.ascontiguousarray(store.fields[samples]).tobytes())
    digest.update(np.ascontiguousarray(samples).tobytes())
    return digest.hexdigest()[:16]


class SurrogateModel(BaseEstimator, abc.ABC):
    """Base class of surrogates of magnetisation dynamics under constant fields.

    Fitted attributes common to all models (set by :meth:`_set_training_info`):
    ``mesh_`` (dict: pmin, pmax, n, cell in m), ``Ms_`` (A/m per cell), ``times_``
    (s), ``dt_`` (s), ``n_steps_``, ``field_domain_`` (FieldDomain or None),
    ``m0_`` (unit initial state, 3N), ``fingerprint_``, ``training_fields_`` (T),
    ``material_`` (dict: the training system's ``energy`` without the swept Zeeman
    field and its ``dynamics``, as Ubermag representation strings), ``problem_``;
    a loaded model also ``package_version_`` (the version that wrote the file);
    ``file_``: the file it was loaded from or last saved to (absolute path; None
    for a model fitted and not saved), which drives record; ``random_state_``: the
    seed the fit used (``random_state``, or the one drawn for an unseeded model;
    None for an unseeded model loaded from a file written before seeds were
    recorded).
    """

    kind = None

    def _check_fitted(self):
        """Raise ``ValueError`` unless the model is fitted (or loaded)."""
        if not hasattr(self, "fingerprint_"):
            raise ValueError(
                f"This {type(self).__name__} is not fitted yet: fit it on a store "
                "(model.fit(store)) or load a saved one (models.load(path))."
            )

    def _check_params(self):  # noqa: B027 - kinds without checks need none
        """Refuse bad hyper-parameters (``ValueError``); run by fit and load."""

    def _hyperparameters(self):
        """Return the hyper-parameters that make the model (not ``verbose``), plain."""
        return plain({k: v for k, v in self.get_params().items() if k != "verbose"})

    @property
    def model_id(self):
        """Short hash identifying this fitted model (str).

        Of its kind, hyper-parameters (``verbose`` aside) and training data
        (``fingerprint_``, which names the data only: models fitted with other
        hyper-parameters on the same data share it, not their ``model_id``).
        Drives, evaluations and the command line name models by it. An unseeded
        model (``random_state=None``) has the seed drawn for its fit
        (``random_state_``) in its id too: two unseeded fits are two models. A model
        whose training was interrupted (:meth:`interrupted_training`) has another
        id than the one trained to its end.
        """
        self._check_fitted()
        params = getattr(self, "_params_at_fit", None) or self._hyperparameters()
        key = [self.kind, params, self.fingerprint_]
        drawn = self._drawn_seed(params)
        if drawn is not None:  # seeded models' ids unchanged
            key.append({"random_state_": drawn})
        interrupted = self.interrupted_training()
        if interrupted:  # not the model these parameters give (older ids unchanged)
            key.append(interrupted)
        text = json.dumps(key, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @abc.abstractmethod
    def fit(self, dataset, samples=None):
        """Fit on a trajectory store (all complete samples, or ``samples``)."""

    @abc.abstractmethod
    def _initial_latent(self, fields, m0):
        """Return the latent initial states, ``(k, d)`` or ``(d,)`` for all fields.

        ``m0``: checked unit magnetisation (3N), or None for the trained one. The
        fitted ``integrator_`` (a ``WindowIntegrator``) integrates from them.
        """

    @abc.abstractmethod
    def decode(self, latent):
        """Return unit magnetisations ``(j, 3N)`` of latent states ``(j, d)``.

        Cells with Ms = 0 must hold zero vectors (the store's layout).
        """

    @abc.abstractmethod
    def _state(self):
        """Return (hyper-parameters, fitted arrays) to save."""

    @classmethod
    @abc.abstractmethod
    def _from_state(cls, params, arrays):
        """Rebuild a fitted model from :meth:`_state` output."""

    # -- training information -------------------------------------------------------
    @staticmethod
    def _training_samples(dataset, samples):
        """Return the store and the samples to fit on (all complete ones by default).

        Raises ValueError for fewer than 2 samples, or a sample given twice.
        """
        store = as_store(dataset)
        samples = store.check_samples(samples)  # indices or a boolean mask
        values, counts = np.unique(samples, return_counts=True)
        if np.any(counts > 1):
            twice = values[counts > 1].tolist()
            raise ValueError(
                f"samples {twice} are given more than once: each training "
                "trajectory counts once (repeat none)."
            )
        if len(samples) < 2:
            failed = store.errors
            hint = ""
            if failed:
                first = min(failed)
                lines = failed[first].strip().splitlines() or ["(no message)"]
                hint = (
                    f" {len(failed)} samples of {str(store.path)!r} failed (their "
                    f"errors: TrajectoryStore(path).errors, e.g. sample {first}: "
                    f"{lines[-1]})."
                )
            raise ValueError(
                f"Need at least 2 complete samples, got {len(samples)}.{hint}"
            )
        return store, samples

    def _fit_seed(self):
        """Return the seed of a fit: ``random_state``, or one drawn for this fit.

        An unseeded model (``random_state=None``) is fitted with a seed drawn from
        the operating system's entropy, kept as ``random_state_`` (in ``model_id``
        and the file): two unseeded fits are two models with two ids, and each can
        be refitted exactly with ``random_state=model.random_state_``.
        """
        seed = check_seed("random_state", getattr(self, "random_state", None))
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        return seed

    def _drawn_seed(self, params):
        """Return the seed drawn for the fit if ``params`` are unseeded, else None."""
        if params.get("random_state", 0) is None:
            return getattr(self, "random_state_", None)
        return None

    def _set_training_info(self, store, samples, initial_states, seed):
        """Set the common fitted attributes; ``initial_states`` ``(n, 3N)`` give m0_.

        Every trajectory starts from the same state: ``m0_`` is their mean, unit
        length per cell in float64. ``seed``: what :meth:`_fit_seed` gave the fit.
        Each fit also gets a token of its own (drives that continue a prediction of
        an earlier fit of the same object start afresh instead, even where
        ``model_id`` is the same).
        """
        self._fit_token = uuid.uuid4().hex
        self.random_state_ = seed
        self._params_at_fit = self._hyperparameters()
        self.m0_ = unit_vectors(
            initial_states.mean(axis=0, dtype=np.float64).reshape(3, -1).T
        ).T.reshape(-1)
        attrs = store.attrs
        self.mesh_ = attrs["mesh"]
        self.Ms_ = np.asarray(store.group["Ms"][:], dtype=np.float64)
        self.times_ = np.asarray(store.times, dtype=np.float64)
        self.dt_ = float(self.times_[1] - self.times_[0])
        self.n_steps_ = len(self.times_) - 1
        domain = attrs.get("field_domain")
        self.field_domain_ = FieldDomain.from_dict(domain) if domain else None
        self.training_fields_ = np.asarray(store.fields[samples], dtype=np.float64)
        self.fingerprint_ = fingerprint(store, samples)
        self.problem_ = attrs.get("problem")
        self.file_ = None  # fitted in memory: no file holds this model yet
        material = attrs.get("material") or {}
        self.material_ = {k: material.get(k, "") for k in ("energy", "dynamics")}

    def interrupted_training(self):
        """Return what Ctrl-C cut short in this model's training, as text.

        E.g. ``["autoencoder after 42 of 5000 epochs"]``: those parts hold the
        weights reached then. Empty for a model trained to its end (and for
        models trained in one piece, such as the kernel surrogate).

        Returns
        -------
        list of str
        """
        self._check_fitted()
        return []

    def capped_params(self):
        """Return the hyper-parameters the training data made smaller, as used.

        A rank above a map's number of training rows is capped at that number (and
        the model is the same as with any larger value), e.g. ``{"integrator_rank":
        1212}``. Empty when every value was used as given.

        Returns
        -------
        dict
        """
        self._check_fitted()
        return {}

    def describe(self):
        """Return, as text, what this fitted model is and what it was trained on.

        Its kind and the hyper-parameters that differ from the defaults; the
        training data (problem, number of fields, field domain and the range the
        fields cover, fingerprint); mesh, Ms, energy and dynamics terms; time step
        and horizon; the initial state's mean magnetisation; for a loaded model,
        the package version that wrote the file.

        Returns
        -------
        str
        """
        self._check_fitted()
        params = self.get_params()
        defaults = type(self)().get_params()
        changed = {  # numpy values (arrays too) compared as Python's; verbose is
            # no property of the model (as for model_id)
            k: v
            for k, v in params.items()
            if k != "verbose" and plain(v) != plain(defaults.get(k))
        }
        lines = [
            f"{type(self).__name__} {self.model_id} (kind {self.kind!r}), "
            "hyper-parameters: "
            + (
                ", ".join(f"{k}={_shown(v)!r}" for k, v in changed.items())
                or "defaults"
            ),
            f"trained on {len(self.training_fields_)} fields of problem "
            f"{self.problem_!r} (training data {self.fingerprint_})",
        ]
        drawn = self._drawn_seed(params)
        if drawn is not None:
            lines.insert(
                1,
                f"  unseeded: the seed drawn for its fit is {drawn} (refit it with "
                f"random_state={drawn})",
            )
        interrupted = self.interrupted_training()
        if interrupted:
            lines.insert(
                1,
                "  training interrupted (Ctrl-C): "
                + "; ".join(interrupted)
                + " (the weights reached then)",
            )
        capped = self.capped_params()
        if capped:
            lines.insert(
                1,
                "  capped by the size of the training data: "
                + ", ".join(f"{k}={params[k]!r} -> {v!r}" for k, v in capped.items()),
            )
        domain = self.field_domain_
        if domain is not None:
            covered = domain.coordinates(self.training_fields_)
            if domain.kind == "polar":
                span = (
                    f"{covered[:, 0].min():.2f}-{covered[:, 0].max():.2f} mT, "
                    f"{covered[:, 1].min():.2f}-{covered[:, 1].max():.2f} deg"
                )
            else:
                span = domain.ranges_text(
                    np.column_stack([covered.min(axis=0), covered.max(axis=0)]), ".2f"
                )
            name = f" {domain.name}" if domain.name else ""
            lines.append(
                f"  field domain{name}: {domain.ranges_text()} (fields cover {span})"
            )
        else:
            lines.append(
                "  no field domain recorded: predictions warn outside the fields' "
                f"box {self.training_domain().ranges_text(fmt='.4g')}"
            )
        n = self.mesh_["n"]
        cell = np.asarray(self.mesh_["cell"]) * 1e9
        magnetic = self.Ms_[self.Ms_ > 0]
        Ms = (
            f"{magnetic[0]:.4g} A/m"
            if np.ptp(magnetic) == 0
            else f"{magnetic.min():.4g}-{magnetic.max():.4g} A/m"
        )
        lines.append(
            f"  mesh {n[0]} x {n[1]} x {n[2]} cells of {cell[0]:g} x {cell[1]:g} x "
            f"{cell[2]:g} nm; Ms {Ms} in {magnetic.size} of {self.Ms_.size} cells"
        )
        if self.material_.get("energy"):
            lines.append(
                f"  energy {self.material_['energy']}; "
                f"dynamics {self.material_['dynamics']}"
            )
        lines.append(
            f"  time step {self.dt_:.4g} s, horizon {self.n_steps_ * self.dt_:.4g} s "
            f"({self.n_steps_} steps)"
        )
        m0 = mean_m(self.m0_, self.Ms_)  # weighted by Ms, as the tables' <m>
        lines.append(f"  initial state <m> = ({m0[0]:.4f}, {m0[1]:.4f}, {m0[2]:.4f})")
        written = getattr(self, "package_version_", None)
        if written:
            lines.append(f"written by ubermag-surrogate {written}")
        return "\n".join(lines)

    @property
    def mesh(self):
        """The ``discretisedfield.Mesh`` the model predicts on."""
        return df.Mesh(
            p1=self.mesh_["pmin"],
            p2=self.mesh_["pmax"],
            n=self.mesh_["n"],
            bc=self.mesh_.get("bc", ""),
        )

    def system(self, name=None):
        """Return the system the model was trained on, in its initial state.

        Mesh, Ms, energy (without the swept Zeeman field) and dynamics as in the
        training data; ``m`` is the trained initial state (e.g. SP4's s-state). Add a
        ``Zeeman`` term and drive it with a ``SurrogateDriver``.

        Parameters
        ----------
        name : str, optional
            System name (default: the training problem's name).

        Returns
        -------
        micromagneticmodel.System
        """
        self._check_fitted()
        if not self.material_.get("dynamics"):
            raise ValueError("The model file does not record the training material.")
        system = mm.System(name=name or self.problem_ or "system")
        system.energy = mm.Energy(terms=build(self.material_["energy"]))
        system.dynamics = mm.Dynamics(terms=build(self.material_["dynamics"]))
        system.m = self.to_field(self.m0_)
        return system

    # -- prediction -----------------------------------------------------------------
    def predict(self, fields, m0=None, t=None, n=None, after=None):
        """Predict trajectories for constant fields.

        Parameters
        ----------
        fields : array_like
            mu0 H (T), ``(k, 3)`` or ``(3,)``.
        m0 : array_like, optional
            Initial magnetisation, any length per cell (unit vectors or A/m): a
            ``discretisedfield.Field`` on the model's mesh, its array ``(nx, ny,
            nz, 3)``, one vector per cell ``(N, 3)``, or the store layout ``(3,
            N)`` / ``(3N,)``; default: the trained initial state.
        t : float, optional
            Simulated time (s), as ``TimeDriver.drive``; outputs at ``i t / n``.
            ``t / n`` must be a whole multiple of the trained step ``dt_``.
            Default: ``n`` trained steps (``n dt_``), or the trained horizon when
            ``n`` is not given either.
        n : int, optional
            Number of outputs (default: ``t / dt_``, every trained step, or the
            trained horizon when ``t`` is not given either). Note: ``n`` alone
            means ``n`` trained steps, not ``n`` outputs over the horizon.
        after : Prediction, optional
            A prediction of this model for the same fields to continue: from its
            last state, with its latent history and time, so that predicting
            ``t1`` and then ``t2`` after it gives what predicting ``t1 + t2`` gives
            (to round-off; times of the result start at 0 again, as in a second
            drive). Not with ``m0``.

        Returns
        -------
        Prediction

        Warns
        -----
        ExtrapolationWarning
            For fields outside the training domain (saying by how much), more
            steps than the trained horizon, or an ``m0`` further than
            ``INITIAL_STATE_TOLERANCE`` (0.05, RMS over cells of |m - m0|) from the
            trained initial state.

        Raises
        ------
        ValueError
            For more than ``MAX_HORIZON_FACTOR`` (100) times the trained horizon
            (e.g. ``t`` given in ns instead of s), before any work is done.
        """
        request = self._checked_request(fields, m0, t, n, stacklevel=3, after=after)
        return self._rollout(*request)

    def _checked_request(
        self,
        fields,
        m0,
        t,
        n,
        stacklevel,
        m0_tolerance=INITIAL_STATE_TOLERANCE,
        after=None,
    ):
        """Check a :meth:`predict` request and warn as it does.

        ``stacklevel`` as for ``warnings.warn`` in this method; ``m0_tolerance``:
        warn for an ``m0`` further than that from the trained initial state (RMS
        over cells of |m - m0|). Returns ``(fields, m0, n, stride, after, t)`` for
        :meth:`_rollout` (``t`` in s, the trained steps' time when not given); a
        caller that predicts in chunks checks (and warns) once for all fields.
        """
        self._check_fitted()
        fields = check_fields(fields)
        n, stride = self._steps(t, n)
        if after is not None:
            self._check_after(after, fields, m0)
        total = n * stride
        elapsed = total + (after.end_step if after is not None else 0)
        if total > MAX_HORIZON_FACTOR * self.n_steps_:
            horizon = self.n_steps_ * self.dt_
            raise ValueError(
                f"t={total * self.dt_:.6g} s is {total * self.dt_ / horizon:.3g} "
                f"times the trained horizon of {horizon:.3g} s ({total:.3g} steps of "
                f"dt = {self.dt_:.3g} s); at most {MAX_HORIZON_FACTOR} times is "
                "predicted. Times are in seconds: 1 ns is 1e-9."
            )
        if elapsed > self.n_steps_:
            since = " since the first prediction" if after is not None else ""
            beyond = elapsed - self.n_steps_
            warnings.warn(
                f"Predicting up to {elapsed * self.dt_:.3g} s ({elapsed} steps{since}"
                f"), {beyond} step{'s' if beyond > 1 else ''} ({beyond * self.dt_:.3g}"
                f" s) beyond the trained horizon of {self.n_steps_ * self.dt_:.3g} s "
                f"({self.n_steps_} steps).",
                ExtrapolationWarning,
                stacklevel=stacklevel,
            )
        self._warn_outside_domain(fields, stacklevel=stacklevel + 1)
        given, m0 = m0, self._check_m0(m0)
        if m0 is not None and (distance := rms_difference(m0, self.m0_)) > m0_tolerance:
            warnings.warn(
                f"The initial magnetisation differs from the state the model was "
                f"trained from by {distance:.3g} (RMS over cells of |m - m0|, "
                f"tolerance {m0_tolerance:g}); predictions from other initial states "
                "are extrapolation." + self._layout_hint(given, m0_tolerance),
                ExtrapolationWarning,
                stacklevel=stacklevel,
            )
        t = float(t) if t is not None else total * self.dt_
        return fields, m0, n, stride, after, t

    def _layout_hint(self, given, tolerance):
        """Return a hint for a flat m0 that is the trained state read cells first."""
        if isinstance(given, df.Field) or np.ndim(given) != 1:
            return ""
        try:  # read as one vector per cell
            cells_first = self._check_m0(np.asarray(given).reshape(-1, 3))
        except ValueError:  # e.g. zero vectors that way: not the trained state
            return ""
        if rms_difference(cells_first, self.m0_) > tolerance:
            return ""
        return (
            " Read cells first it is the trained state: a flat (3N,) m0 is "
            "[m_x | m_y | m_z]; give system.m or system.m.array for values cells first."
        )

    def _check_after(self, after, fields, m0):
        """Refuse a prediction to continue that this request cannot continue."""
        if not isinstance(after, Prediction):
            raise TypeError(
                f"after must be a Prediction of this model, not {type(after).__name__}."
            )
        if after.history is None:
            raise ValueError(
                "after holds no latent history to continue from (a prediction of a "
                "kind that cannot continue its predictions)."
            )
        if getattr(after.decoder, "__self__", None) is not self:
            raise ValueError("after is a prediction of another model.")
        if m0 is not None:
            raise ValueError(
                "Give either m0 or after: a continued prediction starts from the "
                "last state of the prediction it continues."
            )
        if not np.array_equal(after.fields, fields):
            raise ValueError(
                "after was predicted for other fields: a continuation keeps them (the "
                "model was trained on constant fields)."
            )

    def _rollout(self, fields, m0, n, stride, after=None, t=None):
        """Return the :class:`Prediction` of a checked request.

        Output times are ``i t / n`` (s), i = 0..n, as the full simulation's (so
        the last is ``t`` itself); ``t`` defaults to ``n stride dt_``.
        """
        nu = self.integrator_.nu_
        if after is None:
            c0 = self._initial_latent(fields, m0)
            c0 = np.broadcast_to(c0, (len(fields), np.shape(c0)[-1]))
            past, start = np.repeat(c0[:, None], nu - 1, axis=1), 0
        else:
            c0, past = after.history[:, -1], after.history[:, :-1]
            start = after.end_step
        latent = self.integrator_.rollout(
            c0, fields, n * stride, past=past, start=start
        )
        return Prediction(
            times=np.arange(n + 1) * (n * stride * self.dt_ if t is None else t) / n,
            fields=fields,
            latent=np.ascontiguousarray(latent[:, ::stride]),
            decoder=self.decode,
            Ms=self.Ms_,
            history=np.concatenate([past, latent[:, -nu:]], axis=1)[:, -nu:],
            end_step=start + n * stride,
        )

    def field_sensitivity(
        self, fields, step=0.005, m0=None, t=None, n=None, prediction=None
    ):
        """How much the predicted <m>(t) changes when each field moves slightly.

        A per-field reliability indicator, at the cost of ``2 p`` more predictions
        (``p`` = 2 coordinates for an in-plane polar domain): where the dynamics
        change a lot under a field change far smaller than the spacing of the
        training fields, no surrogate trained on those fields can resolve them, and
        a model that has learned that sensitivity shows it. Each field is moved by
        +-``step`` of the training domain's range along each coordinate
        (:meth:`FieldDomain.neighbours`; the bounding box of the training fields
        when the model has no domain) and the largest change of the predicted
        <m>, over those moves, times and components, is returned.

        On SP4 (seed paper's domain, 300 training fields, default model and step),
        the 53 of 100 held-out fields below 0.05 had a mean <m> error of 0.037,
        the other 47 of 0.152 (``docs/kernel-surrogate.md``).

        Parameters
        ----------
        fields : array_like
            mu0 H (T), ``(k, 3)`` or ``(3,)``.
        step : float, optional
            Fraction of each coordinate's range (default 0.005: 0.05 mT and 0.1
            deg in the seed paper's domain).
        m0, t, n
            As for :meth:`predict`.
        prediction : Prediction, optional
            This model's prediction for ``fields`` with the same ``m0``, ``t`` and
            ``n``, if the caller has one: it is reused instead of predicted again.

        Returns
        -------
        numpy.ndarray
            ``(k,)``: max over moves, times and components of
            |<m>_moved - <m>| (unit magnetisation, no unit).

        Warns
        -----
        ExtrapolationWarning
            As :meth:`predict` does for ``fields`` (not for the moved fields, which
            may lie just outside the domain; nor when ``prediction`` is given).
        """
        self._check_fitted()
        fields = check_fields(fields)
        neighbours = self.training_domain().neighbours(fields, step)
        if neighbours.shape[1] == 0:
            raise ValueError(
                "The training fields span a single field: there is no range to move "
                "the fields along."
            )
        if prediction is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # re-issued at the caller's line
                prediction = self.predict(fields, m0=m0, t=t, n=n)
            reissue_warnings(caught, stacklevel=2)
        elif not np.array_equal(prediction.fields, fields):
            raise ValueError("prediction was made for other fields than these.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            moved = self.predict(neighbours.reshape(-1, 3), m0=m0, t=t, n=n)
        if len(moved.times) != len(prediction.times) or not np.allclose(
            moved.times, prediction.times, rtol=1e-9, atol=0
        ):
            raise ValueError(
                f"prediction has {len(prediction.times)} outputs up to "
                f"{prediction.times[-1]:.4g} s; t={t!r} and n={n!r} give "
                f"{len(moved.times)} up to {moved.times[-1]:.4g} s."
            )
        mean = prediction.mean_m()
        moved = moved.mean_m().reshape(*neighbours.shape[:2], *mean.shape[1:])
        return np.abs(moved - mean[:, None]).max(axis=(1, 2, 3))

    def _steps(self, t, n):
        """Return (number of outputs, trained steps per output) for t and n."""
        if n is not None and (
            isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1
        ):
            raise ValueError(f"n={n!r} must be a positive integer number of outputs.")
        if t is None:
            return (self.n_steps_ if n is None else int(n)), 1
        if isinstance(t, bool) or not isinstance(t, int | float | np.number):
            raise TypeError(f"t must be a time in seconds, not {t!r}.")
        if not (t > 0 and np.isfinite(t)):
            raise ValueError(f"t={t!r} must be a positive time in seconds.")
        if n is None:
            n = max(1, round(t / self.dt_))
        stride = (t / n) / self.dt_
        if abs(stride - round(stride)) > 1e-6 * max(stride, 1) or round(stride) < 1:
            raise ValueError(
                f"The output step t/n = {t / n:.6g} s is not a whole multiple of the "
                f"trained step dt = {self.dt_:.6g} s."
            )
        return int(n), int(round(stride))

    def training_domain(self):
        """Return the field domain of the training data, or the box its fields span.

        Returns
        -------
        FieldDomain
            ``field_domain_`` where the training store recorded one (``generate(...,
            domain=...)``), else the Cartesian box from the smallest to the largest
            training field component (mT), named ``"training fields"``.
        """
        if self.field_domain_ is not None:
            return self.field_domain_
        low = self.training_fields_.min(axis=0) * 1e3
        high = self.training_fields_.max(axis=0) * 1e3
        return FieldDomain(
            box=np.column_stack([low, high]).tolist(), name="training fields"
        )

    def _warn_outside_domain(self, fields, stacklevel):
        bad, message = self.training_domain().outside_text(
            fields, what="the training domain"
        )
        if message is None:
            return
        # components that were the same in every training field are no input of
        # the learned maps: a prediction does not respond to them at all
        varying = field_scaling(self.training_fields_)[0]
        constant = [c for c in range(3) if c not in varying]
        trained = self.training_fields_[0]
        moved = [
            c for c in constant if np.any(np.abs(fields[bad, c] - trained[c]) > 1e-12)
        ]
        if moved:
            names = " and ".join(f"B{'xyz'[c]}" for c in moved)
            values = ", ".join(f"{trained[c] * 1e3:g} mT" for c in moved)
            message += (
                f" The model does not take {names} as an input (the same, {values}, "
                "in every training field): it predicts as for that value."
            )
        if np.abs(fields).max() > 1.0:  # above 1 T: most likely mT given as T
            message += MT_AS_T_HINT
        elif np.abs(fields).max() > 0:
            domain = self.training_domain()
            as_h = fields / mm.consts.mu0  # the numbers of H, read as T (or mT)
            if domain.contains(as_h).all() or domain.contains(as_h * 1e-3).all():
                message += H_IN_A_PER_M_HINT
        warnings.warn(message, ExtrapolationWarning, stacklevel=stacklevel)

    def _check_m0(self, m0):
        if m0 is None:
            return None
        n_cells = self.m0_.size // 3
        if isinstance(m0, df.Field):
            if m0.nvdim != 3 or m0.mesh.n.prod() != n_cells:
                raise ValueError(
                    f"m0 is a {m0.nvdim}-component field on {m0.mesh.n.prod()} cells; "
                    f"the model needs a 3-component field on {n_cells}."
                )
            if m0.mesh != self.mesh:
                raise ValueError(
                    f"m0 is a field on another mesh ({m0.mesh.region.pmin} to "
                    f"{m0.mesh.region.pmax} m, n={m0.mesh.n.tolist()}) than the "
                    f"model's ({self.mesh.region.pmin} to {self.mesh.region.pmax} "
                    f"m, n={self.mesh.n.tolist()})."
                )
            m0 = m0.array.reshape(-1, 3).T  # store layout (3, N), A/m
        else:
            m0 = as_float_array(m0, "m0")
            if m0.size != self.m0_.size:
                raise ValueError(
                    f"m0 has {m0.size} values; the model's mesh needs "
                    f"{self.m0_.size} (3N)."
                )
            if m0.shape == (*self.mesh.n, 3) or (
                m0.shape == (n_cells, 3) and n_cells != 3
            ):  # a Field's array or one vector per cell: cells first
                m0 = m0.reshape(-1, 3).T
            elif m0.shape in ((3, n_cells), (3 * n_cells,)):
                m0 = m0.reshape(3, -1)
            else:
                raise ValueError(
                    f"m0 has shape {m0.shape}: give it as system.m.array "
                    f"{(*self.mesh.n.tolist(), 3)}, one vector per cell "
                    f"({n_cells}, 3), or the store layout (3, {n_cells}) or "
                    f"({3 * n_cells},)."
                )
        if not np.all(np.isfinite(m0)):
            raise ValueError("m0 contains non-finite values.")
        magnetic = self.Ms_ > 0
        if np.any(np.einsum("cn,cn->n", m0, m0)[magnetic] == 0):
            raise ValueError("m0 has zero vectors in cells where Ms > 0.")
        # any length (unit vectors or M in A/m): one unit vector per magnetic cell
        return (unit_vectors(m0.T).T * magnetic).reshape(-1)

    def _check_states(self, m):
        """Return unit magnetisations ``(k, 3N)`` (or ``(3N,)``) as a 2D array.

        Raises ValueError for another width, or vectors that are not unit length
        in the magnetic cells (M in A/m, or a Field's cells-first array).
        """
        m = np.atleast_2d(np.asarray(m))  # float32 states stay float32 (no copy)
        if m.dtype.kind not in "fiu":
            m = np.atleast_2d(as_float_array(m, "m"))
        three_n = self.m0_.size
        if m.ndim != 2 or m.shape[1] != three_n:
            raise ValueError(
                f"m must be unit magnetisations (k, {three_n}) in the store's layout "
                f"[m_x | m_y | m_z], not shape {m.shape}."
            )
        cells = m.reshape(len(m), 3, three_n // 3)  # len(m) may be 0
        norms = np.sqrt(np.einsum("kcn,kcn->kn", cells, cells))[:, self.Ms_ > 0]
        unit = getattr(self, "normalize", True)  # else its own states are not
        if unit and norms.size and not np.allclose(norms, 1, atol=1e-3):
            raise ValueError(
                f"m must be unit vectors in the store's layout [m_x | m_y | m_z] (one "
                f"(3N,) row per state); its vectors have lengths {norms.min():.3g} to "
                f"{norms.max():.3g} (M in A/m, or a Field's array, which is cells "
                "first? ubermag_surrogate.data.layout.to_components(field.array)"
                ".reshape(-1) gives the layout)."
            )
        return m

    def to_field(self, m_flat):
        """Return one predicted state (3N) as a ``discretisedfield.Field`` (A/m)."""
        m_flat = np.asarray(m_flat)
        if m_flat.size != self.m0_.size:
            raise ValueError(
                f"to_field takes one state of {self.m0_.size} values (3N), not shape "
                f"{m_flat.shape} (one state of a prediction: prediction.m[i, j])."
            )
        return to_field(m_flat, self.mesh, self.Ms_)

    # -- files ----------------------------------------------------------------------
    def save(self, path):
        """Save to one ``.npz`` file (plain arrays and JSON metadata)."""
        if not hasattr(self, "fingerprint_"):
            raise ValueError("Only a fitted model can be saved.")
        fitted = getattr(self, "_params_at_fit", None)
        now = self._hyperparameters()
        if fitted is not None and fitted != now:
            changed = sorted(k for k in now if now.get(k) != fitted.get(k))
            raise ValueError(
                f"{', '.join(changed)} changed (set_params) since this model was "
                f"fitted with {', '.join(f'{k}={fitted.get(k)!r}' for k in changed)}: "
                "the file would describe another model than its arrays. Refit, or set "
                "them back, before saving."
            )
        params, arrays = self._state()
        from .. import __version__

        registered = _REGISTRY.get(self.kind)
        if registered is None or _class_name(registered) != _class_name(type(self)):
            warnings.warn(
                f"{type(self).__name__} is not the class registered as kind "
                f"{self.kind!r}: the file loads as "
                f"{getattr(registered, '__name__', 'nothing')} (give "
                "the class a kind of its own and register it).",
                UserWarning,
                stacklevel=2,
            )
        metadata = {
            "format": FILE_FORMAT,
            "kind": self.kind,
            "kind_module": type(self).__module__,
            "package_version": __version__,
            "params": plain(params),
            "mesh": self.mesh_,
            "field_domain": self.field_domain_.to_dict()
            if self.field_domain_
            else None,
            "fingerprint": self.fingerprint_,
            "problem": self.problem_,
            "material": self.material_,
            "dt": self.dt_,
            "n_steps": self.n_steps_,
            "random_state_": self.random_state_,
        }
        common = {
            "Ms": self.Ms_,
            "times": self.times_,
            "m0": self.m0_,
            "training_fields": self.training_fields_,
        }
        overlap = set(common) & set(arrays)
        if overlap:  # pragma: no cover - a subclass naming bug
            raise ValueError(f"Array names {overlap} are reserved.")
        path = pathlib.Path(path)
        if path.is_dir():
            raise IsADirectoryError(
                f"{str(path)!r} is a directory; name the model file, e.g. "
                f"{str(path / 'model.npz')!r}."
            )
        if not path.parent.is_dir():
            raise FileNotFoundError(
                f"Cannot save the model to {str(path)!r}: the folder "
                f"{str(path.parent)!r} does not exist."
            )
        # written beside the target and renamed: an interrupted save never leaves
        # a half-written file in place of an existing model
        files.write(path, metadata, {**common, **arrays})
        self.file_ = str(path.absolute())
        return path

    @staticmethod
    def load(path):
        """Load a model saved by :meth:`save` (no code is executed from the file).

        Raises
        ------
        FileNotFoundError
            Nothing at ``path``.
        IsADirectoryError
            ``path`` is a folder (the message names the ``.npz`` files in it).
        ValueError
            The file is not a model of this package, or is damaged.
        """
        path = pathlib.Path(path)
        with files.open_model_file(path) as (metadata, arrays):
            kind = metadata.get("kind")
            if isinstance(kind, str) and kind not in _REGISTRY:
                module = metadata.get("kind_module")
                named = (  # a dotted Python name only: the file's word, not advice
                    f" (the file names the module {module!r})"
                    if isinstance(module, str)
                    and all(part.isidentifier() for part in module.split("."))
                    else ""
                )
                raise ValueError(
                    f"{str(path)!r} is a model of the kind {kind!r}, which is not "
                    f"registered in this process (known kinds: {sorted(_REGISTRY)}): "
                    f"import the module that defines and registers it before "
                    f"loading{named}. Nothing is imported from a file."
                )
            try:
                model = model_class(metadata["kind"])._from_state(
                    metadata["params"], arrays
                )
                model._check_params()
                model._params_at_fit = model._hyperparameters()
                model.mesh_ = metadata["mesh"]
                domain = metadata["field_domain"]
                model.field_domain_ = FieldDomain.from_dict(domain) if domain else None
                model.fingerprint_ = metadata["fingerprint"]
                model.problem_ = metadata["problem"]
                model.material_ = metadata.get("material") or {
                    "energy": "",
                    "dynamics": "",
                }
                model.dt_ = float(metadata["dt"])
                model.n_steps_ = int(metadata["n_steps"])
                # files before it was recorded: the seed given, if any
                seed = metadata.get(
                    "random_state_", getattr(model, "random_state", None)
                )
                model.random_state_ = check_seed("random_state_", seed)
                model.Ms_ = arrays["Ms"]
                model.times_ = arrays["times"]
                model.m0_ = arrays["m0"]
                model.training_fields_ = arrays["training_fields"]
                n_cells = model.mesh.n.prod()  # a mesh discretisedfield accepts
            except files.MissingArray as error:
                from .. import __version__

                raise ValueError(
                    f"{str(path)!r} lacks the array {error} that a "
                    f"{metadata['kind']!r} model needs: the file is damaged or from "
                    "an incompatible version (written by ubermag-surrogate "
                    f"{metadata.get('package_version')}, this is {__version__}); "
                    "refit the model."
                ) from None
            except files.DamagedFile:
                raise  # names the file and the array already
            except KeyError as error:
                raise ValueError(
                    f"{str(path)!r} lacks the metadata entry {error}: the file is "
                    "damaged or not written by ubermag-surrogate; refit the model."
                ) from None
            except (ValueError, TypeError, AttributeError, IndexError) as error:
                raise ValueError(
                    f"{str(path)!r} is damaged or not written by ubermag-surrogate "
                    f"({type(error).__name__}: {error}); refit the model."
                ) from None
        model.package_version_ = metadata.get("package_version")
        _check_consistent(model, n_cells, path)
        model.file_ = str(path.absolute())
        return model
