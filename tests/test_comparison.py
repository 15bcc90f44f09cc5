"""Surrogate against the embedded calculator from the same state, with figures."""

import dataclasses
import json

import discretisedfield as df
import matplotlib.pyplot as plt
import micromagneticdata as md
import numpy as np
import pytest
from IPython.lib.pretty import pretty

import ubermag_surrogate as us
from ubermag_surrogate.comparison import Comparison, plot_snapshots, trajectory_errors
from ubermag_surrogate.data import in_plane_field
from ubermag_surrogate.models import ExtrapolationWarning
from ubermag_surrogate.problems import sp4

T, N = 2e-10, 10


@pytest.fixture(scope="module")
def comparison(sp4_model_file, sp4_model, tmp_path_factory):
    system = sp4_model.system(name="film")
    system.energy += sp4.zeeman(sp4_model.training_fields_[5])
    out = tmp_path_factory.mktemp("comparison")
    result = us.compare(
        system, sp4_model_file, t=T, n=N, calculator="embedded", dirname=out
    )
    return result, system, out


def test_both_runs_start_from_the_same_state(comparison):
    result, system, out = comparison
    assert isinstance(result, Comparison)
    assert result.simulated.shape == result.predicted.shape == (N + 1, 3, 500)
    assert np.array_equal(result.simulated[0], result.predicted[0])
    assert np.allclose(result.times, np.linspace(0, T, N + 1))
    assert (out / "film_surrogate" / "drive-0" / "info.json").is_file()
    assert (out / "film_simulation" / "drive-0" / "info.json").is_file()
    assert result.drives["simulation"].name == "drive-0"
    # the request system itself is left as it was
    assert system.drive_number == 0
    assert not (out / "film").exists()


def test_errors_and_timings(comparison, sp4_model):
    result, _, _ = comparison
    # a training field: the surrogate follows the simulation closely
    assert 0 < result.relative_error < 0.1
    assert 0 < result.max_mean_m_error < 0.05
    assert result.step_errors.shape == (N + 1,)
    assert result.step_errors[0] == 0
    # over the whole trajectory, t = 0 included, as evaluate() and the benchmarks
    expected = np.linalg.norm(
        (result.predicted - result.simulated).ravel()
    ) / np.linalg.norm(result.simulated.ravel())
    assert result.relative_error == pytest.approx(expected, rel=1e-12)
    relative, _ = trajectory_errors(
        result.predicted.reshape(1, N + 1, -1), result.simulated.reshape(1, N + 1, -1)
    )
    assert result.relative_error == relative[0]
    assert result.mean_m_errors.max() == result.max_mean_m_error
    # wall times are measured, not asserted against each other beyond the
    # orders of magnitude between a solver run and a lookup (benchmarks/ time)
    for seconds in (result.predict_s, result.surrogate_s, result.simulation_s):
        assert 0 < seconds < np.inf
    assert result.surrogate_s < result.simulation_s
    assert result.speed_up == pytest.approx(result.simulation_s / result.surrogate_s)
    text = result.summary()
    assert "relative trajectory error" in text and "speed-up" in text
    # the model's own sensitivity at this field, for judging the error beside it
    field, m0 = result.field, result.predicted[0].reshape(-1)
    expected = sp4_model.field_sensitivity(field, m0=m0, t=T, n=N)
    assert result.field_sensitivity == pytest.approx(expected[0], abs=1e-6)
    assert f"{result.field_sensitivity:.4f}" in text
    assert result.calculator == "embedded"
    # Jupyter shows the summary, repr one line (not the two trajectories' arrays)
    assert pretty(result) == text
    line = repr(result)
    assert line.startswith("Comparison(field (") and "\n" not in line
    assert f"relative error {result.relative_error:.4f}" in line


def test_report_and_figures_on_disk(comparison, tmp_path):
    result, _, _ = comparison
    written = result.save(tmp_path / "report", formats=("png", "pdf"))
    names = sorted(p.name for p in written)
    assert names == [
        "comparison.json",
        "mean_m.pdf",
        "mean_m.png",
        "snapshots.pdf",
        "snapshots.png",
    ]
    for path in written[1:]:  # figures
        assert path.stat().st_size > 5_000, path
    report = json.loads((tmp_path / "report" / "comparison.json").read_text())
    assert report["relative_error"] == pytest.approx(result.relative_error)
    assert report["field_sensitivity"] == result.field_sensitivity
    assert len(report["step_errors"]) == N + 1
    assert np.array(report["mean_m_simulated"]).shape == (N + 1, 3)


def test_snapshots_leave_cells_without_magnet_blank(comparison):
    # the film with a hole: its cells hold zero vectors (the layout's convention)
    result, _, _ = comparison
    nx, ny, _ = result.mesh.n
    hole = np.zeros((nx, ny), dtype=bool)
    hole[10:20, 3:7] = True
    holed = dataclasses.replace(
        result,
        simulated=result.simulated * ~hole.reshape(-1),
        predicted=result.predicted * ~hole.reshape(-1),
    )
    fig = plot_snapshots(holed)
    image = fig.axes[0].get_images()[0].get_array()  # m_x, (ny, nx)
    np.testing.assert_array_equal(np.ma.getmaskarray(image), hole.T)
    arrows = fig.axes[0].collections[0]  # every step-th cell, step = nx // 20
    step = max(1, nx // 20)
    shown = hole[::step, ::step].T.reshape(-1)
    assert shown.any()
    np.testing.assert_array_equal(arrows.Umask, shown)
    error = fig.axes[2].get_images()[0].get_array()
    np.testing.assert_array_equal(np.ma.getmaskarray(error), hole.T)
    plt.close(fig)


def two_outputs(mesh, state, predicted):
    """A Comparison of t = 0 (both ``state``) and one output, ``predicted``."""
    return Comparison(
        times=np.array([0.0, 1e-12]),
        simulated=np.stack([state, state]).reshape(2, 3, -1),
        predicted=np.stack([state, predicted]).reshape(2, 3, -1),
        mesh=mesh,
        field=np.zeros(3),
        simulation_s=1.0,
        surrogate_s=0.1,
        predict_s=0.01,
        calculator="embedded",
        drives={},
    )


def test_snapshots_average_each_column_over_its_magnetic_cells():
    # two layers, the top one magnetic only in the left half: the plotted m_x
    # was diluted by the empty cells (2/3 where every magnetic cell has 1)
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 10e-9, 10e-9), n=(4, 1, 2))
    magnetic = np.ones((4, 1, 2), dtype=bool)
    magnetic[2:, :, 1] = False
    state = np.zeros((3, 4, 1, 2))
    state[0][magnetic] = 1.0
    predicted = state.copy()
    predicted[0][magnetic] = 0.6
    predicted[1][magnetic] = 0.8  # unit vectors, |m_pred - m_sim| = 0.894
    result = two_outputs(mesh, state, predicted)
    open_before = plt.get_fignums()
    fig = plot_snapshots(result, indices=[1])
    assert plt.get_fignums() == open_before  # not left open in pyplot (Jupyter
    # showed such a figure twice: as the cell's result and from pyplot)
    np.testing.assert_allclose(fig.axes[0].get_images()[0].get_array(), 1.0)
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), 0.6)
    error = fig.axes[2].get_images()[0].get_array()
    np.testing.assert_allclose(error, np.sqrt(0.4**2 + 0.8**2))
    plt.close(fig)


def test_snapshots_of_a_tall_film_stay_a_few_inches_per_row():
    # the rows' height followed the film's aspect: 91 inches for 100 x 400 nm
    mesh = df.Mesh(p1=(0, 0, 0), p2=(100e-9, 400e-9, 5e-9), n=(5, 20, 1))
    state = np.zeros((3, 100))
    state[0] = 1.0
    fig = plot_snapshots(two_outputs(mesh, state, state), indices=[1])
    assert fig.get_size_inches()[1] <= 1.2 + 5.0


def test_compare_warns_at_the_callers_line(sp4_model, tmp_path):
    # compare's own drive warned at a line inside the package
    system = sp4_model.system(name="far")
    system.energy += sp4.zeeman(in_plane_field(45, 190))  # above the trained 40 mT
    with pytest.warns(ExtrapolationWarning) as record:
        us.compare(
            system, sp4_model, t=2e-11, n=2, calculator="embedded",
            dirname=tmp_path, verbose=0,
        )  # fmt: skip
    extrapolations = [w for w in record if w.category is ExtrapolationWarning]
    assert extrapolations
    assert {w.filename for w in extrapolations} == {__file__}


def test_compare_refuses_what_the_driver_refuses(sp4_model, tmp_path):
    system = sp4_model.system(name="film")  # no Zeeman term
    with pytest.raises(ValueError, match="no Zeeman term"):
        us.compare(system, sp4_model, t=T, n=N, calculator="embedded", dirname=tmp_path)
    assert not any(tmp_path.iterdir())


def test_snapshot_errors_show_the_worst_layer_of_each_column():
    # the error map showed the mean over z: a reversed top layer (error 2) was
    # drawn as 1, under a title that said "max"
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 10e-9, 10e-9), n=(4, 1, 2))
    state = np.zeros((3, 4, 1, 2))
    state[0] = 1.0
    predicted = state.copy()
    predicted[0, :, :, 1] = -1.0
    fig = plot_snapshots(two_outputs(mesh, state, predicted), indices=[1])
    error = fig.axes[2].get_images()[0]
    np.testing.assert_allclose(error.get_array(), 2.0)
    assert error.get_clim() == (0, 2.0)
    assert "max over z" in fig.axes[2].get_title()
    assert "(max 2.00)" in fig.axes[2].get_title()
    plt.close(fig)


@pytest.mark.parametrize(
    ("indices", "match"),
    [([1, 25], r"indices \[25\] are outside .* 0 to 1"), ([], "non-empty"),
     ([0.5], "integers")],
)  # fmt: skip
def test_snapshots_refuse_outputs_the_comparison_lacks(indices, match):
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 10e-9, 5e-9), n=(4, 1, 1))
    state = np.zeros((3, 4))
    state[0] = 1.0
    with pytest.raises(ValueError, match=match):
        plot_snapshots(two_outputs(mesh, state, state), indices=indices)


def test_reports_are_strict_json_and_check_formats_first(tmp_path):
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 10e-9, 5e-9), n=(4, 1, 1))
    state = np.zeros((3, 4))
    state[0] = 1.0
    diverged = state.copy()
    diverged[1, 2] = np.nan
    result = two_outputs(mesh, state, diverged)
    # formats checked before anything is written ("pdf" was taken as p, d, f
    # after comparison.json was written)
    with pytest.raises(ValueError, match="docx"):
        result.save(tmp_path / "bad", formats=("png", "docx"))
    assert not (tmp_path / "bad").exists()
    written = result.save(tmp_path / "one", formats="pdf")
    assert sorted(p.name for p in written) == [
        "comparison.json", "mean_m.pdf", "snapshots.pdf"
    ]  # fmt: skip

    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    text = (tmp_path / "one" / "comparison.json").read_text()
    record = json.loads(text, parse_constant=refuse)  # bare NaN was written
    assert record["relative_error"] is None
    assert record["step_errors"][0] == 0 and record["step_errors"][1] is None


def test_compare_reads_the_drive_it_ran_after_older_ones_were_deleted(
    sp4_model, tmp_path
):
    # md.Data(...)[-1] counts drive folders: with drive-0 deleted it read drive-1
    # (the previous field's) instead of the new drive-2, without a word
    import shutil

    kwargs = dict(t=2e-11, n=2, calculator="embedded", dirname=tmp_path, verbose=0)
    fields = [sp4_model.training_fields_[i] for i in (0, 3, 6)]

    def request(field):
        system = sp4_model.system(name="film")
        system.energy += sp4.zeeman(field)
        return system

    for field in fields[:2]:
        us.compare(request(field), sp4_model, **kwargs)
    for kind in ("surrogate", "simulation"):
        shutil.rmtree(tmp_path / f"film_{kind}" / "drive-0")
    result = us.compare(request(fields[2]), sp4_model, **kwargs)
    assert {p.name for p in result.drives.values()} == {"drive-2"}
    last = md.Drive("film_surrogate", 2, dirname=str(tmp_path)).table.data
    np.testing.assert_allclose(
        result.mean_predicted[-1], last[["mx", "my", "mz"]].iloc[-1], atol=1e-6
    )
    np.testing.assert_allclose(result.field, fields[2])
