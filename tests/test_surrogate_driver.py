"""SurrogateDriver as a drop-in Ubermag time driver, on a kernel model of coarse SP4."""

import copy
import gc
import json
import pathlib
import warnings
import weakref

import discretisedfield as df
import micromagneticdata as md
import micromagneticmodel as mm
import numpy as np
import pytest
import ubermagtable as ut
import xarray as xr
from helpers import (
    SP4_TEST_CELL,
    SP4_TEST_DOMAIN,
    SP4_TEST_PARAMS,
    interrupt_each_line,
)

from ubermag_surrogate import SurrogateDriver, embedded
from ubermag_surrogate.comparison import evaluate
from ubermag_surrogate.data import FieldDomain
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.data.store import TrajectoryStore
from ubermag_surrogate.driver import drive_folder, surrogate_driver
from ubermag_surrogate.models import (
    ExtrapolationWarning,
    KernelSurrogate,
    SensitivityWarning,
    load,
)
from ubermag_surrogate.models.base import as_fitted_model
from ubermag_surrogate.problems import Problem, sp4

T, N = 2e-10, 10


@pytest.fixture
def driver(sp4_model_file):
    return SurrogateDriver(model=sp4_model_file)


def request_system(model, field=None, name="sp4"):
    """The model's training system with a training field: a request it knows."""
    system = model.system(name=name)
    field = model.training_fields_[3] if field is None else field
    system.energy += sp4.zeeman(field)
    return system


def _plots(mpl):
    """Run a discretisedfield ``mpl`` plot; return the number of axes drawn."""
    import matplotlib.pyplot as plt

    plt.close("all")
    mpl()
    n_axes = len(plt.gcf().axes)
    plt.close("all")
    return n_axes


def notebook(driver, system, dirname):
    """What a user's notebook does with a time driver (the same call for both)."""
    driver.drive(system, t=T, n=N, dirname=dirname, n_threads=1)
    data = md.Data(system.name, dirname=str(dirname))
    drive = data[-1]
    return {
        "drive": drive,
        "type": type(drive),
        "n": drive.n,
        "x": drive.x,
        "columns": set(drive.table.data.columns),
        "t": drive.table.data["t"].to_numpy(),
        "mean_m": drive.table.data[["mx", "my", "mz"]].to_numpy(),
        "array_shape": drive[-1].array.shape,
        "xarray_dims": drive.to_xarray().dims,
        "xarray_shape": drive.to_xarray().shape,
        "m0_shape": drive.m0.array.shape,
        "info_driver": drive.info["driver"],
        "hv": drive.hv(kdims=["x", "y"]),
        "table_mpl": type(drive.table.mpl(y=["mx", "my", "mz"])),
        "field_mpl": _plots(drive[-1].orientation.sel("z").mpl),
        "system_table": system.table.data[["t", "mx", "my", "mz"]].to_numpy(),
        "system_m": system.m.array.copy(),
        "drive_number": system.drive_number,
    }


def test_drop_in_for_the_embedded_time_driver(sp4_model, driver, tmp_path):
    """The same notebook with embedded.TimeDriver and SurrogateDriver."""
    simulated = notebook(
        embedded.TimeDriver(), request_system(sp4_model), tmp_path / "sim"
    )
    predicted = notebook(driver, request_system(sp4_model), tmp_path / "sur")
    assert predicted["type"] is simulated["type"] is md.OOMMFDrive
    for key in (
        "n",
        "x",
        "array_shape",
        "xarray_dims",
        "xarray_shape",
        "m0_shape",
        "info_driver",
        "drive_number",
        "table_mpl",
        "field_mpl",
    ):
        assert predicted[key] == simulated[key], key
    assert {"t", "mx", "my", "mz", "iteration"} <= predicted["columns"]
    assert {"t", "mx", "my", "mz", "iteration"} <= simulated["columns"]
    assert np.allclose(predicted["t"], simulated["t"], rtol=1e-12)
    assert predicted["system_table"].shape == simulated["system_table"].shape
    assert type(predicted["hv"]) is type(simulated["hv"])
    assert predicted["field_mpl"] >= 1
    # a training field: the prediction follows the simulation
    assert np.abs(predicted["mean_m"] - simulated["mean_m"]).max() < 0.05
    assert np.allclose(predicted["system_table"][:, 1:], predicted["mean_m"])
    assert predicted["system_m"].shape == simulated["system_m"].shape
    # system.m is the final predicted state, the one written as the last output
    assert np.allclose(predicted["system_m"], predicted["drive"][-1].array)
    norms = np.linalg.norm(predicted["system_m"], axis=-1)
    assert np.allclose(norms, 8e5)


@pytest.mark.parametrize("kind", ["surrogate", "embedded"])
def test_drives_read_back_and_export_as_oommfc_drives(kind, sp4_model, tmp_path):
    """What users do next with a drive: numpy arguments, .sel(t=t), netCDF, units."""
    driver = (
        SurrogateDriver(model=sp4_model)
        if kind == "surrogate"
        else (embedded.TimeDriver())
    )
    system = request_system(sp4_model)
    system.m.vdims = ["a", "b", "c"]  # the user's labels (oommfc keeps them)
    m_object = system.m
    steps = np.arange(1, 4)  # e.g. a loop over np.arange: numpy integers
    t = 3 * T / N  # three trained steps
    driver.drive(system, t=t, n=steps[-1], dirname=tmp_path, verbose=0)
    drive = md.Data("sp4", dirname=str(tmp_path))[-1]
    assert drive.info["n"] == 3 and type(drive.info["n"]) is int
    assert None not in drive.info.values()  # netCDF cannot store None
    assert drive.table.data["t"].iloc[-1] == t  # exactly t, as oommfc's last output
    darray = drive.to_xarray()
    assert darray.sel(t=t).shape == drive[-1].array.shape
    darray.to_netcdf(tmp_path / "drive.nc")
    assert xr.open_dataarray(tmp_path / "drive.nc").shape == darray.shape
    assert drive[-1].unit == "A/m"  # OVF valueunits, as OOMMF writes M
    # OOMMF's table <m>: sum Ms m / sum Ms, i.e. <M> / <Ms>
    np.testing.assert_allclose(
        drive.table.data[["mx", "my", "mz"]].iloc[-1],
        drive[-1].mean() / drive[-1].norm.mean(),
        rtol=0,
        atol=1e-6,
    )
    # the OOMMF input of the simulation this drive stands for
    assert "Specify Oxs_TimeDriver" in drive.calculator_script
    assert f"stopping_time {T / N:g}" in drive.calculator_script
    assert "stage_count 3" in drive.calculator_script
    # system.m updated in place, as oommfc does: labels and object kept
    assert system.m is m_object and system.m.vdims == ["a", "b", "c"]
    assert np.array_equal(system.m.array, drive[-1].array)


def two_materials():
    """A 40 x 10 x 5 nm film: 8e5 A/m in its left half, 4e5 A/m in its right."""
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 10e-9, 5e-9), cell=(5e-9, 5e-9, 5e-9))
    system = mm.System(name="two_materials")
    system.energy = mm.Exchange(A=1.3e-11) + mm.Demag()
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.1)
    system.m = df.Field(
        mesh, nvdim=3, value=(1, 0.2, 0), norm=lambda p: 8e5 if p[0] < 20e-9 else 4e5
    )
    return system


def test_mean_m_is_weighted_by_ms_everywhere_as_in_oommfs_table(tmp_path):
    # OOMMF's table has sum Ms m / sum Ms; the store, predictions, drive tables
    # and evaluate must all mean that, or a sweep and a drive of one field differ
    problem = Problem("two_materials", two_materials, relax=False)
    fields = np.array([[0, 0.05, 0], [0, 0.08, 0], [0, 0.04, 0.01], [0, 0.06, 0.01]])
    t, n = 5e-11, 5
    generate(
        problem, fields, t=t, n=n, calculator="embedded", store=tmp_path / "s.zarr",
        workers=1, progress=False,
    )  # fmt: skip
    store = TrajectoryStore(tmp_path / "s.zarr")
    Ms = store.group["Ms"][:]
    assert len(np.unique(Ms)) == 2

    # the store's <m> is the embedded simulation's table (as OOMMF's)
    simulated = problem.system_for(fields[0], problem.initial_state(embedded))
    embedded.TimeDriver().drive(simulated, t=t, n=n, dirname=tmp_path, verbose=0)
    table = simulated.table.data[["mx", "my", "mz"]].to_numpy()
    np.testing.assert_allclose(store.mean_m([0])[0, 1:], table, atol=2e-6)
    states = store.tensor([0], field_components=())[:, 0].reshape(n + 1, 3, -1)
    plain = states.mean(axis=-1, dtype=np.float64)
    assert np.abs(plain[1:] - table).max() > 1e-3  # the weighting matters here

    # a prediction's <m>, the surrogate drive's table and evaluate agree with it
    model = KernelSurrogate(
        n_components=4, embedding_rank=12, preimage_rank=12, integrator_rank=12,
        preimage_gamma="median", integrator_gamma="median", nu=2,
    ).fit(store)  # fmt: skip
    prediction = model.predict(fields, n=n)
    weighted = (prediction.m.reshape(4, n + 1, 3, -1) * Ms).sum(-1) / Ms.sum()
    np.testing.assert_allclose(prediction.mean_m(), weighted, rtol=1e-5, atol=1e-6)
    request = problem.system_for(fields[0], problem.initial_state(embedded))
    SurrogateDriver(model=model).drive(request, t=t, n=n, dirname=tmp_path, verbose=0)
    surrogate_table = request.table.data[["mx", "my", "mz"]].to_numpy()
    np.testing.assert_allclose(surrogate_table, weighted[0, 1:], atol=1e-6)
    with pytest.warns(UserWarning, match="fields the model was trained on"):
        errors = evaluate(model, store, verbose=0).mean_m_error
    np.testing.assert_allclose(
        errors, np.abs(weighted - store.mean_m()).max(axis=(1, 2)), atol=1e-6
    )


def test_drive_folder_records_the_model(sp4_model, sp4_model_file, driver, tmp_path):
    system = request_system(sp4_model)
    driver.drive(system, t=T, n=N, dirname=tmp_path, verbose=0)
    # driving on appends a drive that continues the first: past the trained horizon
    with pytest.warns(ExtrapolationWarning, match="since the first prediction"):
        driver.drive(system, t=T, n=N, dirname=tmp_path, verbose=0)
    assert system.drive_number == 2
    folder = tmp_path / "sp4" / "drive-1"
    info = json.loads((folder / "info.json").read_text())
    assert info["driver"] == "TimeDriver"
    assert info["surrogate_driver"] == "SurrogateDriver"
    assert info["model_id"] == sp4_model.model_id
    assert info["training_data"] == sp4_model.fingerprint_
    assert info["model_file"] == str(pathlib.Path(sp4_model_file).absolute())
    assert info["success"] is True
    assert (info["t"], info["n"]) == (T, N)
    request = json.loads((folder / "sp4-request.json").read_text())
    assert np.allclose(request["field_T"], sp4_model.training_fields_[3])
    assert request["t_before"] == pytest.approx(T)  # it continued the first drive
    assert len(list(folder.glob("sp4-Oxs_TimeDriver-Magnetization-*.omf"))) == N
    assert (folder / "m0.omf").is_file()
    with pytest.raises(FileExistsError), pytest.warns(ExtrapolationWarning):
        driver.drive(system, t=T, n=N, dirname=tmp_path, append=False)


def test_drives_record_the_model_file_however_the_model_is_given(
    sp4_store, sp4_model_file, tmp_path
):
    def recorded(model, name):
        system = request_system(as_fitted_model(model))
        SurrogateDriver(model=model).drive(
            system, t=T, n=N, dirname=tmp_path / name, verbose=0
        )
        info = tmp_path / name / "sp4" / "drive-0" / "info.json"
        return json.loads(info.read_text()).get("model_file")  # absent: no file

    path = str(pathlib.Path(sp4_model_file).absolute())
    assert recorded(sp4_model_file, "path") == path
    assert recorded(load(sp4_model_file), "loaded") == path
    fitted = KernelSurrogate(**SP4_TEST_PARAMS).fit(sp4_store)
    assert fitted.file_ is None
    assert recorded(fitted, "fitted") is None  # no file holds it
    fitted.save(tmp_path / "saved.npz")
    assert recorded(fitted, "saved") == str((tmp_path / "saved.npz").absolute())


def test_drives_one_after_another_continue_the_trajectory(sp4_model, tmp_path):
    # as with oommfc: two drives of T/2 end where one drive of T ends
    once = request_system(sp4_model, name="once")
    SurrogateDriver(model=sp4_model).drive(once, t=T, n=N, dirname=tmp_path, verbose=0)
    split = request_system(sp4_model, name="split")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second starts where the first ended
        for _ in range(2):  # a new driver each time, as oommfc code often does
            driver = SurrogateDriver(model=sp4_model, sensitivity_threshold=10.0)
            driver.drive(split, t=T / 2, n=N // 2, dirname=tmp_path, verbose=0)
    np.testing.assert_allclose(split.m.array, once.m.array, rtol=0, atol=1e-6 * 8e5)
    whole = md.Data("once", dirname=str(tmp_path))[0].table.data
    second = md.Data("split", dirname=str(tmp_path))[1]
    np.testing.assert_allclose(
        second.table.data[["mx", "my", "mz"]].to_numpy(),
        whole[["mx", "my", "mz"]].to_numpy()[N // 2 :],
        rtol=0,
        atol=1e-6,
    )
    assert second.info["field_sensitivity"] >= 0  # over the whole trajectory
    request = json.loads((tmp_path / "split/drive-1/split-request.json").read_text())
    assert request["t_before"] == pytest.approx(T / 2)
    # another field, or a changed m: a fresh start from system.m, which is not
    # the trained state
    split.energy.zeeman.H = tuple(sp4_model.training_fields_[4] / mm.consts.mu0)
    with pytest.warns(ExtrapolationWarning, match="initial magnetisation differs"):
        driver.drive(split, t=T / 2, n=N // 2, save=False, verbose=0)


def _split_drive(driver, system, **kwargs):
    """Drive T/2 (save=False); return the final m and the drive's t_before."""
    darray = driver.drive(system, t=T / 2, n=N // 2, save=False, verbose=0, **kwargs)
    return system.m.array.copy(), darray.attrs["t_before"]


def test_systems_of_one_name_driven_in_turn_each_continue(sp4_model):
    # model.system() names every system the same: drives a, b, a, b must not
    # discard each other's continuation
    driver = SurrogateDriver(model=sp4_model)
    fields = sp4_model.training_fields_[[3, 5]]
    systems = [request_system(sp4_model, field=f) for f in fields]
    assert systems[0].name == systems[1].name
    for system in systems:
        _split_drive(driver, system)
    for system, field in zip(systems, fields, strict=True):
        m, t_before = _split_drive(driver, system)
        assert t_before == pytest.approx(T / 2)  # continued
        once = request_system(sp4_model, field=field)
        driver.drive(once, t=T, n=N, save=False, verbose=0)
        np.testing.assert_allclose(m, once.m.array, rtol=0, atol=1e-6 * 8e5)


@pytest.mark.parametrize("change", [{"n_components": -2}, {"random_state": None}])
def test_a_refitted_model_starts_drives_afresh(change, sp4_model, sp4_store):
    # other hyper-parameters (another model_id), or none at all: without a seed
    # a refit on the same data is another model with the same model_id
    model = copy.deepcopy(sp4_model)
    if "n_components" in change:
        change = {"n_components": model.n_components - 2}
    model.set_params(**change).fit(sp4_store)
    driver = SurrogateDriver(model=model)
    system = request_system(model)
    _split_drive(driver, system)
    model.fit(sp4_store)
    with pytest.warns(ExtrapolationWarning, match="initial magnetisation differs"):
        _, t_before = _split_drive(driver, system)  # no history of the old fit
    assert t_before == 0


def test_only_recent_drives_are_kept_to_continue(sp4_model, monkeypatch):
    monkeypatch.setattr(surrogate_driver, "KEPT_DRIVES", 2)
    model = copy.deepcopy(sp4_model)  # its own registry
    driver = SurrogateDriver(model=model)
    systems = [request_system(model, name=f"s{i}") for i in range(3)]
    for system in systems:
        _split_drive(driver, system)
    assert len(surrogate_driver._LAST_DRIVES[model]) == 2
    with pytest.warns(ExtrapolationWarning, match="initial magnetisation differs"):
        assert _split_drive(driver, systems[0])[1] == 0  # the oldest: afresh
    assert _split_drive(driver, systems[2])[1] == pytest.approx(T / 2)
    # the drive continued last is the most recent, whatever its first drive's age
    x, y, z = (request_system(model, name=n) for n in "xyz")
    for system in (x, y):
        _split_drive(driver, system)
    _split_drive(driver, x)  # continued
    _split_drive(driver, z)  # pushes out y, not x
    with pytest.warns(ExtrapolationWarning, match="beyond the trained horizon"):
        assert _split_drive(driver, x)[1] == pytest.approx(T)  # a third T/2


def test_a_model_trained_without_other_energy_terms_refuses_them(sp4_model):
    model = copy.deepcopy(sp4_model)
    model.material_ = {**model.material_, "energy": "Energy()"}  # a macrospin's
    assert len(model.system().energy) == 0  # only what it was trained with
    with pytest.raises(ValueError, match="Exchange was not in the training system"):
        SurrogateDriver(model=model).drive(  # SP4's system: exchange, demag
            request_system(sp4_model), t=T, n=N, save=False, verbose=0
        )


def test_what_drives_keep_to_continue_goes_with_the_model(sp4_model_file):
    model = load(sp4_model_file)
    system = request_system(model)
    SurrogateDriver(model=model).drive(system, t=T / 2, n=N // 2, save=False)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None
    # another model object (here: loaded again) does not continue: afresh
    with pytest.warns(ExtrapolationWarning, match="initial magnetisation differs"):
        SurrogateDriver(model=sp4_model_file).drive(
            system, t=T / 2, n=N // 2, save=False
        )


def test_save_false_returns_the_outputs_without_files(sp4_model, driver, tmp_path):
    on_disk = request_system(sp4_model)
    driver.drive(on_disk, t=T, n=N, dirname=tmp_path / "disk", verbose=0)
    expected = md.Data("sp4", dirname=str(tmp_path / "disk"))[-1].to_xarray()

    in_memory = request_system(sp4_model)
    darray = driver.drive(in_memory, t=T, n=N, save=False, verbose=0)
    assert not (tmp_path / "sp4").exists()
    assert isinstance(darray, xr.DataArray)
    assert darray.dims == expected.dims
    assert np.allclose(darray["t"], expected["t"])
    assert np.allclose(darray.values, expected.values, rtol=0, atol=1e-6)
    assert in_memory.table.data.equals(on_disk.table.data)
    assert np.array_equal(in_memory.m.array, on_disk.m.array)
    assert in_memory.drive_number == 0


def test_zeeman_given_as_a_uniform_field_or_several_terms(sp4_model, driver):
    B = sp4_model.training_fields_[2]
    reference = request_system(sp4_model, B)
    driver.drive(reference, t=T, n=N, save=False, verbose=0)

    as_field = sp4_model.system()
    H = df.Field(as_field.m.mesh, nvdim=3, value=tuple(B / mm.consts.mu0))
    as_field.energy += mm.Zeeman(H=H)
    driver.drive(as_field, t=T, n=N, save=False, verbose=0)
    assert np.allclose(as_field.m.array, reference.m.array, rtol=0, atol=1e-9)

    two_terms = sp4_model.system()
    two_terms.energy += mm.Zeeman(H=tuple(0.5 * B / mm.consts.mu0), name="z1")
    two_terms.energy += mm.Zeeman(H=tuple(0.5 * B / mm.consts.mu0), name="z2")
    driver.drive(two_terms, t=T, n=N, save=False, verbose=0)
    assert np.allclose(two_terms.m.array, reference.m.array, rtol=0, atol=1e-9)


def test_zeeman_per_subregion_is_read_as_oommfc_writes_it(sp4_model, driver):
    B = sp4_model.training_fields_[2]
    H = tuple(B / mm.consts.mu0)
    reference = request_system(sp4_model, B)
    driver.drive(reference, t=T, n=N, save=False, verbose=0)
    mesh = reference.m.mesh
    pmax = (mesh.region.pmax[0] / 2, *mesh.region.pmax[1:])
    halves = df.Mesh(
        region=mesh.region,
        cell=mesh.cell,
        subregions={"left": df.Region(p1=mesh.region.pmin, p2=pmax)},
    )

    def system(zeeman):
        s = sp4_model.system()
        s.m = df.Field(halves, nvdim=3, value=s.m.array)
        s.energy += mm.Zeeman(H=zeeman)
        return s

    everywhere = system({"left": H, "default": H})
    driver.drive(everywhere, t=T, n=N, save=False, verbose=0)
    assert np.allclose(everywhere.m.array, reference.m.array, rtol=0, atol=1e-9)
    # no "default": zero field on the right half (oommfc's default value)
    with pytest.raises(ValueError, match="H varies in space over the magnet"):
        driver.drive(system({"left": H}), t=T, n=N, save=False, verbose=0)
    with pytest.raises(ValueError, match="'right' that the mesh does not have"):
        driver.drive(system({"right": H}), t=T, n=N, save=False, verbose=0)


def test_a_request_inside_what_was_trained_does_not_warn(sp4_model, driver):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        driver.drive(request_system(sp4_model), t=T, n=N, save=False, verbose=0)


def _other_material(system, energy=None, dynamics=None):
    other = mm.System(name="sp4")
    other.energy = energy or system.energy
    other.dynamics = dynamics or system.dynamics
    other.m = system.m
    return other


def _periodic(system):
    mesh = system.m.mesh
    periodic = df.Mesh(p1=mesh.region.pmin, p2=mesh.region.pmax, n=mesh.n, bc="x")
    return _with_m(system, df.Field(periodic, nvdim=3, value=system.m.array))


REFUSALS = {
    "mesh": (
        lambda s: _coarse_other_cell(s),
        "mesh .*50 x 10 x 1 cells",
    ),
    "periodic": (  # was driven without a word, with an OOMMF script that is periodic
        _periodic,
        "periodic boundary conditions 'x', the model's 'none'",
    ),
    "Ms": (
        lambda s: _with_m(s, df.Field(s.m.mesh, nvdim=3, value=(1, 0, 0), norm=7e5)),
        "saturation magnetisation differs",
    ),
    "exchange": (
        lambda s: _other_material(
            s, mm.Exchange(A=1.5e-11) + mm.Demag() + s.energy.zeeman
        ),
        r"Exchange: A = 1.5e-11, the model was trained with 1.3e-11",
    ),
    "extra term": (
        lambda s: _other_material(
            s,
            s.energy + mm.UniaxialAnisotropy(K=1e4, u=(0, 0, 1)),
        ),
        "UniaxialAnisotropy was not in the training system",
    ),
    "missing demag": (
        lambda s: _other_material(s, mm.Exchange(A=1.3e-11) + s.energy.zeeman),
        "Demag is missing",
    ),
    "damping": (
        lambda s: _other_material(
            s, dynamics=mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.5)
        ),
        "Damping: alpha = 0.5",
    ),
    "no zeeman": (
        lambda s: _other_material(s, mm.Exchange(A=1.3e-11) + mm.Demag()),
        "no Zeeman term",
    ),
    "time-dependent zeeman": (
        lambda s: _other_material(
            s,
            mm.Exchange(A=1.3e-11)
            + mm.Demag()
            + mm.Zeeman(H=(-2.8e4, 0, 0), wave="sin", f=1e9, t0=0),
        ),
        "time-dependent",
    ),
    "non-uniform zeeman": (
        lambda s: _other_material(
            s,
            mm.Exchange(A=1.3e-11)
            + mm.Demag()
            + mm.Zeeman(
                H=df.Field(
                    s.m.mesh, nvdim=3, value=lambda p: (-2.8e4 + p[0] * 1e10, 0, 0)
                )
            ),
        ),
        "varies in space",
    ),
    "temperature": (lambda s: _hot(s), "temperature"),
    "zeeman of 1e5 T": (
        lambda s: _other_material(
            s, mm.Exchange(A=1.3e-11) + mm.Demag() + mm.Zeeman(H=(-1e11, 0, 0))
        ),
        r"The Zeeman terms' H has \|mu0 H\| up to 1.26e\+05 T, above 100 T: H is "
        r"in A/m",
    ),
}


def _with_m(system, m):
    system.m = m
    return system


def _coarse_other_cell(system):
    other = sp4.system(cell=(5e-9, 12.5e-9, 3e-9))
    other.energy += system.energy.zeeman
    return other


def _hot(system):
    hot = mm.System(name="sp4", T=300)
    hot.energy, hot.dynamics, hot.m = system.energy, system.dynamics, system.m
    return hot


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refuses_what_the_model_cannot_answer(case, sp4_model, driver, tmp_path):
    build, match = REFUSALS[case]
    system = build(request_system(sp4_model))
    with pytest.raises(ValueError, match=match):
        driver.drive(system, t=T, n=N, dirname=tmp_path)
    assert not (tmp_path / system.name).exists()  # refused before any folder


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"t": 1e-10, "n": 7}, ValueError, "not a whole multiple"),
        ({"t": T}, TypeError, "needs n"),
        ({"n": N}, TypeError, "needs t"),
        ({"t": T, "n": N, "threads": 2}, TypeError, "unexpected argument"),
        ({"t": T, "n": N, "compute": "x"}, TypeError, r"cannot take \['compute'\]"),
        ({"t": T, "n": N, "fixed_subregions": ["a"]}, TypeError, "oommfc options"),
        ({"t": T, "n": N, "n_threads": 0}, ValueError, "n_threads=0"),
        ({"t": T, "n": N, "output_step": True}, TypeError, "oommfc options"),
        ({"t": -1e-9, "n": N}, ValueError, "positive time"),
        ({"t": 1.0, "n": N}, ValueError, "times the trained horizon"),
        ({"t": T, "n": 0}, ValueError, "must be positive"),
        ({"t": T, "n": 2.5}, TypeError, "integer number of outputs"),
        ({"t": T, "n": N, "runner": "oommf"}, ValueError, "no external program"),
        ({"t": T, "n": N, "ovf_format": "vtk"}, ValueError, "ovf_format"),
    ],
)
def test_bad_drive_arguments(kwargs, error, match, sp4_model, driver, tmp_path):
    with pytest.raises(error, match=match):
        driver.drive(request_system(sp4_model), dirname=tmp_path, **kwargs)
    assert not (tmp_path / "sp4").exists()


def test_calls_written_for_oommfc_run_unchanged(sp4_model, driver, tmp_path):
    # oommfc's no-op defaults spelled out were refused; a numpy n_threads failed
    # writing info.json, after the drive folder was made
    system = request_system(sp4_model)
    mesh = system.m.mesh
    half = df.Region(p1=mesh.region.pmin, p2=mesh.region.centre * (1, 2, 2))
    region_mesh = df.Mesh(region=mesh.region, n=mesh.n, subregions={"r": half})
    system.m = df.Field(region_mesh, nvdim=3, value=system.m.array)
    A = mm.Exchange(A={"r": 1.3e-11, "default": 1.3e-11})  # the trained A, uniform
    system.energy = A + mm.Demag() + system.energy.zeeman
    driver.drive(
        system,
        t=T,
        n=N,
        dirname=tmp_path,
        fixed_subregions=None,
        output_step=False,
        compute=None,
        n_threads=np.int64(2),
        verbose=0,
    )
    drive = md.Data("sp4", dirname=str(tmp_path))[-1]
    assert drive.info["n_threads"] == 2 and drive.n == N
    # OOMMF's last time step is the integrator's: the model's step
    steps = drive.table.data["last_time_step"].to_numpy()
    assert np.allclose(steps, sp4_model.dt_)
    assert np.allclose(drive.table.data["stage_iteration"] * steps, T / N)


def test_bad_models(sp4_model, tmp_path):
    with pytest.raises(TypeError, match="needs a model"):
        SurrogateDriver()
    with pytest.raises(TypeError, match="SurrogateModel"):
        SurrogateDriver(model=42)
    with pytest.raises(ValueError, match="not fitted"):
        SurrogateDriver(model=KernelSurrogate())
    with pytest.raises(FileNotFoundError, match="No model file at .*missing.npz"):
        SurrogateDriver(model=tmp_path / "missing.npz")
    with pytest.raises(AttributeError, match="Invalid attribute"):
        SurrogateDriver(model=sp4_model, evolver="rk4")


def test_schedule_is_not_available(driver, sp4_model):
    with pytest.raises(NotImplementedError, match="call drive"):
        driver.schedule(request_system(sp4_model), "sbatch", "header")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("field", "outside the training domain"),
        ("horizon", "beyond the trained horizon"),
        ("initial state", "initial magnetisation differs"),
    ],
)
def test_warns_for_extrapolation(change, match, sp4_model, driver, tmp_path):
    system = request_system(
        sp4_model, np.array([-0.045, 0, 0]) if change == "field" else None
    )
    t, n = (4e-10, 40) if change == "horizon" else (T, N)
    if change == "initial state":
        system.m = df.Field(system.m.mesh, nvdim=3, value=(0, 1, 0), norm=8e5)
    with pytest.warns(ExtrapolationWarning, match=match) as record:
        driver.drive(system, t=t, n=n, dirname=tmp_path, verbose=0)
    assert record[0].filename == __file__  # points at the user's call
    assert md.Data("sp4", dirname=str(tmp_path))[-1].n == n


def test_opt_in_sensitivity_warning(sp4_model, sp4_model_file, tmp_path):
    """sensitivity_threshold: the model's field sensitivity recorded, warned above."""
    field = sp4_model.training_fields_[3]
    expected = sp4_model.field_sensitivity(field, t=T, n=N)[0]
    assert expected > 0

    strict = SurrogateDriver(model=sp4_model_file, sensitivity_threshold=0)
    with pytest.warns(SensitivityWarning, match="may be far off") as record:
        strict.drive(request_system(sp4_model), t=T, n=N, dirname=tmp_path, verbose=0)
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the user's call
    info = md.Data("sp4", dirname=str(tmp_path))[-1].info
    assert info["field_sensitivity"] == pytest.approx(expected, rel=1e-6)

    lenient = SurrogateDriver(model=sp4_model, sensitivity_threshold=expected * 1.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        darray = lenient.drive(request_system(sp4_model), t=T, n=N, save=False)
    assert darray.attrs["field_sensitivity"] == pytest.approx(expected, rel=1e-6)

    # off by default: nothing computed, nothing recorded
    default = SurrogateDriver(model=sp4_model)
    assert default.sensitivity_threshold is None
    default.drive(request_system(sp4_model), t=T, n=N, dirname=tmp_path, verbose=0)
    assert "field_sensitivity" not in md.Data("sp4", dirname=str(tmp_path))[-1].info
    darray = default.drive(request_system(sp4_model), t=T, n=N, save=False, verbose=0)
    assert "field_sensitivity" not in darray.attrs


@pytest.mark.parametrize("name", ["sensitivity_threshold", "initial_state_tolerance"])
@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-0.1, ValueError),
        (float("nan"), ValueError),
        ("0.05", TypeError),
        (True, TypeError),
    ],
)
def test_bad_thresholds(name, value, error, sp4_model):
    with pytest.raises(error, match=name):
        SurrogateDriver(model=sp4_model, **{name: value})
    driver = SurrogateDriver(model=sp4_model)
    with pytest.raises(error, match=name):
        setattr(driver, name, value)


def test_sweep_many_fields_at_once(sp4_model, driver):
    fields = SP4_TEST_DOMAIN.sample(5, seed=3)
    system = sp4_model.system()
    result = driver.sweep(system, B=fields, t=T, n=N)
    assert isinstance(result, xr.Dataset)
    assert result["mx"].dims == ("field", "t")
    assert result["mx"].shape == (5, N + 1)
    assert np.allclose(result["Bx"], fields[:, 0])
    assert np.allclose(result["B"] * 1e3, np.linalg.norm(fields, axis=1) * 1e3)
    assert np.all((result["angle"] >= 180) & (result["angle"] <= 200))
    assert system.drive_number == 0 and "zeeman" not in [t.name for t in system.energy]
    # one of them driven alone gives the same curve
    single = request_system(sp4_model, fields[4])
    driver.drive(single, t=T, n=N, save=False, verbose=0)
    curve = np.stack([result[c][4, 1:] for c in ("mx", "my", "mz")], axis=1)
    assert np.allclose(curve, single.table.data[["mx", "my", "mz"]], atol=1e-9)
    # H (A/m) is the same request as B = mu0 H (T)
    by_H = driver.sweep(system, H=fields / mm.consts.mu0, t=T, n=N)
    assert np.allclose(by_H["mx"], result["mx"])
    with_states = driver.sweep(system, B=fields[:2], t=T, n=N, states=True)
    assert with_states["m"].shape == (2, N + 1, 50, 10, 1, 3)
    assert with_states["m"].dtype == np.float32
    norms = np.linalg.norm(with_states["m"].values, axis=-1)
    assert np.allclose(norms, 1, atol=1e-5)
    flagged = driver.sweep(system, B=fields, t=T, n=N, sensitivity=True)
    assert flagged["sensitivity"].dims == ("field",)
    expected = sp4_model.field_sensitivity(fields, t=T, n=N)
    # from the system's m (float32 round-off of the model's own m0)
    np.testing.assert_allclose(flagged["sensitivity"], expected, atol=1e-6)
    np.testing.assert_array_equal(flagged["mx"], result["mx"])


def test_sweep_states_are_held_once_with_the_meshs_units(
    sp4_model, driver, monkeypatch
):
    import tracemalloc

    monkeypatch.setattr(surrogate_driver, "SWEEP_CHUNK", 25)  # 8 chunks
    fields = SP4_TEST_DOMAIN.sample(200, seed=4)
    system = sp4_model.system()
    driver.sweep(system, B=fields[:2], t=T, n=N, states=True)  # warm up
    tracemalloc.start()
    result = driver.sweep(system, B=fields, t=T, n=N, states=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = result["m"].nbytes  # 200 x 11 x 500 x 3 float32: 13 MB
    # held once (and one chunk being decoded), not collected, concatenated and
    # copied (3 times)
    assert peak < 1.4 * size
    assert result["x"].attrs["units"] == "m"  # the mesh coordinates' units
    single = driver.sweep(system, B=fields[7:8], t=T, n=N, states=True)
    np.testing.assert_allclose(result["m"][7], single["m"][0], rtol=0, atol=1e-5)


def test_sweep_angles_are_the_training_domains(sp4_model):
    model = copy.deepcopy(sp4_model)
    model.field_domain_ = FieldDomain((30, 40), (-10, 10))  # across 0 deg
    fields = model.field_domain_.sample(4, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # not trained there
        result = SurrogateDriver(model=model).sweep(model.system(), B=fields, t=T, n=N)
    expected = model.field_domain_.coordinates(fields)[:, 1]
    np.testing.assert_allclose(result["angle"], expected)
    assert np.all(np.abs(result["angle"]) <= 10)  # not 350-360


def test_sweep_in_chunks_gives_the_same_answer_and_shows_progress(
    sp4_model, driver, monkeypatch, capsys
):
    fields = np.vstack([SP4_TEST_DOMAIN.sample(4, seed=3), [[-0.045, 0, 0]]])
    system = sp4_model.system()
    with pytest.warns(ExtrapolationWarning) as whole_warnings:
        whole = driver.sweep(system, B=fields, t=T, n=N, states=True, sensitivity=True)
    assert capsys.readouterr().err == ""  # one chunk: no bar
    monkeypatch.setattr(surrogate_driver, "SWEEP_CHUNK", 2)
    with pytest.warns(ExtrapolationWarning) as chunked_warnings:
        chunked = driver.sweep(
            system, B=fields, t=T, n=N, states=True, sensitivity=True
        )
    # three chunks, warned about once, for all five fields
    messages = [str(w.message) for w in chunked_warnings]
    assert messages == [str(w.message) for w in whole_warnings]
    assert any("1 of 5 fields lie outside" in m for m in messages)
    assert chunked_warnings[0].filename == __file__
    for name in ("mx", "my", "mz", "sensitivity"):  # float32 states, other batches
        np.testing.assert_allclose(chunked[name], whole[name], atol=1e-6)
    np.testing.assert_allclose(chunked["m"], whole["m"], atol=1e-5)
    assert "sweep: 100% 5/5" in capsys.readouterr().err
    with pytest.warns(ExtrapolationWarning):
        driver.sweep(system, B=fields, t=T, n=N, verbose=0)
    assert capsys.readouterr().err == ""


def test_sweep_bad_input(sp4_model, driver):
    system = sp4_model.system()
    with pytest.raises(TypeError, match="neither was given"):
        driver.sweep(system, t=T, n=N)
    with pytest.raises(TypeError, match="both were given"):
        driver.sweep(system, H=[[1, 0, 0]], B=[[1, 0, 0]], t=T, n=N)
    with pytest.raises(ValueError, match=r"B must be an array of shape \(k, 3\)"):
        driver.sweep(system, B=[[1, 0]], t=T, n=N)
    with pytest.raises(ValueError, match=r"H has non-finite values"):
        driver.sweep(system, H=[[np.nan, 0, 0]], t=T, n=N)
    with pytest.raises(ValueError, match=r"H is in A/m"):
        driver.sweep(system, H=[[1e9, 0, 0]], t=T, n=N)
    with pytest.raises(ValueError, match=r"mu0 H in tesla"):
        driver.sweep(system, B=[[-28000, -5000, 0]], t=T, n=N)
    with pytest.raises(ValueError, match=r"H must be an array of numbers"):
        driver.sweep(system, H="36 mT", t=T, n=N)
    with pytest.warns(ExtrapolationWarning, match="outside the training domain"):
        driver.sweep(system, B=[[-0.045, 0, 0]], t=T, n=N)


def test_model_system_is_the_training_system(sp4_model, sp4_store):
    system = sp4_model.system(name="again")
    assert system.name == "again"
    assert system.m.mesh == sp4_store.mesh
    assert repr(system.energy) == "Exchange(A=1.3e-11) + Demag()"
    assert repr(system.dynamics) == (
        "Precession(gamma0=221100.0) + Damping(alpha=0.02)"
    )
    # |M| = Ms to float64 precision: the driver's Ms check (1e-5) accepts it
    assert np.allclose(system.m.norm.array, 8e5, rtol=1e-12)
    assert np.allclose(np.linalg.norm(sp4_model.m0_.reshape(3, -1), axis=0), 1)
    m0 = sp4_store.tensor(field_components=())[0, 0]
    assert np.allclose(
        system.m.orientation.array.reshape(-1, 3).T.ravel(), m0, atol=1e-6
    )
    assert sp4_model.mesh_["n"] == [50, 10, 1]
    assert tuple(sp4_model.mesh_["cell"]) == pytest.approx(SP4_TEST_CELL)


def test_a_prediction_that_is_not_finite_writes_nothing(sp4_model, tmp_path):
    # a model damaged in memory (its pre-image map holds a NaN) predicts NaN,
    # which once became all-zero snapshots and a NaN table without a word
    model = copy.deepcopy(sp4_model)
    model.embedding_.preimage_.landmark_coef_[:, 0] = np.nan
    system = request_system(model)
    m_before = system.m.array.copy()
    with pytest.raises(RuntimeError, match=r"NaN or infinite from output 1 \(t = "):
        SurrogateDriver(model=model).drive(system, t=T, n=N, dirname=tmp_path)
    assert not (tmp_path / system.name).exists()
    assert np.array_equal(system.m.array, m_before)


@pytest.mark.parametrize("stop_at", [0, 2])
def test_snapshots_stopped_while_a_field_is_made_keep_the_files_written(
    sp4_model, stop_at, tmp_path, monkeypatch
):
    # the fields are made lazily: a Ctrl-C while one was made removed the file
    # written before it (or, for the first, raised UnboundLocalError)
    monkeypatch.chdir(tmp_path)
    field = sp4_model.to_field(sp4_model.m0_)

    def fields():
        for i in range(5):
            if i == stop_at:
                raise KeyboardInterrupt
            yield field

    values = drive_folder.table_values(np.linspace(0, 5e-12, 6), np.ones((6, 3)), 1)
    written = drive_folder.write_outputs("s", fields(), values)
    assert written == stop_at
    assert len(list(tmp_path.glob("s-Oxs_TimeDriver-Magnetization-*.omf"))) == stop_at
    assert len(ut.Table.fromfile("s.odt", x="t").data) == stop_at


def test_ctrl_c_at_any_line_of_writing_leaves_a_whole_shorter_drive(
    sp4_model, tmp_path, monkeypatch
):
    # the files were written first and the table at the end: a process killed in
    # between left snapshots without a table. Now each row follows its file; a
    # Ctrl-C at any line keeps every whole file with its row, and only those
    field = sp4_model.to_field(sp4_model.m0_)
    times = np.linspace(0, 3e-12, 4)
    values = drive_folder.table_values(times, np.ones((4, 3)), 1)

    def write(_):
        return drive_folder.write_outputs("s", (field for _ in range(3)), values)

    for points, folder, _, written in interrupt_each_line(
        drive_folder.__file__, tmp_path, monkeypatch, write
    ):  # written None: interrupted before or after the loop, the caller sees it
        snapshots = sorted(folder.glob("s-Oxs_TimeDriver-Magnetization-*.omf"))
        if not (folder / "s.odt").exists():  # before the table was begun
            assert written is None and not any(folder.iterdir()), points
            continue
        lines = (folder / "s.odt").read_text().splitlines()
        n_rows = sum(1 for line in lines if line and not line.startswith("#"))
        written = n_rows if written is None else written
        assert len(snapshots) == n_rows == written, points
        if n_rows:  # ubermagtable reads no table without rows
            rows = ut.Table.fromfile("s.odt", x="t").data
            np.testing.assert_array_equal(rows["t"], times[1 : written + 1])
        assert sorted(p.name for p in folder.iterdir()) == [
            *(p.name for p in snapshots),
            "s.odt",
        ], points  # nothing hidden or half-written left
    assert points > 20  # every line was interrupted once


def test_set_params_after_fit_neither_changes_predictions_nor_saves_silently(
    sp4_model, tmp_path
):
    model = copy.deepcopy(sp4_model)
    before, model_id = model.predict(model.training_fields_[:2], n=5), model.model_id
    model.set_params(nu=3)
    model.integrator_.set_params(nu=3)  # the model rolls out with what it fitted
    after = model.predict(model.training_fields_[:2], n=5)
    np.testing.assert_array_equal(after.latent, before.latent)
    assert model.model_id == model_id  # names the fitted model
    with pytest.raises(ValueError, match=r"nu changed .* fitted with nu=5"):
        model.save(tmp_path / "m.npz")


def test_ctrl_c_at_any_line_of_a_file_write_leaves_no_orphan(tmp_path, monkeypatch):
    # a Ctrl-C between the two renames (a mesh with subregions) left the moved
    # .subregions.json without its .omf
    from ubermag_surrogate import _omf

    mesh = df.Mesh(
        p1=(0, 0, 0),
        p2=(20e-9, 10e-9, 5e-9),
        n=(2, 1, 1),
        subregions={"r1": df.Region(p1=(0, 0, 0), p2=(10e-9, 10e-9, 5e-9))},
    )
    field = df.Field(mesh, nvdim=3, value=(0, 0, 1), norm=8e5)
    values = drive_folder.table_values(np.linspace(0, 2e-12, 3), np.ones((3, 3)), 1)

    def write(_):
        return drive_folder.write_outputs("s", (field for _ in range(2)), values)

    for points, folder, _, written in interrupt_each_line(
        _omf.__file__, tmp_path, monkeypatch, write
    ):
        names = sorted(p.name for p in folder.iterdir())
        snapshots = [n for n in names if n.endswith(".omf")]
        assert names == sorted(
            ["s.odt", *snapshots, *(f"{n}.subregions.json" for n in snapshots)]
        ), points  # each file with its sidecar, nothing hidden
        assert len(snapshots) == written, points
    assert points > 10  # every line of write_whole was interrupted once
