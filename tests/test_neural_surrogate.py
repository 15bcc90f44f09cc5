"""The neural surrogate: dense networks, autoencoder, latent integrator, the model."""

import copy
import importlib.util
import json
import os
import random
import subprocess
import sys
import warnings

import micromagneticdata as md
import numpy as np
import pytest
from helpers import SP4_NEURAL_PARAMS, damped_rotations

from ubermag_surrogate import SurrogateDriver
from ubermag_surrogate.cli import main
from ubermag_surrogate.integration import LatentNetworkIntegrator
from ubermag_surrogate.models import NeuralSurrogate, load, select_hyperparameters
from ubermag_surrogate.neural import DenseAutoencoder, DenseStack
from ubermag_surrogate.neural import autoencoder as autoencoder_module
from ubermag_surrogate.neural.dense import (
    dense_layers,
    import_keras,
    interrupts_stop_fits,
    train,
)
from ubermag_surrogate.problems import sp4


def _mean_m(m):
    """<m> over cells of unit states ``(..., 3N)``."""
    return m.reshape(*m.shape[:-1], 3, -1).mean(axis=-1)


def _small_network(keras, n_in=4, dropout=0.3):
    layers = [
        *dense_layers(keras, (7, 5), dropout, {0, 1}, "hidden"),
        keras.layers.Dense(3, name="out"),
    ]
    return layers, keras.Sequential([keras.Input((n_in,)), *layers])


def test_dense_stack_evaluates_the_keras_network():
    keras = import_keras()
    keras.utils.set_random_seed(1)
    layers, net = _small_network(keras)
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(net(x, training=False))
    stack = DenseStack.from_keras(layers)
    assert stack.activations == ["elu", "elu", "linear"]
    assert (stack.n_inputs, stack.n_outputs) == (4, 3)
    assert (x @ stack.kernels[0] + stack.biases[0] < 0).any()  # elu's negative branch
    np.testing.assert_allclose(stack(x), expected, rtol=1e-5, atol=1e-6)
    as64 = DenseStack.from_keras(layers, dtype=np.float64)
    assert as64(x).dtype == np.float64
    np.testing.assert_allclose(as64(x), expected, rtol=1e-5, atol=1e-6)
    again = DenseStack.from_arrays(stack.to_arrays("net"), "net")
    assert np.array_equal(again(x), stack(x))


def test_interrupted_training_keeps_the_weights_reached():
    keras = import_keras()
    keras.utils.set_random_seed(2)
    layers, net = _small_network(keras, dropout=0.0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 3)).astype(np.float32)
    before = DenseStack.from_keras(layers)(x)

    class CtrlC(keras.callbacks.Callback):  # what Ctrl-C raises, after 2 epochs
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted after 2 of 50 epochs"):
        losses, interrupted = train(
            net, x, y, epochs=50, batch_size=8, learning_rate=1e-2, desc="test",
            verbose=0, callbacks=[CtrlC()],
        )  # fmt: skip
    assert len(losses) == 2 and interrupted
    assert not np.allclose(DenseStack.from_keras(layers)(x), before)

    class CtrlCAtOnce(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # nothing trained yet: nothing to keep
        train(
            net, x, y, epochs=5, batch_size=8, learning_rate=1e-2, desc="test",
            verbose=0, callbacks=[CtrlCAtOnce()],
        )  # fmt: skip
    # many fits (a hyper-parameter search): Ctrl-C stops, weights or not
    with interrupts_stop_fits(), pytest.raises(KeyboardInterrupt):
        train(
            net, x, y, epochs=50, batch_size=8, learning_rate=1e-2, desc="test",
            verbose=0, callbacks=[CtrlC()],
        )  # fmt: skip
    _, interrupted = train(
        net, x, y, epochs=2, batch_size=8, learning_rate=1e-2, desc="test",
        verbose=0,
    )  # fmt: skip
    assert not interrupted


def test_integrator_windows_pad_the_history_and_look_ahead():
    integrator = LatentNetworkIntegrator(nu=3)
    integrator.horizon_, integrator.latent_scale_, integrator.nu_ = 4, 2.0, 3
    integrator.field_columns_ = np.array([0])
    integrator.field_mean_, integrator.field_scale_ = np.zeros(1), np.ones(1)
    latent = np.arange(2 * 7 * 2, dtype=float).reshape(2, 7, 2)
    fields = np.array([[1.0, 0, 0], [2.0, 0, 0]])
    h, history, future = integrator.windows(latent, fields)
    assert (
        h.shape == (6, 1) and history.shape == (6, 3, 2) and future.shape == (6, 4, 2)
    )
    c = latent / 2.0
    np.testing.assert_array_equal(h[:, 0], [1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(history[0], c[0, [0, 0, 0]])  # before t = 0: c^0
    np.testing.assert_array_equal(history[2], c[0, [0, 1, 2]])
    np.testing.assert_array_equal(history[4], c[1, [0, 0, 1]])
    np.testing.assert_array_equal(future[0], c[0, 1:5])
    np.testing.assert_array_equal(future[5], c[1, 3:7])


def test_integrator_learns_latent_dynamics_across_fields():
    latent, fields = damped_rotations(n_fields=20, n_times=31)
    integrator = LatentNetworkIntegrator(
        nu=3, hidden=(32, 32), horizon=5, epochs=60, learning_rate=5e-3,
        batch_size=64, dropout=0.0,
    ).fit(latent, fields)  # fmt: skip
    assert integrator.horizon_ == 5 and len(integrator.loss_) == 60
    assert integrator.loss_[-1] < 0.01 * integrator.loss_[0]
    for lat, f in (
        (latent, fields),
        damped_rotations(n_fields=10, n_times=31, seed=1),  # fields not trained on
    ):
        out = integrator.rollout(lat[:, 0], f, lat.shape[1] - 1)
        error = np.abs(out - lat).max(axis=(1, 2))
        standing_still = np.abs(lat - lat[:, :1]).max(axis=(1, 2))
        assert error.mean() < 0.2 * standing_still.mean()  # about 0.04-0.09 vs 0.8
    # the horizon is capped at the trained steps
    short = LatentNetworkIntegrator(hidden=(4,), horizon=15, epochs=1)
    assert short.fit(latent[:, :6], fields).horizon_ == 5


def test_integrator_dropout_acts_in_training_only():
    # Keras passes training=True only to a call() that takes it: the rollout
    # model's did not, and its step network trained without dropout
    latent, fields = damped_rotations(n_fields=6, n_times=16)

    def losses(dropout):
        return LatentNetworkIntegrator(
            nu=2, hidden=(16,), horizon=3, epochs=3, dropout=dropout,
            learning_rate=1e-2, random_state=5,
        ).fit(latent, fields)  # fmt: skip

    none, some, much = losses(0.0), losses(0.3), losses(0.9)
    assert none.loss_ != some.loss_ != much.loss_
    # prediction without dropout: repeatable
    c0 = latent[:, 0]
    assert np.array_equal(much.rollout(c0, fields, 10), much.rollout(c0, fields, 10))


def test_an_interrupted_first_check_keeps_the_weights_reached():
    latent, fields = damped_rotations(n_fields=6, n_times=16)
    calls = []

    def score(candidate):  # Ctrl-C during the first held-out check
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return 0.1

    with pytest.warns(UserWarning, match="interrupted after 3 of 9 epochs"):
        integrator = LatentNetworkIntegrator(
            nu=2, hidden=(8,), horizon=3, epochs=9, validation_interval=3,
        ).fit(latent, fields, score=score)  # fmt: skip
    assert integrator.best_epoch_ == 3 and integrator.validation_scores_ == [(3, 0.1)]


def test_integrator_keeps_the_weights_that_score_best():
    latent, fields = damped_rotations(n_fields=6, n_times=16)
    seen, scores = [], iter([np.nan, 0.2, 0.5])  # epochs 3, 6 and the last, 7

    def score(candidate):
        seen.append(candidate.network_.kernels[0].copy())
        return next(scores)

    integrator = LatentNetworkIntegrator(
        nu=2, hidden=(8,), horizon=3, epochs=7, validation_interval=3,
        learning_rate=1e-2,
    ).fit(latent, fields, score=score)  # fmt: skip
    assert integrator.validation_scores_ == [(3, np.inf), (6, 0.2), (7, 0.5)]
    assert integrator.best_epoch_ == 6
    assert np.array_equal(integrator.network_.kernels[0], seen[1])
    assert not np.array_equal(seen[1], seen[2])  # the last epoch's are not kept
    # patience 2: training stops after two checks in a row without improvement
    scores = iter([0.5, 0.3, 0.4, 0.35, 0.1])
    patient = LatentNetworkIntegrator(
        nu=2, hidden=(8,), horizon=3, epochs=20, validation_interval=2,
        validation_patience=2,
    ).fit(latent, fields, score=lambda candidate: next(scores))  # fmt: skip
    assert len(patient.loss_) == 8 and patient.best_epoch_ == 4
    assert [e for e, _ in patient.validation_scores_] == [2, 4, 6, 8]
    # without a score: the last epoch's weights, no checks
    plain = LatentNetworkIntegrator(nu=2, hidden=(8,), horizon=3, epochs=2)
    plain.fit(latent, fields)
    assert plain.validation_scores_ == [] and plain.best_epoch_ == 2


def test_held_out_fields_choose_the_integrator_weights(sp4_store, tmp_path):
    params = {**SP4_NEURAL_PARAMS, "autoencoder_epochs": 20, "integrator_epochs": 50}
    model = NeuralSurrogate(
        **params, validation_fraction=0.25, validation_interval=20
    ).fit(sp4_store)
    held_out = model.validation_samples_
    assert len(held_out) == 2 and len(model.training_fields_) == 6
    trained = {tuple(f) for f in model.training_fields_}
    assert not trained & {tuple(f) for f in sp4_store.fields[held_out]}
    integrator = model.integrator_
    epochs, scores = zip(*integrator.validation_scores_, strict=True)
    assert epochs == (20, 40, 50)
    assert integrator.best_epoch_ == epochs[int(np.argmin(scores))]
    # the kept weights are the best-scored ones, the score the held-out <m> error
    truth = _mean_m(sp4_store.tensor(held_out, field_components=()).swapaxes(0, 1))
    predicted = model.predict(sp4_store.fields[held_out]).mean_m()
    error = np.abs(predicted - truth).max(axis=(1, 2)).mean()
    np.testing.assert_allclose(error, min(scores), rtol=1e-6)
    loaded = load(model.save(tmp_path / "neural.npz"))
    assert np.array_equal(loaded.validation_samples_, held_out)
    assert loaded.integrator_.validation_scores_ == integrator.validation_scores_
    assert loaded.integrator_.best_epoch_ == integrator.best_epoch_


def test_hyperparameter_selection_takes_the_neural_surrogate(sp4_store):
    params = {**SP4_NEURAL_PARAMS, "autoencoder_epochs": 20}
    result = select_hyperparameters(
        NeuralSurrogate(**params),
        sp4_store,
        {"integrator_epochs": [1, 60]},
        validation_fraction=0.25,
        refit=False,
        verbose=False,
    )
    errors = {row["params"]["integrator_epochs"]: row["error"] for row in result.table}
    # one epoch has not learned the dynamics: it must lose
    assert result.best_params["integrator_epochs"] == 60 and errors[60] < errors[1]


def test_autoencoder_reconstructs_the_training_states(sp4_store, sp4_neural_model):
    states = sp4_store.tensor(field_components=())
    n_times, n_fields, three_n = states.shape
    X = states.reshape(-1, three_n)
    rows = np.broadcast_to(sp4_store.fields[:], (n_times, n_fields, 3)).reshape(-1, 3)
    ae = sp4_neural_model.autoencoder_
    assert ae.n_features_in_ == three_n and len(ae.loss_) == 40
    codes = ae.transform(X, rows)
    assert codes.shape == (len(X), SP4_NEURAL_PARAMS["n_components"])
    rms = np.sqrt(((ae.inverse_transform(codes) - X) ** 2).mean())
    spread = np.sqrt(((X - X.mean(axis=0)) ** 2).mean())
    assert rms < 0.35 * spread
    # the field is an input: one state under two fields has two codes
    two = ae.transform(X[:2][[0, 0]], rows[[0, 1]])
    assert not np.allclose(two[0], two[1])
    with pytest.raises(ValueError, match="give the fields"):
        ae.transform(X[:1])
    with pytest.raises(ValueError, match="values per state"):
        ae.transform(X[:1, :-3], rows[:1])


def test_autoencoder_without_the_field_input():
    rng = np.random.default_rng(0)
    X = np.tanh(rng.normal(size=(40, 2)) @ rng.normal(size=(2, 12)))
    ae = DenseAutoencoder(
        n_components=2, hidden=(16,), field_input=False, epochs=5, batch_size=8
    ).fit(X)
    assert ae.field_columns_.size == 0
    assert ae.transform(X).shape == (40, 2)
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape
    with pytest.raises(ValueError, match="give the fields"):
        DenseAutoencoder().fit(X)


def test_fits_are_seeded_and_keep_the_callers_random_numbers():
    rng = np.random.default_rng(0)
    X = np.tanh(rng.normal(size=(40, 2)) @ rng.normal(size=(2, 12)))
    latent, fields = damped_rotations(n_fields=4, n_times=8)
    small = dict(hidden=(8,), epochs=2, batch_size=8)

    def fit_both(seed):
        ae = DenseAutoencoder(n_components=2, field_input=False, random_state=seed)
        integrator = LatentNetworkIntegrator(nu=2, horizon=2, random_state=seed)
        return (
            ae.set_params(**small).fit(X),
            integrator.set_params(**small).fit(latent, fields),
        )

    import torch  # installed with the package (README)

    keras = import_keras()

    def caller_draws():
        """Seed the caller's global generators; return a draw from each."""
        keras.utils.set_random_seed(7)  # Python's, numpy's, torch's and Keras'
        keras.random.normal((2,))  # the caller's unseeded Keras stream, under way
        return lambda: (
            np.random.random(),  # noqa: NPY002 - the caller's global generators
            random.random(),
            torch.rand(1).item(),
            *keras.ops.convert_to_numpy(keras.random.normal((2,))).tolist(),
        )

    expected = caller_draws()()
    draw = caller_draws()
    first = fit_both(3)
    if keras.backend.backend() == "torch":  # Keras seeds torch's too
        assert draw() == expected
    else:
        drawn = draw()
        assert drawn[:2] == expected[:2] and drawn[3:] == expected[3:]
    again = fit_both(3)
    draw = caller_draws()
    unseeded = fit_both(None)
    assert draw()[:3] == expected[:3]  # an unseeded fit keeps them too
    # two unseeded fits from the same global generators (as in two fresh processes,
    # where torch's starts from one fixed seed) are two fits
    caller_draws()
    other = fit_both(None)
    for a, b, c, d in zip(first, again, unseeded, other, strict=True):
        assert a.loss_ == b.loss_  # same seed, same fit
        assert a.loss_ != c.loss_ != d.loss_  # None: a seed drawn for each fit
    with pytest.raises(ValueError, match="random_state must be None or an integer"):
        DenseAutoencoder(random_state=1.5).fit(X, np.zeros((40, 3)))


def test_autoencoder_encodes_in_chunks(sp4_store, sp4_neural_model, monkeypatch):
    states = sp4_store.tensor(field_components=())[:3].reshape(-1, 3 * 500)
    fields = np.tile(sp4_store.fields[:], (3, 1))
    whole = sp4_neural_model.encode(states, fields)
    monkeypatch.setattr(autoencoder_module, "ENCODE_CHUNK", 5 * 1502)  # 5 rows
    np.testing.assert_allclose(
        sp4_neural_model.encode(states, fields), whole, rtol=1e-6, atol=1e-6
    )
    assert sp4_neural_model.encode(states[:0], fields[:0]).shape == (0, 8)


def test_predicts_the_training_trajectories(sp4_store, sp4_neural_model):
    model = sp4_neural_model
    truth = sp4_store.tensor(field_components=()).swapaxes(0, 1)
    prediction = model.predict(sp4_store.fields[:])
    assert prediction.m.shape == truth.shape
    norms = np.linalg.norm(prediction.m.reshape(*truth.shape[:2], 3, -1), axis=2)
    np.testing.assert_allclose(norms, 1, atol=1e-5)
    # t = 0 is the decoded initial state under each field
    first = model.decode(model.encode(np.tile(model.m0_, (8, 1)), sp4_store.fields[:]))
    np.testing.assert_allclose(prediction.m[:, 0], first, atol=1e-6)  # BLAS order
    error = np.abs(prediction.mean_m() - _mean_m(truth)).max(axis=(1, 2))
    standing_still = np.abs(_mean_m(truth) - _mean_m(truth[:, :1])).max(axis=(1, 2))
    assert error.mean() < 0.4 * standing_still.mean()


def test_a_continued_prediction_equals_one_prediction(sp4_store, sp4_neural_model):
    model, fields = sp4_neural_model, sp4_store.fields[:2]
    whole = model.predict(fields, n=12)
    first = model.predict(fields, n=5)
    second = model.predict(fields, n=7, after=first)
    np.testing.assert_allclose(second.latent, whole.latent[:, 5:], rtol=0, atol=1e-9)


def test_save_load_predicts_bit_identically(sp4_store, sp4_neural_model, tmp_path):
    model = sp4_neural_model
    path = model.save(tmp_path / "neural.npz")
    with np.load(path, allow_pickle=False) as data:
        assert json.loads(str(data["__metadata__"]))["kind"] == "neural"
    loaded = load(path)
    assert isinstance(loaded, NeuralSurrogate)
    assert loaded.get_params() == model.get_params()
    assert loaded.fingerprint_ == model.fingerprint_
    assert loaded.describe().startswith(model.describe())
    assert model.describe().startswith(f"NeuralSurrogate {model.model_id} (kind")
    assert loaded.model_id == model.model_id
    fields = sp4_store.fields[:3]
    assert np.array_equal(loaded.predict(fields).m, model.predict(fields).m)


def test_a_blown_up_validation_score_is_saved_and_loaded(
    sp4_store, sp4_neural_model, tmp_path
):
    # a rollout that blew up in a held-out check is recorded as inf, on purpose;
    # the file check refuses inf in what predictions use, not in this record
    model = copy.deepcopy(sp4_neural_model)
    model.integrator_.validation_scores_ = [(1, float("inf")), (2, 0.5)]
    loaded = load(model.save(tmp_path / "inf.npz"))
    assert loaded.integrator_.validation_scores_[0] == (1, float("inf"))
    fields = sp4_store.fields[:2]
    assert np.array_equal(loaded.predict(fields).m, model.predict(fields).m)


def test_a_failed_refit_leaves_the_model_whole(
    sp4_store, sp4_neural_model, monkeypatch
):
    model = copy.deepcopy(sp4_neural_model)
    fields = sp4_store.fields[:2]
    before = model.predict(fields).m

    def stopped(*args, **kwargs):  # Ctrl-C once the autoencoder is refitted
        raise KeyboardInterrupt

    monkeypatch.setattr(LatentNetworkIntegrator, "fit", stopped)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(autoencoder_epochs=2, random_state=9).fit(sp4_store)
    # the previous autoencoder and integrator, together: the same predictions
    np.testing.assert_array_equal(model.predict(fields).m, before)
    with pytest.raises(ValueError, match="not fitted yet"):
        NeuralSurrogate().encode(before[0, :1], fields[:1])


def test_drives_a_system_like_a_time_driver(sp4_neural_model, tmp_path):
    model = sp4_neural_model
    system = model.system(name="sp4_neural")
    system.energy += sp4.zeeman(model.training_fields_[2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a trained request: no extrapolation warning
        SurrogateDriver(model=model).drive(system, t=2e-10, n=10, dirname=tmp_path)
    drive = md.Data("sp4_neural", dirname=str(tmp_path))[-1]
    assert drive.n == 10
    expected = model.predict(model.training_fields_[2], t=2e-10, n=10).mean_m()[0]
    table = drive.table.data[["mx", "my", "mz"]].to_numpy()
    np.testing.assert_allclose(table, expected[1:], atol=1e-6)
    np.testing.assert_allclose(system.m.mean() / 8e5, expected[-1], atol=1e-5)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"autoencoder_hidden": ()}, "autoencoder_hidden must be a non-empty"),
        ({"integrator_hidden": (64, 0)}, "integrator_hidden must be a non-empty"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"integrator_epochs": 0}, "integrator_epochs must be a positive integer"),
        ({"horizon": 2.5}, "horizon must be a positive integer"),
        ({"learning_rate": -1e-3}, "learning_rate must be a positive"),
        ({"nu": True}, "nu must be a positive integer"),
        ({"validation_fraction": 1.0}, "validation_fraction must be in"),
        ({"validation_interval": 0}, "validation_interval must be a positive"),
        ({"validation_patience": 0}, "validation_patience must be a positive"),
        ({"random_state": -1}, "random_state must be None or an integer"),
    ],
)
def test_bad_hyperparameters_are_refused_before_training(params, match, sp4_store):
    with pytest.raises(ValueError, match=match):
        NeuralSurrogate(**params).fit(sp4_store)


def test_needs_two_samples(sp4_store):
    with pytest.raises(ValueError, match="at least 2 complete samples"):
        NeuralSurrogate().fit(sp4_store, samples=[0])


def test_cli_trains_a_neural_model(sp4_store, tmp_path, capsys):
    params = {**SP4_NEURAL_PARAMS, "autoencoder_epochs": 2, "integrator_epochs": 2}
    out = tmp_path / "neural.npz"
    argv = ["train", "--data", str(sp4_store.path), "--model", "neural"]
    argv += ["--params", json.dumps(params), "--out", str(out)]
    assert main(argv) == 0
    assert "written to" in capsys.readouterr().out
    model = load(out)
    assert model.kind == "neural" and len(model.integrator_.loss_) == 2


def test_a_keras_backend_that_is_not_installed_is_named():
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("tensorflow is installed here")
    code = "from ubermag_surrogate.neural.dense import import_keras; import_keras()"
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "Keras could not start with backend 'tensorflow'" in run.stderr


def test_selection_ranks_a_diverged_candidate_last(sp4_store):
    # a learning rate of 1e3 diverges: its NaN error won (argmin and min() take
    # NaN), and with refit=True the diverged model was what the search returned
    params = {**SP4_NEURAL_PARAMS, "autoencoder_epochs": 5, "integrator_epochs": 5}
    with pytest.warns(RuntimeWarning, match="diverged.*ranks last"):
        result = select_hyperparameters(
            NeuralSurrogate(**params),
            sp4_store,
            {"learning_rate": [1e3, 1e-3]},
            refit=False,
            verbose=False,
        )
    assert result.best_params == {"learning_rate": 1e-3}
    assert np.isfinite(result.best_error)
    with pytest.warns(RuntimeWarning), pytest.raises(ValueError, match="non-finite"):
        select_hyperparameters(
            NeuralSurrogate(**params),
            sp4_store,
            {"learning_rate": [1e3]},
            refit=False,
            verbose=False,
        )


def _ctrl_c_in_the_autoencoder(monkeypatch, after_epochs=2):
    """Make the autoencoder's training see Ctrl-C after ``after_epochs`` epochs."""
    keras = import_keras()

    class CtrlC(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == after_epochs:
                raise KeyboardInterrupt

    def with_ctrl_c(*args, **kwargs):
        return train(*args, **{**kwargs, "callbacks": [CtrlC()]})

    monkeypatch.setattr(autoencoder_module, "train", with_ctrl_c)


def test_an_interrupted_fit_is_told_by_the_model_and_its_file(
    sp4_store, sp4_neural_model, monkeypatch, tmp_path
):
    _ctrl_c_in_the_autoencoder(monkeypatch)
    with pytest.warns(UserWarning, match="interrupted after 2 of 40 epochs"):
        model = NeuralSurrogate(**SP4_NEURAL_PARAMS).fit(sp4_store)
    assert model.interrupted_training() == ["autoencoder after 2 of 40 epochs"]
    assert (
        "training interrupted (Ctrl-C): autoencoder after 2 of 40 epochs"
        in model.describe()
    )
    # the same parameters and data, trained to the end: another model, another id
    assert sp4_neural_model.interrupted_training() == []
    assert model.get_params() == sp4_neural_model.get_params()
    assert model.model_id != sp4_neural_model.model_id
    loaded = load(model.save(tmp_path / "interrupted.npz"))
    assert loaded.interrupted_training() == model.interrupted_training()
    assert loaded.model_id == model.model_id
    assert load(sp4_neural_model.save(tmp_path / "whole.npz")).model_id == (
        sp4_neural_model.model_id
    )


def test_ctrl_c_stops_a_selection_without_recording_a_part_trained_candidate(
    sp4_store, monkeypatch, tmp_path
):
    # the fit kept the weights of the interrupted network and went on: the
    # search scored and recorded a 2-epoch candidate as if whole, and went on
    _ctrl_c_in_the_autoencoder(monkeypatch)
    record = tmp_path / "selection.jsonl"
    with pytest.raises(KeyboardInterrupt) as caught:
        select_hyperparameters(
            NeuralSurrogate(**SP4_NEURAL_PARAMS), sp4_store,
            {"n_components": [4, 8]}, verbose=False, record=record,
        )  # fmt: skip
    assert "Selection interrupted after 0 candidate(s)" in str(caught.value.__notes__)
    assert not record.exists() or record.read_text() == ""


def test_neural_train_command_exits_130_after_an_interrupted_fit(
    sp4_store, monkeypatch, tmp_path, capsys
):
    # it exited 0, so `train && evaluate` went on with a part-trained model
    _ctrl_c_in_the_autoencoder(monkeypatch)
    params = {**SP4_NEURAL_PARAMS, "integrator_epochs": 2}
    params["autoencoder_hidden"] = list(params["autoencoder_hidden"])
    params["integrator_hidden"] = list(params["integrator_hidden"])
    out = tmp_path / "model.npz"
    code = main(
        ["train", "--data", str(sp4_store.path), "--kind", "neural",
         "--params", json.dumps(params), "--out", str(out)]
    )  # fmt: skip
    assert code == 130
    assert out.is_file()
    assert "Training was interrupted: autoencoder after 2 of 40 epochs" in (
        capsys.readouterr().err
    )


def test_encode_and_decode_refuse_what_they_cannot_use(sp4_neural_model):
    model = sp4_neural_model
    # None was taken as NaN fields: NaN latent codes without a word
    with pytest.raises(ValueError, match="give the fields"):
        model.encode(model.m0_, None)
    with pytest.raises(ValueError, match="NaN"):
        model.encode(model.m0_, [np.nan, 0, 0])
    with pytest.raises(ValueError, match=r"fields must be \(3,\) or \(2, 3\)"):
        model.encode(np.tile(model.m0_, (2, 1)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"latent must be \(k, 8\)"):
        model.decode(np.zeros((2, 7)))
    assert model.decode(model.encode(model.m0_, model.training_fields_[0])).shape == (
        1,
        1500,
    )


def test_training_samples_must_differ(sp4_store):
    # repeated samples (one field) failed in numpy after the autoencoder trained
    with pytest.raises(ValueError, match=r"samples \[4\] are given more than once"):
        NeuralSurrogate(**SP4_NEURAL_PARAMS).fit(sp4_store, samples=[4, 4, 4])


def test_a_horizon_the_data_capped_is_told(sp4_store):
    model = NeuralSurrogate(
        **{**SP4_NEURAL_PARAMS, "horizon": 500, "autoencoder_epochs": 1,
           "integrator_epochs": 1}
    ).fit(sp4_store)  # fmt: skip
    assert model.capped_params() == {"horizon": 20}  # the store's 20 steps
    assert "horizon=500 -> 20" in model.describe()
