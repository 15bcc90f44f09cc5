"""The kernel surrogate on real (coarse) SP4 trajectories from the embedded solver."""

import copy
import warnings

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np
import pytest
from helpers import SP4_TEST_DOMAIN, SP4_TEST_PARAMS
from IPython.lib.pretty import pretty

from ubermag_surrogate import __version__
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.data.store import TrajectoryStore
from ubermag_surrogate.models import (
    ExtrapolationWarning,
    KernelSurrogate,
    SurrogateModel,
    load,
    mean_m_errors,
)
from ubermag_surrogate.problems import Problem, sp4

DOMAIN = SP4_TEST_DOMAIN
PARAMS = SP4_TEST_PARAMS


@pytest.fixture(scope="module")
def store(sp4_store):
    return sp4_store


@pytest.fixture(scope="module")
def model(sp4_model):
    return sp4_model


def _truth(store, samples):
    return store.tensor(samples, field_components=()).transpose(1, 0, 2)


def test_rollout_recovers_the_training_trajectories(store, model):
    prediction = model.predict(store.fields)
    truth = _truth(store, store.complete)
    assert prediction.m.shape == truth.shape == (8, 21, 1500)
    assert prediction.latent.shape == (8, 21, 12)
    assert np.allclose(prediction.times, np.linspace(0, 2e-10, 21))
    true_mean = truth.reshape(8, 21, 3, 500).mean(-1)
    error = np.abs(prediction.mean_m() - true_mean).max(axis=(1, 2))
    assert error.max() < 0.05, error
    relative = np.linalg.norm(prediction.m - truth) / np.linalg.norm(truth)
    assert relative < 0.1
    # unit vectors, as requested by normalize=True
    norms = np.linalg.norm(prediction.m.reshape(8, 21, 3, 500), axis=2)
    assert np.allclose(norms, 1)


def test_preimage_reconstructs_training_states(store, model):
    states = store.tensor(field_components=()).reshape(-1, 1500)
    reconstructed = model.decode(model.encode(states))
    per_state = np.linalg.norm(reconstructed - states, axis=1) / np.linalg.norm(
        states, axis=1
    )
    assert np.median(per_state) < 0.02


def test_model_knows_what_it_was_trained_on(store, model):
    assert model.n_steps_ == 20
    assert model.dt_ == pytest.approx(1e-11)
    assert model.mesh == store.mesh
    assert model.field_domain_ == DOMAIN
    assert model.m0_.shape == (1500,)
    assert np.allclose(model.m0_, store.tensor(field_components=())[0, 0], atol=1e-6)
    assert len(model.fingerprint_) == 16
    assert isinstance(model, SurrogateModel)


def test_models_and_training_data_are_told_apart(store, model, tmp_path):
    import shutil

    from ubermag_surrogate.models.base import fingerprint

    # model_id: kind, hyper-parameters and data; fingerprint_: the data only
    assert len(model.model_id) == 16 and model.model_id != model.fingerprint_
    other = KernelSurrogate(**{**PARAMS, "integrator_rank": 151}).fit(store)
    assert other.fingerprint_ == model.fingerprint_
    assert other.model_id != model.model_id
    quiet = copy.deepcopy(model).set_params(verbose=1)  # verbose makes no model
    assert quiet.model_id == model.model_id
    # set_params after the fit changes the next fit, not what the model is
    assert copy.deepcopy(model).set_params(integrator_rank=151).model_id == (
        model.model_id
    )
    # hyper-parameters given as numpy numbers: named and saved like Python ones
    alpha = np.float32(model.integrator_alpha)
    numpy_typed = KernelSurrogate(
        **{**PARAMS, "n_components": np.int64(model.n_components)},
    ).set_params(integrator_alpha=alpha)
    as_python = KernelSurrogate(**PARAMS).set_params(integrator_alpha=float(alpha))
    assert numpy_typed.fit(store).model_id == as_python.fit(store).model_id
    assert load(numpy_typed.save(tmp_path / "numpy.npz")).n_components == (
        model.n_components
    )
    assert load(model.save(tmp_path / "m.npz")).model_id == model.model_id
    assert load(quiet.save(tmp_path / "q.npz")).model_id == model.model_id
    # the training data: another geometry with the same attributes and fields
    samples = store.complete
    copied = tmp_path / "copy.zarr"
    shutil.copytree(store.path, copied)
    same = TrajectoryStore(copied, mode="r+")
    assert fingerprint(same, samples) == model.fingerprint_
    same.update_attrs(runs=[{"date": "today"}])  # provenance only: same data
    assert fingerprint(same, samples) == model.fingerprint_
    Ms = same.group["Ms"][:]
    Ms[:10] = 0  # a notch of empty cells
    same.group["Ms"][:] = Ms
    assert fingerprint(same, samples) != model.fingerprint_


def test_fit_on_a_boolean_mask_of_samples(store):
    mask = np.zeros(store.n_samples, dtype=bool)
    mask[[1, 4, 6]] = True
    small = {**PARAMS, "n_components": 6, "embedding_rank": 30}
    small.update(preimage_rank=40, integrator_rank=40, integrator_segments=2)
    model = KernelSurrogate(**small).fit(store, samples=mask)
    np.testing.assert_array_equal(model.training_fields_, store.fields[mask])
    # numpy hyper-parameters, arrays included, are described
    assert (
        "n_components=6"
        in copy.deepcopy(model).set_params(n_components=np.int64(6)).describe()
    )


def test_save_load_predicts_bit_identically(store, model, tmp_path):
    path = model.save(tmp_path / "model.npz")
    loaded = load(path)
    assert type(loaded) is KernelSurrogate
    assert loaded.get_params() == model.get_params()
    assert loaded.fingerprint_ == model.fingerprint_
    fields = DOMAIN.sample(3, seed=11)
    a, b = model.predict(fields), loaded.predict(fields)
    assert np.array_equal(a.m, b.m)
    assert np.array_equal(a.latent, b.latent)
    # plain arrays only: readable with allow_pickle=False
    with np.load(path, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
        # the maps are kept for prediction: K[x_r]^{-1/2} W, not the r x r K^{-1/2}
        assert "integrator.0.landmark_coef" in data.files
        assert "integrator.0.normalization" not in data.files
    with pytest.raises(ValueError, match="loaded for prediction only"):
        loaded.integrator_.segments_[0].features_.transform(np.zeros((1, 62)))
    # the embedding still encodes after loading
    states = store.tensor(field_components=())[3]
    assert np.array_equal(loaded.encode(states), model.encode(states))


def test_unseeded_fits_are_models_of_their_own_that_can_be_repeated(
    store, model, tmp_path
):
    import hashlib
    import json

    # a seeded model's id is what it was before unseeded fits had a seed of their
    # own: kind, hyper-parameters and training data
    key = [model.kind, model._hyperparameters(), model.fingerprint_]
    text = json.dumps(key, sort_keys=True).encode()
    assert model.model_id == hashlib.sha256(text).hexdigest()[:16]
    assert model.random_state_ == model.random_state == 0
    unseeded = [
        KernelSurrogate(**PARAMS, random_state=None).fit(store) for _ in range(2)
    ]
    seeds = [m.random_state_ for m in unseeded]
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in seeds)
    assert seeds[0] != seeds[1]  # two landmark draws: two models, two ids
    assert unseeded[0].model_id != unseeded[1].model_id
    assert f"the seed drawn for its fit is {seeds[0]}" in unseeded[0].describe()
    # the drawn seed repeats the fit exactly
    again = KernelSurrogate(**PARAMS, random_state=seeds[0]).fit(store)
    fields = DOMAIN.sample(2, seed=3)
    assert np.array_equal(again.predict(fields).m, unseeded[0].predict(fields).m)
    # the file keeps it, and with it the id
    loaded = load(unseeded[0].save(tmp_path / "unseeded.npz"))
    assert loaded.random_state is None and loaded.random_state_ == seeds[0]
    assert loaded.model_id == unseeded[0].model_id


def test_describe_says_what_the_model_was_trained_on(store, model, tmp_path):
    text = model.describe()
    first = text.splitlines()[0]
    assert first.startswith(
        f"KernelSurrogate {model.model_id} (kind 'kernel'), hyper-parameters: "
    )
    defaults = KernelSurrogate().get_params()
    changed = {k: v for k, v in PARAMS.items() if v != defaults[k]}
    assert changed
    for name, value in PARAMS.items():
        assert (f"{name}={value!r}" in first) == (name in changed)
    assert "random_state" not in first  # left at its default
    n = store.mesh.n
    assert f"trained on {len(store.complete)} fields of problem 'sp4'" in text
    assert model.fingerprint_ in text
    assert f"mesh {n[0]} x {n[1]} x {n[2]} cells of 10 x 12.5 x 3 nm" in text
    assert "Ms 8e+05 A/m" in text and "Exchange(A=1.3e-11)" in text
    assert f"time step {model.dt_:.4g} s" in text
    assert f"({model.n_steps_} steps)" in text
    low, high = DOMAIN.magnitude
    assert f"|mu0 H| {low:g}-{high:g} mT" in text
    covered = DOMAIN.coordinates(store.fields[store.complete])
    assert f"fields cover {covered[:, 0].min():.2f}-" in text
    assert "written by" not in text  # fitted here, not loaded
    loaded = load(model.save(tmp_path / "described.npz"))
    assert loaded.describe() == f"{text}\nwritten by ubermag-surrogate {__version__}"
    with pytest.raises(ValueError, match="not fitted"):
        KernelSurrogate().describe()


def test_save_replaces_the_file_whole(model, tmp_path):
    path = model.save(tmp_path / "model.npz")
    model.save(path)  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert load(path).fingerprint_ == model.fingerprint_
    # a failed save leaves neither a partial file nor a damaged target
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory; name the model"):
        model.save(tmp_path / "folder.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.npz", "model.npz"]
    with pytest.raises(FileNotFoundError, match="the folder .*nowhere' does not exist"):
        model.save(tmp_path / "nowhere" / "model.npz")


def test_loading_refuses_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(ValueError, match="not an ubermag-surrogate model"):
        load(tmp_path / "other.npz")
    (tmp_path / "notes.txt").write_text("not a model\n")
    with pytest.raises(ValueError, match=r"not an ubermag-surrogate model \(not an"):
        load(tmp_path / "notes.txt")
    for name, content in [("empty.npz", b""), ("cut.npz", b"PK\x03\x04 cut short")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=r"\(not an \.npz archive\)"):
            load(tmp_path / name)
    np.save(tmp_path / "array.npy", np.arange(3))
    with pytest.raises(ValueError, match="a single array"):
        load(tmp_path / "array.npy")


def test_loading_a_missing_file_or_a_folder_says_what_it_found(model, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No model file at '.*nope\.npz'\.$"):
        load(tmp_path / "nope.npz")
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"is a folder, not a model file"):
        load(folder)
    model.save(folder / "sp4_kernel.npz")
    with pytest.raises(IsADirectoryError, match=r"it holds sp4_kernel\.npz"):
        load(folder)


def test_predict_from_a_given_initial_state(store, model):
    m0 = store.tensor(field_components=())[5, 0]  # a later state as start
    with pytest.warns(ExtrapolationWarning, match=r"differs from .* by 0\.\d+ \(RMS"):
        prediction = model.predict(store.fields[:2], m0=m0, n=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the trained state, given explicitly
        model.predict(store.fields[:2], m0=model.m0_, n=5)
    assert prediction.m.shape == (2, 6, 1500)
    assert np.linalg.norm(prediction.m[0, 0] - m0) / np.linalg.norm(m0) < 0.05
    field = model.to_field(prediction.m[0, -1])
    assert field.mesh == store.mesh
    assert np.allclose(field.norm.array, 8e5)


def test_initial_state_of_any_length_is_normalised(store, model):
    fields = store.fields[:2]
    m0 = store.tensor(field_components=())[0, 0].astype(np.float64)
    reference = model.predict(fields, m0=m0, n=5).latent
    as_magnetisation = model.predict(fields, m0=8e5 * m0, n=5).latent  # A/m
    as_field = model.predict(fields, m0=model.to_field(m0), n=5).latent
    np.testing.assert_allclose(as_magnetisation, reference, atol=1e-9)
    np.testing.assert_allclose(as_field, reference, atol=1e-9)


def test_extrapolation_warns_and_says_by_how_much(model):
    with pytest.warns(ExtrapolationWarning, match=r"furthest by \(5 mT"):
        model.predict([[-0.045, 0, 0]])
    with pytest.warns(
        ExtrapolationWarning,
        match=r"up to .* \(30 steps\), 10 steps \(.* s\) beyond the trained horizon",
    ):
        model.predict(DOMAIN.sample(1, seed=2), n=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(DOMAIN.sample(2, seed=3))


def test_without_a_recorded_domain_the_training_fields_guard(model):
    # a store made by generate(...) without domain=: no field domain recorded
    unrecorded = copy.copy(model)
    unrecorded.field_domain_ = None
    assert unrecorded.training_domain().name == "training fields"
    low, high = model.training_fields_.min(axis=0), model.training_fields_.max(axis=0)
    assert (
        "no field domain recorded: predictions warn outside the fields' box "
        f"[{low[0] * 1e3:.4g}, {high[0] * 1e3:.4g}] x"
    ) in unrecorded.describe()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unrecorded.predict(model.training_fields_)
    below = model.training_fields_.min(axis=0) - (0.005, 0, 0)
    with pytest.warns(ExtrapolationWarning, match=r"'training fields' \(\[-") as w:
        unrecorded.predict([below])
    assert "furthest by (5 mT, 0 mT, 0 mT)" in str(w[0].message)


def test_a_component_constant_in_training_is_said_to_be_ignored(model):
    in_plane = model.training_fields_[:1]
    tilted = in_plane + (0, 0, 0.02)  # Bz = 20 mT; every training field had Bz = 0
    with pytest.warns(ExtrapolationWarning, match="does not take Bz as an input"):
        prediction = model.predict(tilted, n=5)
    # indeed: the same prediction as without Bz
    np.testing.assert_array_equal(
        prediction.latent, model.predict(in_plane, n=5).latent
    )
    with pytest.warns(ExtrapolationWarning) as w:  # outside in Bx only
        model.predict([[-0.045, 0, 0]], n=5)
    assert "does not take" not in str(w[0].message)


def test_a_prediction_continued_after_another_equals_one_prediction(model):
    fields = DOMAIN.sample(3, seed=4)
    dt = model.dt_
    whole = model.predict(fields, t=20 * dt, n=10)  # outputs every 2 steps
    first = model.predict(fields, t=6 * dt, n=3)
    second = model.predict(fields, t=14 * dt, n=7, after=first)
    # to round-off: the history is kept unscaled and scaled again
    np.testing.assert_allclose(second.latent, whole.latent[:, 3:], rtol=0, atol=1e-12)
    np.testing.assert_allclose(second.times, np.arange(8) * 2 * dt)  # from 0 again
    assert second.end_step == 20
    # past the trained horizon counted from the first prediction's start
    with pytest.warns(ExtrapolationWarning, match="since the first prediction"):
        model.predict(fields, t=model.n_steps_ * dt, after=first)
    with pytest.raises(ValueError, match="other fields"):
        model.predict(fields[:2], t=2 * dt, after=first)
    with pytest.raises(ValueError, match="either m0 or after"):
        model.predict(fields, m0=model.m0_, t=2 * dt, after=first)
    with pytest.raises(TypeError, match="after must be a Prediction"):
        model.predict(fields, t=2 * dt, after=first.latent)
    other = copy.copy(model)
    with pytest.raises(ValueError, match="another model"):
        other.predict(fields, t=2 * dt, after=first)


def test_time_far_beyond_the_horizon_is_refused_before_any_work(model):
    horizon = model.n_steps_ * model.dt_
    with pytest.warns(ExtrapolationWarning, match="beyond the trained horizon"):
        assert len(model.predict(DOMAIN.sample(1, seed=2), t=100 * horizon).times)
    # t in ns instead of s: 1e9 times the horizon, 1e11 steps, refused at once
    with pytest.raises(ValueError, match="times the trained horizon") as exc:
        model.predict(DOMAIN.sample(1, seed=2), t=1.0, n=100)
    assert "1 ns is 1e-9" in str(exc.value)
    with pytest.raises(ValueError, match="times the trained horizon"):
        model.predict(DOMAIN.sample(1, seed=2), n=100 * model.n_steps_ + 1)


def test_field_sensitivity_is_the_largest_change_under_small_field_moves(model):
    fields = DOMAIN.sample(3, seed=5)
    at_edge = [[-0.040, 0, 0]]  # 40 mT at 180 deg: two of its moves leave the domain
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sensitivity = model.field_sensitivity(np.vstack([fields, at_edge]), n=10)
    assert sensitivity.shape == (4,)
    # the same from public predictions of the moved fields (batched differently:
    # round-off of the float32 states differs)
    moved = DOMAIN.neighbours(fields)
    base = model.predict(fields, n=10).mean_m()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for i in range(3):
            changes = model.predict(moved[i], n=10).mean_m() - base[i]
            assert sensitivity[i] == pytest.approx(np.abs(changes).max(), abs=1e-6)
    # a smooth model changes in proportion to small moves: twice the step, about
    # twice the change
    ratio = model.field_sensitivity(fields, step=0.01, n=10) / sensitivity[:3]
    assert np.all((ratio > 1.6) & (ratio < 2.4)), ratio
    with pytest.warns(ExtrapolationWarning, match="outside the training domain"):
        model.field_sensitivity([[-0.045, 0, 0]], n=10)
    # a prediction the caller already has is reused: the same numbers
    prediction = model.predict(fields, n=10)
    reused = model.field_sensitivity(fields, n=10, prediction=prediction)
    np.testing.assert_array_equal(reused, model.field_sensitivity(fields, n=10))
    with pytest.raises(ValueError, match="other fields"):
        model.field_sensitivity(fields[:2], n=10, prediction=prediction)
    with pytest.raises(ValueError, match="prediction has 11 outputs"):
        model.field_sensitivity(fields, n=5, prediction=prediction)
    with pytest.raises(ValueError, match="step"):
        model.field_sensitivity(fields, step=2)
    with pytest.raises(ValueError, match="not fitted"):
        KernelSurrogate().field_sensitivity(fields)


def test_field_sensitivity_without_a_domain_moves_within_the_training_box(
    model, tmp_path
):
    copy = load(model.save(tmp_path / "model.npz"))
    copy.field_domain_ = None
    fields = DOMAIN.sample(2, seed=6)
    sensitivity = copy.field_sensitivity(fields, n=10)
    # Bx and By moved by 0.5 % of the training fields' ranges (Bz is always 0)
    low, high = model.training_fields_.min(0), model.training_fields_.max(0)
    moves = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0]]) * 0.005
    base = copy.predict(fields, n=10).mean_m()
    for i in range(2):
        moved = fields[i] + moves * (high - low)
        changes = copy.predict(moved, n=10).mean_m() - base[i]
        assert sensitivity[i] == pytest.approx(np.abs(changes).max(), abs=1e-6)
    assert np.all(sensitivity > 0)
    copy.training_fields_ = copy.training_fields_[:1]  # nothing to move along
    with pytest.raises(ValueError, match="single field"):
        copy.field_sensitivity(fields, n=10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fields": [[1, 2]]}, "fields must be"),
        ({"fields": [[np.nan, 0, 0]]}, "non-finite"),
        ({"fields": [sp4.FIELD2], "n": 0}, "positive integer"),
        ({"fields": [sp4.FIELD2], "m0": np.zeros(7)}, "3N"),
        ({"fields": [sp4.FIELD2], "m0": np.zeros(1500)}, "zero vectors"),
        ({"fields": [sp4.FIELD2], "m0": np.full(1500, np.nan)}, "non-finite"),
        ({"fields": [["a", "b", "c"]]}, "array of numbers"),
        ({"fields": np.zeros((0, 3))}, "No fields given"),
        ({"fields": [[-28000.0, -5000.0, 0]]}, r"2.84e\+04 T, above 100 T"),
    ],
)
def test_bad_prediction_requests(model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        model.predict(**kwargs)


def test_unfitted_model_refuses(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        KernelSurrogate().predict([sp4.FIELD2])
    with pytest.raises(ValueError, match="fitted"):
        KernelSurrogate().save(tmp_path / "x.npz")
    with pytest.raises(TypeError, match="TrajectoryStore"):
        KernelSurrogate().fit(42)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_components": 2.0}, ValueError, "n_components must be a positive integer"),
        ({"embedding_gamma": "x"}, TypeError, "embedding_gamma must be a positive"),
        ({"preimage_gamma": "mean"}, ValueError, "preimage_gamma='mean'.*median"),
        ({"integrator_gamma": -1.0}, ValueError, "integrator_gamma=-1.0 must be"),
        ({"integrator_alpha": 0}, ValueError, "integrator_alpha must be a positive"),
        ({"field_weight": np.nan}, ValueError, "field_weight must be a positive"),
        ({"integrator_segment_overlap": -1}, ValueError, "overlap must be .*>= 0"),
        ({"preimage_output_rank": 0}, ValueError, "preimage_output_rank must be"),
        ({"integrator_target": "velocity"}, ValueError, "integrator_target='velo"),
        ({"landmarks": "kmeans"}, ValueError, "landmarks='kmeans' must be one of"),
        ({"random_state": 1.5}, ValueError, "random_state must be None or an int"),
        ({"n_components": 61}, ValueError, "n_components=61 exceeds embedding_rank=60"),
        (
            {"n_components": 200, "embedding_rank": 400},
            ValueError,
            r"hold 168 states \(8 fields x 21 outputs.*fewer than n_components=200",
        ),
    ],
)
def test_bad_hyperparameters_are_refused_by_their_names(store, params, error, match):
    model = KernelSurrogate(**{**PARAMS, **params})
    with pytest.raises(error, match=match):
        model.fit(store)
    assert not hasattr(model, "fingerprint_")


def test_hyperparameter_selection_picks_by_validation_error(store):
    from ubermag_surrogate.models import select_hyperparameters, split_samples

    train, validation = split_samples(store, 0.25, seed=1)
    assert len(validation) == 2 and len(train) == 6
    assert not set(train) & set(validation)
    result = select_hyperparameters(
        KernelSurrogate(**PARAMS),
        store,
        {"integrator_alpha": [1e-8, 10.0], "n_components": [4, 12]},
        validation_fraction=0.25,
        seed=1,
        verbose=False,
    )
    # four candidates, one of them twice ({alpha 1e-8, n_components 12}): 3 fits
    assert len(result.table) == 3
    assert not any(row["recorded"] for row in result.table)
    # a huge ridge flattens the dynamics: it must lose
    assert result.best_params["integrator_alpha"] == 1e-8
    errors = {tuple(r["params"].items()): r["error"] for r in result.table}
    assert result.best_error == min(errors.values())
    assert result.model.fingerprint_  # refitted on all samples
    assert str(result).startswith(f"Best of 3 candidates: {result.best_params}")
    assert "model: refitted on all samples" in str(result)
    # Jupyter shows the table; repr is one line (not the model and table dumped)
    assert pretty(result) == str(result)
    assert repr(result) == (
        f"SelectionResult(best error {result.best_error:.4g} of 3 candidates: "
        f"{result.best_params})"
    )


def test_selection_records_and_resumes(store, tmp_path):
    from ubermag_surrogate.models import select_hyperparameters

    record = tmp_path / "selection.jsonl"
    grid = {"integrator_alpha": [1e-8, 1e-4]}
    kwargs = dict(validation_fraction=0.25, refit=False, verbose=False, record=record)
    first = select_hyperparameters(KernelSurrogate(**PARAMS), store, grid, **kwargs)
    assert len(record.read_text().splitlines()) == 2
    # an interruption mid-write leaves a cut-short last line
    with open(record, "a") as f:
        f.write('{"key": "abc", "err')
    again = select_hyperparameters(KernelSurrogate(**PARAMS), store, grid, **kwargs)
    assert all(row["recorded"] for row in again.table)
    assert [r["error"] for r in again.table] == [r["error"] for r in first.table]
    assert again.best_params == first.best_params
    # another split or other fixed parameters are not read back; the record grows
    other = select_hyperparameters(
        KernelSurrogate(**{**PARAMS, "nu": 3}), store, grid, **kwargs
    )
    assert not any(row["recorded"] for row in other.table)
    lines = record.read_text().splitlines()  # the cut-short line was dropped
    assert len(lines) == 4 and all(line.endswith("}") for line in lines)
    record.write_text("not json\n" + record.read_text())
    with pytest.raises(ValueError, match="line 1 is not a selection record"):
        select_hyperparameters(KernelSurrogate(**PARAMS), store, grid, **kwargs)
    # a complete last line that is no record is refused, not skipped
    record.write_text("\n".join(lines) + '\n{"foo": 1}\n')
    with pytest.raises(ValueError, match="line 5 is not a selection record"):
        select_hyperparameters(KernelSurrogate(**PARAMS), store, grid, **kwargs)
    # numpy values are the same candidates as Python's
    record.write_text("\n".join(lines) + "\n")
    numpy_grid = {"integrator_alpha": np.array([1e-8, 1e-4])}
    again = select_hyperparameters(
        KernelSurrogate(**PARAMS), store, numpy_grid, **kwargs
    )
    assert all(row["recorded"] for row in again.table)


def test_selection_refuses_a_bad_grid_value_before_any_fit(store, tmp_path):
    # the bad value came after four fits, whose results were then lost
    from ubermag_surrogate.models import select_hyperparameters

    record = tmp_path / "selection.jsonl"
    grid = {"integrator_alpha": [1e-6, 1e-4], "integrator_gamma": [0.01, -1.0]}
    for strategy in ("coordinate", "grid"):
        with pytest.raises(ValueError, match="integrator_gamma=-1.0") as info:
            select_hyperparameters(
                KernelSurrogate(**PARAMS), store, grid, strategy=strategy, record=record
            )
        assert "no fit was run" in str(info.value.__notes__)
        assert not record.exists()
    # a value invalid beside every other grid value is refused up front, one
    # valid beside another (a larger embedding_rank) is not
    wide = KernelSurrogate(**{**PARAMS, "n_components": PARAMS["embedding_rank"]})
    narrower = {"embedding_rank": [PARAMS["embedding_rank"] - 1]}
    with pytest.raises(ValueError, match="exceeds embedding_rank"):
        select_hyperparameters(wide, store, narrower)
    # in the search, a combination that is invalid is skipped with a warning
    with pytest.warns(UserWarning, match="Skipped the candidate"):
        result = select_hyperparameters(
            KernelSurrogate(**PARAMS),
            store,
            {"embedding_rank": [60, 20], "n_components": [12, 40]},
            strategy="grid",
            refit=False,
            verbose=False,
        )
    errors = {tuple(r["params"].values()): r["error"] for r in result.table}
    assert errors[(20, 40)] == float("inf") and np.isfinite(result.best_error)
    from ubermag_surrogate.models.selection import _check_candidates

    _check_candidates(
        KernelSurrogate(**PARAMS),
        {
            "embedding_rank": [PARAMS["embedding_rank"], 2 * PARAMS["embedding_rank"]],
            "n_components": [PARAMS["embedding_rank"] + 1],
        },
    )


def test_selection_refuses_unknown_parameters(store):
    from ubermag_surrogate.models import select_hyperparameters

    with pytest.raises(ValueError, match="Unknown parameters"):
        select_hyperparameters(KernelSurrogate(), store, {"depth": [1]})
    # one value where a list of values to try is asked for
    with pytest.raises(TypeError, match=r"must be a list of values to try .*e\.g\."):
        select_hyperparameters(KernelSurrogate(), store, {"integrator_alpha": 1e-4})
    with pytest.raises(TypeError, match="in order"):  # a set has no order
        select_hyperparameters(KernelSurrogate(), store, {"nu": {3, 5}})
    with pytest.raises(ValueError, match="grid is empty"):
        select_hyperparameters(KernelSurrogate(), store, {})
    with pytest.raises(FileNotFoundError, match="nowhere' does not exist"):
        select_hyperparameters(
            KernelSurrogate(), store, {"nu": [3]}, record="nowhere/r.jsonl"
        )
    with pytest.raises(TypeError, match="list of values"):
        select_hyperparameters(KernelSurrogate(), store, {"landmarks": "kmeans++"})
    with pytest.raises(ValueError, match="at least one value"):
        select_hyperparameters(KernelSurrogate(), store, {"integrator_alpha": []})


def test_a_prediction_shows_its_shape_not_its_arrays(model):
    prediction = model.predict(DOMAIN.sample(2, seed=4), t=1e-10, n=10)
    d = model.n_components
    assert repr(prediction) == (
        f"Prediction(2 fields, 11 times from 0 to 1e-10 s, {d} latent dimensions, "
        "magnetisation not decoded yet)"
    )
    assert prediction.m.shape == (2, 11, 3 * model.Ms_.size)
    assert repr(prediction).endswith("magnetisation decoded)")


def test_time_and_outputs_like_a_time_driver(model):
    field = DOMAIN.sample(1, seed=4)
    full = model.predict(field)
    assert full.m.shape[1] == 21
    every_other = model.predict(field, t=2e-10, n=10)
    assert np.allclose(every_other.times, np.linspace(0, 2e-10, 11))
    assert np.array_equal(every_other.latent, full.latent[:, ::2])
    # decoded in batches of another size: equal up to float32 round-off
    assert np.allclose(every_other.m, full.m[:, ::2], rtol=0, atol=1e-6)
    shorter = model.predict(field, t=5e-11)
    assert np.allclose(shorter.times, np.linspace(0, 5e-11, 6))
    with pytest.raises(ValueError, match="not a whole multiple"):
        model.predict(field, t=1e-10, n=7)
    with pytest.raises(ValueError, match="positive time"):
        model.predict(field, t=-1e-9)
    with pytest.raises(TypeError, match="time in seconds"):
        model.predict(field, t="1 ns")


def test_mean_m_decodes_in_chunks_without_keeping_the_states(model, monkeypatch):
    import ubermag_surrogate.models.base as base

    fields = DOMAIN.sample(5, seed=5)
    monkeypatch.setattr(base, "_DECODE_CHUNK", 40)  # two trajectories at a time
    lazy = model.predict(fields)
    means = lazy.mean_m()
    assert "m" not in lazy.__dict__  # nothing kept
    eager = model.predict(fields)
    states = eager.m.reshape(5, 21, 3, 500).astype(np.float64)
    assert np.allclose(means, states.mean(axis=-1), rtol=0, atol=1e-6)
    assert np.allclose(eager.mean_m(), means, rtol=0, atol=1e-6)


def _notched_film():
    """A 100 x 50 x 3 nm film with a notch of empty cells (Ms = 0), 20 x 10 x 1."""
    mesh = df.Mesh(p1=(0, 0, 0), p2=(100e-9, 50e-9, 3e-9), cell=(5e-9, 5e-9, 3e-9))

    def Ms(point):
        x, y, _ = point
        return 0 if (40e-9 < x < 60e-9 and y > 30e-9) else 8e5

    system = mm.System(name="notch")
    system.energy = mm.Exchange(A=1.3e-11) + mm.Demag()
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.02)
    system.m = df.Field(mesh, nvdim=3, value=(1, 0.25, 0.1), norm=Ms, valid="norm")
    return system


def test_a_film_with_empty_cells_trains_and_scores_over_magnetic_cells(tmp_path):
    generate(
        Problem("notch", _notched_film, relax=False),
        DOMAIN.sample(6, method="sobol", seed=0),
        t=5e-11,
        n=5,
        calculator="embedded",
        store=tmp_path / "notch.zarr",
        workers=2,
        progress=False,
        domain=DOMAIN,
    )
    store = TrajectoryStore(tmp_path / "notch.zarr")
    empty = store.group["Ms"][:] == 0
    assert empty.sum() == 16 and len(store.complete) == 6
    model = KernelSurrogate(
        n_components=8,
        embedding_rank=30,
        preimage_rank=30,
        integrator_rank=30,
        integrator_segments=1,
    ).fit(store)
    m = model.predict(store.fields).m.reshape(6, 6, 3, -1)
    assert np.all(m[..., empty] == 0)  # empty cells stay empty
    assert np.allclose(np.linalg.norm(m[..., ~empty], axis=2), 1, atol=1e-6)
    # scored against <m> over magnetic cells; an all-cell average of the stored
    # states would be 8 % short (16 of 200 cells empty): errors of 0.079 here
    errors = mean_m_errors(model, store, store.complete)
    assert errors.max() < 0.01, errors


def test_m0_in_the_shapes_ubermag_gives_it_predicts_as_the_store_layout(store, model):
    # system.m.array (nx, ny, nz, 3) was read as [mx | my | mz] and scrambled,
    # with a warning that blamed the initial state
    field = model.to_field(model.m0_)
    reference = model.predict(store.fields[:2], n=5).latent
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the trained state: no warning
        for m0 in (field, field.array, field.array.reshape(-1, 3), model.m0_):
            latent = model.predict(store.fields[:2], m0=m0, n=5).latent
            np.testing.assert_allclose(latent, reference, atol=1e-9)
    with pytest.raises(ValueError, match=r"m0 has shape \(10, 50, 1, 3\)"):
        model.predict(store.fields[:2], m0=field.array.reshape(10, 50, 1, 3), n=5)
    # a field on another mesh of as many cells
    n = model.mesh.n
    other = df.Mesh(
        p1=(0, 0, 0), p2=(n[1] * 1e-9, n[0] * 1e-9, 1e-9), n=(n[1], n[0], 1)
    )
    with pytest.raises(ValueError, match="m0 is a field on another mesh"):
        model.predict(store.fields[:2], m0=df.Field(other, nvdim=3, value=(1, 0, 0)))


def test_mean_m_of_a_long_horizon_is_decoded_a_chunk_of_states_at_a_time(model):
    # one field over many outputs was decoded as one chunk: more memory than .m
    import tracemalloc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far beyond the trained horizon
        prediction = model.predict(model.training_fields_[:1], n=2000)
    tracemalloc.start()
    mean = prediction.mean_m()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    states_bytes = 2001 * model.m0_.size * 4  # what .m would hold
    assert peak < states_bytes / 2  # before: all states at once, and more
    np.testing.assert_allclose(mean, mean_m_of(prediction.m, model.Ms_), atol=1e-6)


def mean_m_of(m, Ms):
    """<m> weighted by Ms, written plainly."""
    cells = np.asarray(m, dtype=np.float64).reshape(*m.shape[:-1], 3, len(Ms))
    return (cells * Ms).sum(axis=-1) / Ms.sum()


def test_a_sensitivity_from_a_prediction_of_another_time_is_refused(store, model):
    fields = store.fields[:2]
    horizon = model.times_[-1]
    half = model.predict(fields, t=horizon / 2, n=5)
    with pytest.raises(ValueError, match="prediction has 6 outputs up to"):
        model.field_sensitivity(fields, t=horizon, n=5, prediction=half)
    with pytest.raises(ValueError, match="times the trained horizon"):
        model.predict(fields, t=np.int64(1))  # a numpy number is a time (1 s)


def test_ranks_capped_by_the_training_data_are_told(store, model, tmp_path):
    # 8 fields x 20 steps in 10 segments of 2 steps (+-5 overlap): at most 96
    # windows per segment map, fewer than integrator_rank=150
    rows = model.integrator_.segments_[0].features_.landmarks_.shape[0]
    capped = model.capped_params()
    assert capped == {
        "integrator_rank": max(
            len(s.features_.landmarks_) for s in model.integrator_.segments_
        )
    }
    assert rows <= capped["integrator_rank"] < PARAMS["integrator_rank"]
    assert f"integrator_rank=150 -> {capped['integrator_rank']}" in model.describe()
    model.save(tmp_path / "model.npz")
    assert load(tmp_path / "model.npz").capped_params() == capped
    uncapped = KernelSurrogate(**{**PARAMS, "integrator_rank": 20}).fit(store)
    assert uncapped.capped_params() == {}
    assert "capped" not in uncapped.describe()


def test_selection_rows_show_whole_candidates_and_capped_ranks(store):
    from ubermag_surrogate.models import select_hyperparameters

    grid = {"integrator_alpha": [1e-8, 1e-4], "integrator_rank": [20, 5000]}
    result = select_hyperparameters(
        KernelSurrogate(**PARAMS),
        store,
        grid,
        validation_fraction=0.25,
        refit=False,
        verbose=False,
    )
    # coordinate search: the first parameter's rows also name the template's rank
    assert [sorted(row["params"]) for row in result.table] == [
        ["integrator_alpha", "integrator_rank"]
    ] * len(result.table)
    first = result.table[0]["params"]
    assert first["integrator_rank"] == PARAMS["integrator_rank"]
    by_rank = {row["params"]["integrator_rank"]: row for row in result.table}
    assert by_rank[20]["capped"] == {}
    assert 0 < by_rank[5000]["capped"]["integrator_rank"] < 5000
    text = str(result)
    assert "(capped by the data: integrator_rank=" in text


def test_describe_weights_the_initial_mean_by_ms(model):
    # it took the plain mean over magnetic cells, unlike the tables, stores and
    # predictions (sum Ms m / sum Ms): two materials showed another <m>
    two = copy.deepcopy(model)
    n = two.Ms_.size
    two.Ms_ = np.where(np.arange(n) < n // 2, 8e5, 2e5)
    m0 = np.zeros((3, n))
    m0[0, : n // 2] = 1.0  # +x where Ms is 8e5 A/m
    m0[1, n // 2 :] = 1.0  # +y where Ms is 2e5 A/m
    two.m0_ = m0.reshape(-1)
    assert "initial state <m> = (0.8000, 0.2000, 0.0000)" in two.describe()
