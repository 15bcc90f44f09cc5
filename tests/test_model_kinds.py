"""A model kind written outside the package, through the documented interface.

``PCALinearSurrogate`` is what a user who plugs in their own surrogate writes (see
"Writing a model kind" in docs/kernel-surrogate.md): a PCA reduction and a linear
nu-step latent map built on ``integration.base.WindowIntegrator``. It goes through
fit, predict, save and load, and ``SurrogateDriver``, on real SP4 trajectories.
"""

import warnings

import micromagneticdata as md
import micromagneticmodel as mm
import numpy as np
import pytest
from sklearn.base import BaseEstimator

from ubermag_surrogate.data.layout import fix_cells
from ubermag_surrogate.driver import SurrogateDriver
from ubermag_surrogate.integration.base import WindowIntegrator
from ubermag_surrogate.models import (
    KernelSurrogate,
    SurrogateModel,
    load,
    mean_m_errors,
    register,
)
from ubermag_surrogate.models.base import _REGISTRY


class LinearStep(WindowIntegrator, BaseEstimator):
    """c^{i+1} = W [h | c^{i-nu+1} ... c^i | 1], fitted by ridge least squares."""

    _fitted = "weights_"

    def __init__(self, nu=2, alpha=1e-6):
        self.nu = nu
        self.alpha = alpha

    def fit(self, latent, fields):
        latent, fields = self._check_trajectories(latent, fields)
        self.set_scaling(latent, fields)  # sets nu_ and the input scaling
        self.n_latent_ = latent.shape[2]
        scaled, history = self._history(latent)
        n, n_times, nu, d = history.shape
        h = np.repeat(self.field_inputs(fields)[:, None], n_times - 1, axis=1)
        windows = history[:, :-1].reshape(n, n_times - 1, nu * d)
        X = np.concatenate([h, windows, np.ones((n, n_times - 1, 1))], axis=2)
        X = X.reshape(n * (n_times - 1), -1)
        Y = scaled[:, 1:].reshape(-1, d)
        A = X.T @ X + self.alpha * np.eye(X.shape[1])
        self.weights_ = np.linalg.solve(A, X.T @ Y)
        return self

    def _stepper(self, n_steps):
        W = self.weights_
        return lambda x, i: x @ W[:-1] + W[-1]

    def to_arrays(self):
        return {
            "step.weights": self.weights_,
            "step.field_columns": self.field_columns_,
            "step.field_mean": self.field_mean_,
            "step.field_scale": self.field_scale_,
            "step.latent_scale": np.array(self.latent_scale_),
        }

    @classmethod
    def from_arrays(cls, arrays, nu):
        step = cls(nu=nu)
        step.weights_ = arrays["step.weights"]
        step.field_columns_ = arrays["step.field_columns"]
        step.field_mean_ = arrays["step.field_mean"]
        step.field_scale_ = arrays["step.field_scale"]
        step.latent_scale_ = float(arrays["step.latent_scale"])
        step.nu_ = nu
        step.n_latent_ = step.weights_.shape[1]
        return step


class PCALinearSurrogate(SurrogateModel):
    """PCA of the states, a linear latent step; for tests of the interface."""

    kind = "test-pca-linear"

    def __init__(self, n_components=10, nu=2, random_state=0):
        self.n_components = n_components
        self.nu = nu
        self.random_state = random_state

    def fit(self, dataset, samples=None):
        store, samples = self._training_samples(dataset, samples)
        seed = self._fit_seed()  # nothing random here; recorded all the same
        states = store.tensor(samples, field_components=())  # (s+1, n, 3N)
        n_times, n_fields, three_n = states.shape
        X = states.reshape(-1, three_n).astype(np.float64)
        self.mean_ = X.mean(axis=0)
        _, _, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        self.components_ = vt[: self.n_components]
        latent = self.encode(X).reshape(n_times, n_fields, -1).transpose(1, 0, 2)
        self.integrator_ = LinearStep(nu=self.nu).fit(latent, store.fields[samples])
        self._set_training_info(store, samples, states[0], seed)
        return self

    def encode(self, m):
        return (np.atleast_2d(m) - self.mean_) @ self.components_.T

    def _initial_latent(self, fields, m0):
        return self.encode(self.m0_ if m0 is None else m0)[0]

    def decode(self, latent):
        m = (np.atleast_2d(latent) @ self.components_ + self.mean_).astype(np.float32)
        return fix_cells(m, self.Ms_ > 0)

    def _state(self):
        arrays = {"pca.mean": self.mean_, "pca.components": self.components_}
        return self.get_params(), {**arrays, **self.integrator_.to_arrays()}

    @classmethod
    def _from_state(cls, params, arrays):
        model = cls(**params)
        model.mean_ = arrays["pca.mean"]
        model.components_ = arrays["pca.components"]
        model.integrator_ = LinearStep.from_arrays(arrays, model.nu)
        return model


@pytest.fixture(scope="module", autouse=True)
def _registered():
    """``@register`` on the class, for this module's tests only (the rest of the
    suite sees the package's kinds alone)."""
    register(PCALinearSurrogate)
    yield
    _REGISTRY.pop(PCALinearSurrogate.kind)


@pytest.fixture(scope="module")
def linear_model(sp4_store):
    return PCALinearSurrogate().fit(sp4_store)


def test_a_kind_of_ones_own_predicts_saves_and_loads(sp4_store, linear_model, tmp_path):
    model = linear_model
    prediction = model.predict(sp4_store.fields)
    assert prediction.m.shape == (8, 21, 1500)
    # a linear step is a rough surrogate, but it has learned the motion: its error
    # is well below how far <m> moves (that of a model that predicts no motion)
    errors = mean_m_errors(model, sp4_store, sp4_store.complete)
    true_mean = sp4_store.mean_m(sp4_store.complete)
    motion = np.abs(true_mean - true_mean[:, :1]).max(axis=(1, 2))
    assert errors.mean() < 0.5 * motion.mean(), (errors, motion)
    assert model.random_state_ == 0
    assert model.describe().startswith("PCALinearSurrogate ")
    loaded = load(model.save(tmp_path / "linear.npz"))
    assert type(loaded) is PCALinearSurrogate
    assert loaded.model_id == model.model_id
    assert np.array_equal(loaded.predict(sp4_store.fields).m, prediction.m)
    # continuing a prediction: one of 2 x 10 steps is the one of 20
    first = model.predict(sp4_store.fields[:2], n=10, t=1e-10)
    rest = model.predict(sp4_store.fields[:2], n=10, t=1e-10, after=first)
    whole = model.predict(sp4_store.fields[:2])
    assert np.allclose(rest.latent[:, -1], whole.latent[:, -1], atol=1e-12)


def test_a_kind_of_ones_own_drives_systems(sp4_store, linear_model, tmp_path):
    system = linear_model.system(name="own_kind")
    system.energy += mm.Zeeman(H=sp4_store.fields[0] / (4e-7 * np.pi))  # A/m
    driver = SurrogateDriver(model=linear_model)
    driver.drive(system, t=1e-10, n=10, dirname=tmp_path)
    driver.drive(system, t=1e-10, n=10, dirname=tmp_path)  # continues
    drive = md.Data("own_kind", dirname=tmp_path)[-1]
    assert drive.n == 10 and drive.info["model_kind"] == "test-pca-linear"
    assert drive.info["model_id"] == linear_model.model_id
    expected = linear_model.predict(sp4_store.fields[:1]).mean_m()[0, -1]
    final = system.table.data[["mx", "my", "mz"]].iloc[-1].to_numpy()
    assert np.allclose(final, expected, atol=1e-5)


def test_a_file_of_an_unregistered_kind_names_the_module_to_import(
    linear_model, tmp_path, monkeypatch
):
    path = linear_model.save(tmp_path / "linear.npz")
    monkeypatch.delitem(_REGISTRY, "test-pca-linear")  # as in a fresh process
    with pytest.raises(ValueError, match="not registered in this process") as error:
        load(path)
    assert "the file names the module 'test_model_kinds'" in str(error.value)
    assert "damaged" not in str(error.value)


def test_register_refuses_what_would_load_as_the_wrong_class(sp4_store, tmp_path):
    with pytest.raises(TypeError, match="takes a SurrogateModel subclass"):
        register(LinearStep)
    with pytest.raises(TypeError, match=r"does not implement \['_from_state'"):

        @register
        class Unfinished(SurrogateModel):
            kind = "test-unfinished"

            def fit(self, dataset, samples=None):
                return self

    with pytest.raises(ValueError, match="needs a kind of its own.*'kernel'"):

        @register
        class Quicker(KernelSurrogate):
            pass

    with pytest.raises(ValueError, match="'kernel' is ubermag_surrogate"):

        @register
        class Other(PCALinearSurrogate):
            kind = "kernel"

    assert _REGISTRY["kernel"] is KernelSurrogate

    def define():  # a notebook cell that defines and registers a kind
        @register
        class Rerun(PCALinearSurrogate):
            kind = "test-rerun"

        return Rerun

    before = define()
    fitted = before(n_components=4).fit(sp4_store)
    after = define()  # the cell run again: the same class, defined anew
    try:
        assert _REGISTRY["test-rerun"] is after is not before
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the file loads as that class
            path = fitted.save(tmp_path / "rerun.npz")
        assert type(load(path)) is after
    finally:
        _REGISTRY.pop("test-rerun")

    class Unregistered(PCALinearSurrogate):
        pass

    model = Unregistered().fit(sp4_store)
    with pytest.warns(UserWarning, match="loads as PCALinearSurrogate"):
        model.save(tmp_path / "subclass.npz")


def test_arrays_a_file_cannot_hold_are_refused_when_saving(linear_model, tmp_path):
    model = PCALinearSurrogate()
    model.__dict__.update(linear_model.__dict__)
    model.mean_ = linear_model.mean_.copy()
    model.mean_[0] = np.nan
    with pytest.raises(ValueError, match="'pca.mean': it holds NaN"):
        model.save(tmp_path / "nan.npz")
    model.mean_ = linear_model.mean_ > 0  # bool
    with pytest.raises(ValueError, match="'pca.mean' of dtype bool"):
        model.save(tmp_path / "bool.npz")
    assert not list(tmp_path.iterdir())  # nothing written
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linear_model.save(tmp_path / "fine.npz")  # a registered kind: no warning
