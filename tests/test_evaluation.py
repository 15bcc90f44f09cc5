"""A surrogate scored on the simulations of a store: evaluate() and its report."""

import copy
import dataclasses
import json
import shutil
import warnings

import discretisedfield as df
import matplotlib.pyplot as plt
import micromagneticmodel as mm
import numpy as np
import pandas as pd
import pytest
from helpers import SP4_TEST_CELL, SP4_TEST_DOMAIN
from IPython.lib.pretty import pretty

import ubermag_surrogate as us
from ubermag_surrogate.cli import main
from ubermag_surrogate.comparison import (
    Evaluation,
    evaluation,
    plot_field_errors,
    trajectory_errors,
)
from ubermag_surrogate.data import FieldDomain
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.data.store import TrajectoryStore
from ubermag_surrogate.models import ExtrapolationWarning, KernelSurrogate
from ubermag_surrogate.problems import Problem, sp4


def _simulate(path, fields, t, n):
    summary = generate(
        sp4.problem(cell=SP4_TEST_CELL),
        fields,
        t=t,
        n=n,
        calculator="embedded",
        store=path,
        workers=2,
        progress=False,
        domain=SP4_TEST_DOMAIN,
    )
    assert summary.failed == 0
    return TrajectoryStore(path)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    """2 fields the model was not trained on, simulated as its training data."""
    fields = SP4_TEST_DOMAIN.sample(2, method="uniform", seed=11)
    path = tmp_path_factory.mktemp("held_out") / "val.zarr"
    return _simulate(path, fields, 2e-10, 20)


def _direct(model, store):
    """The errors computed plainly from the whole arrays."""
    prediction = model.predict(store.fields[store.complete], n=len(store.times) - 1)
    predicted = prediction.m.astype(np.float64)
    true = store.tensor(field_components=(), dtype=np.float64).transpose(1, 0, 2)
    k = len(true)
    relative = np.linalg.norm((predicted - true).reshape(k, -1), axis=1)
    relative /= np.linalg.norm(true.reshape(k, -1), axis=1)
    mean_pred = predicted.reshape(k, len(store.times), 3, -1).mean(axis=-1)
    mean_true = true.reshape(k, len(store.times), 3, -1).mean(axis=-1)
    return relative, np.abs(mean_pred - mean_true).max(axis=(1, 2))


def test_per_field_errors_on_held_out_fields(sp4_model, held_out):
    result = us.evaluate(sp4_model, held_out, verbose=0)
    assert isinstance(result, Evaluation)
    relative, mean_m = _direct(sp4_model, held_out)
    np.testing.assert_allclose(result.relative_error, relative, rtol=1e-5)
    np.testing.assert_allclose(result.mean_m_error, mean_m, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(result.fields, held_out.fields[:])
    np.testing.assert_array_equal(result.samples, [0, 1])
    assert result.sensitivity is None
    assert np.allclose(result.times, np.linspace(0, 2e-10, 21))
    # fields it was not trained on: it errs (0.07-0.12 in <m> here), but it works
    assert np.all(result.mean_m_error > 0.01) and result.mean_m_error.mean() < 0.2
    assert np.all(result.relative_error < 0.3)
    summary = result.summary()
    assert summary["n_fields"] == 2
    assert summary["mean_m_error_mean"] == pytest.approx(mean_m.mean(), rel=1e-5)
    assert summary["mean_m_error_max"] == pytest.approx(mean_m.max(), rel=1e-5)
    sem = mean_m.std(ddof=1) / np.sqrt(2)
    assert summary["mean_m_error_sem"] == pytest.approx(sem, rel=1e-4)
    assert summary["predict_s"] > 0
    # Jupyter shows the report, repr one line (not the per-field arrays)
    assert pretty(result) == str(result) == result.text()
    assert repr(result) == (
        f"Evaluation(kernel model {sp4_model.model_id}, 2 fields of "
        f"{str(held_out.path)!r}: <m> error mean {result.mean_m_error.mean():.4f}, "
        f"max {result.mean_m_error.max():.4f})"
    )


def test_training_fields_score_as_the_rollout_test_says(sp4_model, sp4_store):
    """On its own training fields the model is close (as the rollout test asserts)."""
    with pytest.warns(UserWarning, match="2 of the 2 fields scored are fields the"):
        result = us.evaluate(sp4_model, sp4_store, samples=[1, 4], verbose=0)
    np.testing.assert_array_equal(result.samples, [1, 4])
    np.testing.assert_array_equal(result.fields, sp4_store.fields[[1, 4]])
    assert result.mean_m_error.max() < 0.05


@pytest.mark.filterwarnings("ignore:8 of the 8 fields scored are fields the model")
def test_scores_do_not_depend_on_the_chunk_size(sp4_model, sp4_store, monkeypatch):
    whole = us.evaluate(sp4_model, sp4_store, verbose=0)
    frame = 21 * 1500 * 4  # one trajectory's bytes
    monkeypatch.setattr(evaluation, "CHUNK_BYTES", 3 * frame)  # 3 fields at a time
    chunked = us.evaluate(sp4_model, sp4_store, verbose=0)
    np.testing.assert_allclose(chunked.relative_error, whole.relative_error, rtol=1e-6)
    np.testing.assert_allclose(chunked.mean_m_error, whole.mean_m_error, rtol=1e-6)


def test_sensitivity_per_field_and_the_split_by_it(sp4_model, held_out):
    result = us.evaluate(sp4_model, held_out, sensitivity=True, verbose=0)
    expected = sp4_model.field_sensitivity(held_out.fields[:], n=20)
    np.testing.assert_allclose(result.sensitivity, expected, rtol=1e-9)
    threshold = float(np.mean(expected))  # one field on either side
    summary = result.summary(threshold=threshold)
    flagged = expected > threshold
    assert summary["flagged_fields"] == flagged.sum() == 1
    assert summary["unflagged_fields"] == 1
    assert summary["flagged_mean_m_error_mean"] == pytest.approx(
        result.mean_m_error[flagged].mean()
    )
    text = result.text(worst=2, threshold=threshold)
    assert "worst 2 fields" in text and "sensitivity" in text
    worst = int(np.argmax(result.mean_m_error))
    b = held_out.fields[worst] * 1e3
    angle = np.rad2deg(np.arctan2(b[1], b[0])) % 360
    assert (
        f"({b[0]:.2f}, {b[1]:.2f}, {b[2]:.2f}) mT, {np.hypot(b[0], b[1]):.2f} mT at "
        f"{angle:.2f} deg: <m> error {result.mean_m_error[worst]:.4f}"
    ) in text.splitlines()[-2]


def test_report_files(sp4_model_file, held_out, tmp_path):
    result = us.evaluate(sp4_model_file, held_out, sensitivity=True, verbose=0)
    written = result.save(tmp_path / "report", formats=("png", "pdf"))
    assert sorted(p.name for p in written) == [
        "evaluation.csv",
        "evaluation.json",
        "field_errors.pdf",
        "field_errors.png",
    ]
    assert (tmp_path / "report" / "field_errors.png").stat().st_size > 5_000
    report = json.loads((tmp_path / "report" / "evaluation.json").read_text())
    assert report["summary"]["n_fields"] == 2
    assert report["mean_m_error"] == pytest.approx(result.mean_m_error.tolist())
    assert report["sensitivity"] == pytest.approx(result.sensitivity.tolist())
    assert report["store"] == str(held_out.path)
    table = pd.read_csv(tmp_path / "report" / "evaluation.csv")
    assert len(table) == 2
    assert np.allclose(table["B_mT"], np.linalg.norm(held_out.fields[:], axis=1) * 1e3)
    assert np.all((180 <= table["angle_deg"]) & (table["angle_deg"] <= 200))
    assert report["field_domain"] == SP4_TEST_DOMAIN.to_dict()


def test_error_map_uses_the_training_domain_coordinates(sp4_model, held_out):
    result = us.evaluate(sp4_model, held_out, verbose=0)
    assert result.domain == sp4_model.field_domain_  # polar, as SP4's
    fig = plot_field_errors(result)
    left, right = fig.axes[:2]
    assert left.get_xlabel() == right.get_xlabel() == "field angle (deg)"
    b = held_out.fields[:] * 1e3
    np.testing.assert_allclose(
        left.collections[0].get_offsets(),
        np.column_stack(
            [np.rad2deg(np.arctan2(b[:, 1], b[:, 0])) % 360, np.linalg.norm(b, axis=1)]
        ),
    )
    plt.close(fig)
    # a box domain: the two components that vary most, the wider first
    box = FieldDomain(box=((-5, 5), (-45, -25), (0, 0)))
    fig = plot_field_errors(dataclasses.replace(result, domain=box))
    left, right = fig.axes[:2]
    assert left.get_xlabel() == right.get_xlabel() == r"$\mu_0 H_y$ (mT)"
    assert left.get_ylabel() == r"$\mu_0 H_x$ (mT)"
    np.testing.assert_allclose(left.collections[0].get_offsets(), b[:, [1, 0]])
    np.testing.assert_allclose(
        right.collections[0].get_offsets(),
        np.column_stack([b[:, 1], result.mean_m_error]),
    )
    plt.close(fig)


def test_angles_are_the_training_domains_own(sp4_model, held_out):
    result = us.evaluate(sp4_model, held_out, verbose=0)
    # a domain across 0 deg: its angles run from -10 to 10, not 350 to 10
    across_zero = FieldDomain((30, 40), (-10, 10))
    frame = dataclasses.replace(result, domain=across_zero).to_dataframe()
    expected = across_zero.coordinates(result.fields)[:, 1]
    np.testing.assert_allclose(frame["angle_deg"], expected)
    assert np.all(frame["angle_deg"] < 0)  # SP4's 190 deg is -170 deg there


def test_which_samples_to_score(sp4_model, held_out):
    whole = us.evaluate(sp4_model, held_out, verbose=0)
    mask = np.zeros(held_out.n_samples, dtype=bool)
    mask[1] = True
    masked = us.evaluate(sp4_model, held_out, samples=mask, verbose=0)
    assert masked.samples.tolist() == [1]
    assert masked.mean_m_error[0] == pytest.approx(whole.mean_m_error[1], rel=1e-6)
    with pytest.raises(ValueError, match="samples is empty"):
        us.evaluate(sp4_model, held_out, samples=[], verbose=0)
    with pytest.raises(IndexError, match=r"Samples \[7\] are not in the store"):
        us.evaluate(sp4_model, held_out, samples=[7], verbose=0)


def test_command_line(sp4_model_file, held_out, tmp_path, capsys):
    argv = ["evaluate", "--model", str(sp4_model_file), "--data", str(held_out.path)]
    assert main([*argv, "--sensitivity", "--out", str(tmp_path / "ev")]) == 0
    printed = capsys.readouterr().out
    assert "on 2 fields of" in printed and "worst 2 fields" in printed
    assert "with sensitivity >" in printed
    assert (tmp_path / "ev" / "evaluation.json").is_file()
    assert main(argv) == 0  # no --out: prints only
    assert "Written" not in capsys.readouterr().out


def test_refuses_stores_and_models_it_cannot_score(
    sp4_model, held_out, tmp_path, capsys
):
    # the held-out simulations, relabelled as outputs every 5 ps (the model: 10 ps)
    shutil.copytree(held_out.path, tmp_path / "dt.zarr")
    other_step = TrajectoryStore(tmp_path / "dt.zarr", mode="r+")
    other_step.group["time"][:] = held_out.times / 2
    with pytest.raises(ValueError, match="output step is 5e-12 s; the model predicts"):
        us.evaluate(sp4_model, other_step)
    with pytest.raises(ValueError, match="not fitted"):
        us.evaluate(KernelSurrogate(), other_step)
    with pytest.raises(TypeError, match="SurrogateModel"):
        us.evaluate(42, other_step)
    with pytest.raises(FileNotFoundError, match="No trajectory store"):
        us.evaluate(sp4_model, tmp_path / "nowhere.zarr")
    argv = ["evaluate", "--model", "m.npz", "--data", str(tmp_path / "dt.zarr")]
    assert main(argv) == 1
    assert "evaluate: error:" in capsys.readouterr().err


def _sp4_variant(alpha=sp4.ALPHA, thickness=3e-9):
    """A factory: the coarse SP4 film with another damping or thickness."""

    def factory():
        system = sp4.system(cell=SP4_TEST_CELL)
        mesh = df.Mesh(p1=(0, 0, 0), p2=(*sp4.LENGTH[:2], thickness), n=(50, 10, 1))
        system.dynamics = mm.Precession(gamma0=sp4.GAMMA0) + mm.Damping(alpha=alpha)
        system.m = df.Field(mesh, nvdim=3, value=sp4.M_INITIAL, norm=sp4.MS)
        return system

    return factory


@pytest.mark.parametrize(
    ("variant", "match"),
    [
        ({"alpha": 0.5}, r"The store's material differs .*Damping: alpha = 0.5"),
        ({"thickness": 4e-9}, r"The store's mesh \(50 x 10 x 1 cells .*4e-09"),
    ],
)
def test_refuses_simulations_of_another_system(sp4_model, variant, match, tmp_path):
    # same number of cells and output step as the model's: only what was
    # simulated differs, and scoring it would blame the model
    other = Problem("sp4", _sp4_variant(**variant))
    store = tmp_path / "other.zarr"
    args = {"t": 2e-11, "n": 2, "calculator": "embedded", "progress": False}
    assert generate(other, [[-0.035, -0.005, 0.0]], store=store, **args).completed
    with pytest.raises(ValueError, match=match):
        us.evaluate(sp4_model, store, verbose=0)


def test_warns_for_trajectories_from_another_initial_state(sp4_model, held_out):
    model = copy.copy(sp4_model)
    model.m0_ = -sp4_model.m0_  # as if trained from the reversed state
    with pytest.warns(ExtrapolationWarning, match="start from another state"):
        us.evaluate(model, held_out, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real model: no warning
        us.evaluate(sp4_model, held_out, verbose=0)


def test_trajectory_errors_checks_shapes():
    with pytest.raises(ValueError, match=r"must both be \(k, s\+1, 3N\)"):
        trajectory_errors(np.zeros((2, 3, 6)), np.zeros((2, 3, 9)))
    true = np.ones((1, 2, 6)) / np.sqrt(3)
    relative, mean_m = trajectory_errors(-true, true)
    assert relative[0] == pytest.approx(2)
    assert mean_m[0] == pytest.approx(2 / np.sqrt(3))
    # <m> over magnetic cells only: one of the two cells is empty
    true[..., [1, 3, 5]] = 0
    _, mean_m = trajectory_errors(np.zeros_like(true), true, np.array([True, False]))
    assert mean_m[0] == pytest.approx(1 / np.sqrt(3))
