"""The embedded calculator drives real systems and writes oommfc's drive layout."""

import json
import pathlib
import sys

import discretisedfield as df
import micromagneticdata as md
import micromagneticmodel as mm
import numpy as np
import pytest
import torch
from helpers import interrupt_each_line, macrospin, small_system, two_regions

from ubermag_surrogate import embedded
from ubermag_surrogate.embedded.outputs import DriveOutputs


def test_time_drive_writes_an_oommf_layout_that_micromagneticdata_reads():
    system = small_system()
    m_initial = system.m.array.copy()
    embedded.TimeDriver().drive(system, t=2e-11, n=5, verbose=0)

    drive_dir = pathlib.Path("small", "drive-0")
    info = json.loads((drive_dir / "info.json").read_text())
    assert info["driver"] == "TimeDriver"
    assert info["adapter"] == "ubermag_surrogate"
    assert info["success"] is True
    assert (info["t"], info["n"]) == (2e-11, 5)
    assert info["calculator"] == "magnum.np"
    assert (drive_dir / "m0.omf").is_file()
    assert len(list(drive_dir.glob("small-Oxs_TimeDriver-Magnetization-*.omf"))) == 5
    # the solver's own files converted and removed, no hidden half-written file
    assert sorted(
        p.name for p in drive_dir.iterdir() if "Magnetization" not in p.name
    ) == [
        "info.json",
        "m0.omf",
        "small-input.npz",
        "small-result.json",
        "small.json",
        "small.log",
        "small.mif",
        "small.odt",
    ]

    # system updated like oommfc does
    assert system.drive_number == 1
    assert not np.allclose(system.m.array, m_initial)
    assert np.allclose(system.m.norm.array, 8e5)
    data = system.table.data
    assert system.table.x == "t"
    assert np.allclose(data["t"], np.arange(1, 6) * 4e-12, rtol=0, atol=1e-22)
    for column in ("mx", "my", "mz", "E", "E_exchange", "E_demag", "E_zeeman"):
        assert column in data.columns
    assert np.allclose(data["E"], data[["E_exchange", "E_demag", "E_zeeman"]].sum(1))
    assert np.allclose(data[["mx", "my", "mz"]].iloc[-1], system.m.orientation.mean())

    drive = md.Data("small")[-1]
    assert type(drive).__name__ == "OOMMFDrive"
    assert drive.n == 5
    assert list(drive.table.data["t"]) == list(data["t"])
    assert isinstance(drive[4], df.Field)
    assert np.allclose(drive[4].array, system.m.array)
    assert np.allclose(drive.m0.array, m_initial)
    assert drive.to_xarray().shape == (5, 4, 3, 2, 3)
    # the OOMMF input of the same drive, as oommfc writes it
    script = drive.calculator_script
    assert "Specify Oxs_TimeDriver" in script and "stage_count 5" in script
    assert "stopping_time 4e-12" in script and "Oxs_UniformExchange" in script


def test_macrospin_precesses_at_the_larmor_frequency():
    H = 1e5  # A/m along z; m starts along x, no damping
    system = macrospin(H=H)
    embedded.TimeDriver().drive(system, t=1e-10, n=20, verbose=0)
    data = system.table.data
    phase = 2.211e5 * H * data["t"].to_numpy()
    assert np.max(np.abs(data["mx"] - np.cos(phase))) < 1e-4
    assert np.max(np.abs(data["my"] - np.sin(phase))) < 1e-4
    assert np.max(np.abs(data["mz"])) < 1e-10


def test_damping_relaxes_towards_the_field():
    system = macrospin(alpha=0.5, m=(1, 0, 0.1))
    embedded.TimeDriver().drive(system, t=5e-10, n=10, verbose=0)
    mz = system.table.data["mz"].to_numpy()
    assert np.all(np.diff(mz) > 0)
    assert mz[-1] > 0.99


def test_min_driver_aligns_with_field_and_anisotropy():
    system = macrospin(m=(1, 0.2, 0.1))
    system.energy += mm.UniaxialAnisotropy(K=1e4, u=(0, 0, 1))
    embedded.MinDriver().drive(system, verbose=0)
    assert np.allclose(system.m.orientation.array[0, 0, 0], (0, 0, 1), atol=1e-4)
    data = system.table.data
    assert system.table.x == "iteration"
    assert len(data) == 1
    assert data["max_mxHxm"].iloc[0] < 0.2
    # E = -mu0 Ms H V at the minimum: the anisotropy energy is zero along the
    # easy axis, as OOMMF's K sin^2 reports it
    volume = 8e-27
    expected = -mm.consts.mu0 * 8e5 * 1e5 * volume
    assert data["E"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert abs(data["E_uniaxialanisotropy"].iloc[0]) < 1e-9 * abs(expected)
    drive = md.Data("macrospin")[-1]
    assert drive.info["driver"] == "MinDriver"
    assert drive.n == 1
    assert "Oxs_MinDriver" in drive.calculator_script
    assert "stopping_mxHxm 0.001" in drive.calculator_script  # this driver's own


def test_empty_cells_stay_empty_and_are_left_out_of_the_mean():
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 10e-9, 3e-9), n=(8, 2, 1))

    def Ms(point):
        return 8e5 if point[0] < 20e-9 else 0

    system = mm.System(name="half")
    system.energy = mm.Exchange(A=1.3e-11) + mm.Demag() + mm.Zeeman(H=(0, 5e4, 0))
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.5)
    system.m = df.Field(mesh, nvdim=3, value=(1, 0, 0), norm=Ms)
    embedded.TimeDriver().drive(system, t=2e-10, n=4, verbose=0)
    norms = system.m.norm.array[..., 0]
    assert np.all(norms[4:] == 0)
    assert np.allclose(norms[:4], 8e5)
    # the table averages the unit vectors of magnetic cells only (as OOMMF)
    mean = system.m.orientation.array[:4].mean(axis=(0, 1, 2))
    assert np.allclose(system.table.data[["mx", "my", "mz"]].iloc[-1], mean)
    assert system.table.data["my"].iloc[-1] > 0.5


def test_subregion_dict_and_field_parameters():
    region = df.Region(p1=(0, 0, 0), p2=(8e-9, 4e-9, 2e-9))
    subregions = {
        "left": df.Region(p1=(0, 0, 0), p2=(4e-9, 4e-9, 2e-9)),
        "right": df.Region(p1=(4e-9, 0, 0), p2=(8e-9, 4e-9, 2e-9)),
    }
    mesh = df.Mesh(region=region, n=(4, 2, 1), subregions=subregions)
    system = mm.System(name="regions")
    system.energy = mm.Zeeman(H={"left": (1e6, 0, 0), "right": (0, 0, 1e6)})
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(
        alpha=df.Field(mesh, nvdim=1, value=0.5)
    )
    system.m = df.Field(mesh, nvdim=3, value=(0, 1, 0), norm=1e6)
    embedded.MinDriver().drive(system, verbose=0)
    assert np.allclose(system.m["left"].orientation.mean(), (1, 0, 0), atol=1e-4)
    assert np.allclose(system.m["right"].orientation.mean(), (0, 0, 1), atol=1e-4)


def _two_halves(name, H):
    region = df.Region(p1=(0, 0, 0), p2=(8e-9, 4e-9, 2e-9))
    subregions = {"left": df.Region(p1=(0, 0, 0), p2=(4e-9, 4e-9, 2e-9))}
    mesh = df.Mesh(region=region, n=(4, 2, 1), subregions=subregions)
    system = mm.System(name=name)
    system.energy = mm.Zeeman(H=H)
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.5)
    system.m = df.Field(mesh, nvdim=3, value=(0, 1, 0), norm=1e6)
    return system


def test_subregion_dict_without_default_is_zero_elsewhere_as_in_oommfc():
    # oommfc writes such a dict as an OOMMF atlas field with default value 0
    system = _two_halves("halves", H={"left": (1e6, 0, 0)})
    embedded.MinDriver().drive(system, verbose=0)
    m = system.m.orientation.array
    assert np.allclose(m[:2], (1, 0, 0), atol=1e-4)
    assert np.allclose(m[2:], (0, 1, 0))  # no field, no exchange: no torque


def test_subregion_the_mesh_does_not_have_is_refused():
    system = _two_halves("no_such_region", H={"right": (1e6, 0, 0)})
    with pytest.raises(ValueError, match="subregion.*'right'.*mesh does not have"):
        embedded.MinDriver().drive(system, verbose=0)
    assert not pathlib.Path("no_such_region").exists()


@pytest.mark.parametrize("ovf_format", ["bin4", "txt"])
def test_output_formats(ovf_format):
    system = small_system(name=f"fmt_{ovf_format}")
    embedded.TimeDriver().drive(system, t=1e-11, n=2, ovf_format=ovf_format, verbose=0)
    drive = md.Data(system.name)[-1]
    assert np.allclose(drive[1].array, system.m.array, rtol=1e-6)


def test_drives_append_and_append_false_refuses():
    system = small_system(name="appending")
    embedded.MinDriver().drive(system, verbose=0)
    embedded.TimeDriver().drive(system, t=1e-11, n=2, verbose=0)
    data = md.Data("appending")
    assert data.n == 2
    assert [d.info["driver"] for d in data] == ["MinDriver", "TimeDriver"]
    with pytest.raises(FileExistsError, match="already exists.*append=True"):
        embedded.TimeDriver().drive(system, t=1e-11, n=2, append=False, verbose=0)
    embedded.delete(system)
    assert not pathlib.Path("appending").exists()
    with pytest.raises(FileNotFoundError, match="'appending' does not exist"):
        embedded.delete(system)
    embedded.delete(system, silent=True)


def test_dirname_is_respected(tmp_path):
    system = small_system(name="elsewhere")
    embedded.TimeDriver().drive(system, t=1e-11, n=1, dirname="out/dir", verbose=0)
    assert (tmp_path / "out" / "dir" / "elsewhere" / "drive-0" / "info.json").is_file()


def test_verbose_output(capsys):
    system = small_system(name="chatty")
    embedded.TimeDriver().drive(system, t=1e-11, n=2, verbose=1)
    out = capsys.readouterr().out
    assert out.startswith("Running magnum.np (embedded)[")
    assert out.rstrip().endswith("s)")
    embedded.TimeDriver().drive(system, t=1e-11, n=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_solver_runs_in_a_child_process():
    dtype = torch.get_default_dtype()
    system = small_system(name="isolated")
    embedded.TimeDriver().drive(system, t=1e-11, n=1, n_threads=1, verbose=0)
    assert "magnumnp" not in sys.modules
    assert torch.get_default_dtype() == dtype
    info = json.loads(pathlib.Path("isolated/drive-0/isolated-result.json").read_text())
    assert info["torch_threads"] == 1
    assert info["device"] == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_failed_drive_keeps_m_and_marks_info_unsuccessful():
    system = small_system(name="failing")
    m_before = system.m.array.copy()
    with pytest.raises(RuntimeError, match="magnum.np failed") as failure:
        embedded.TimeDriver(device="cuda").drive(system, t=1e-11, n=2, verbose=0)
    # the reason in a sentence, not a traceback from inside torch
    assert "sees no CUDA GPU on this machine" in str(failure.value)
    assert "Traceback" not in str(failure.value)
    assert np.array_equal(system.m.array, m_before)
    info = json.loads(pathlib.Path("failing/drive-0/info.json").read_text())
    assert info["success"] is False


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_gpu_drive_agrees_with_the_cpu_drive(device):
    cpu = small_system(name="on_cpu")
    gpu = small_system(name="on_gpu")
    embedded.TimeDriver().drive(cpu, t=5e-11, n=5, verbose=0)
    embedded.TimeDriver(device=device).drive(gpu, t=5e-11, n=5, verbose=0)
    info = json.loads(pathlib.Path("on_gpu/drive-0/info.json").read_text())
    assert info["device"] == device
    result = json.loads(pathlib.Path("on_gpu/drive-0/on_gpu-result.json").read_text())
    assert result["device"].startswith("cuda")
    # same float64 equations, only the order of floating-point sums differs
    assert np.max(np.abs(gpu.m.array - cpu.m.array)) < 1e-6 * 8e5
    columns = ["mx", "my", "mz"]
    difference = gpu.table.data[columns].to_numpy() - cpu.table.data[columns].to_numpy()
    assert np.max(np.abs(difference)) < 1e-6


def test_the_table_weights_m_by_ms_as_oommf():
    # OOMMF's mx is sum Ms m_x / sum Ms: 8e5 along +x and 4e5 along -x give 1/3
    mesh = df.Mesh(p1=(0, 0, 0), p2=(4e-9, 2e-9, 2e-9), n=(2, 1, 1))
    system = mm.System(name="weighted")
    system.energy = mm.Zeeman(H=(0, 0, 0))  # nothing moves
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.1)
    system.m = df.Field(
        mesh, nvdim=3, value=lambda p: (1, 0, 0) if p[0] < 2e-9 else (-1, 0, 0),
        norm=lambda p: 8e5 if p[0] < 2e-9 else 4e5,
    )  # fmt: skip
    embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    assert system.table.data["mx"].iloc[-1] == pytest.approx(1 / 3, rel=1e-9)


def test_info_records_the_device_the_drive_ran_on():
    system = small_system()
    embedded.TimeDriver(device="auto").drive(system, t=1e-12, n=1, verbose=0)
    info = md.Data("small")[-1].info
    assert info["device_requested"] == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert info["device"].startswith(expected)  # resolved, e.g. "cpu" or "cuda:0"


def test_an_easy_plane_has_oommfs_anisotropy_energy():
    # K1 < 0: OOMMF's energy is -K1 (m.u)^2, zero in the easy plane
    system = macrospin(m=(1, 0, 0))
    system.energy = mm.UniaxialAnisotropy(K=-1e4, u=(0, 0, 1))
    embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    assert abs(system.table.data["E_uniaxialanisotropy"].iloc[-1]) < 1e-30


def test_the_table_has_the_last_step_taken():
    # at rest along the field the solver's steps grow; the table's
    # last_time_step is the step taken (as OOMMF's), never longer than the
    # output interval, not the longer one proposed next
    system = macrospin(m=(0, 0, 1), alpha=0.1)
    embedded.TimeDriver().drive(system, t=1e-10, n=10, verbose=0)
    steps = system.table.data["last_time_step"]
    assert np.all((steps > 0) & (steps <= 1e-11 * (1 + 1e-9)))


def test_exchange_per_cell_couples_neighbours_as_oommfs_exchangeptwise():
    # oommfc writes A as a Field as Oxs_ExchangePtwise, which couples two
    # neighbours with 2 A1 A2 / (A1 + A2) (exchangeptwise.cc); perpendicular
    # neighbours then hold 2 A_eff (1 - m1.m2) V / dx^2 = 2 A_eff V / dx^2
    dx = 2e-9
    mesh = df.Mesh(p1=(0, 0, 0), p2=(2 * dx, dx, dx), n=(2, 1, 1))
    A = df.Field(mesh, nvdim=1, value=lambda p: 1e-11 if p[0] < dx else 4e-11)
    system = mm.System(name="ptwise")
    system.energy = mm.Exchange(A=A)
    system.dynamics = mm.Precession(gamma0=2.211e5)
    system.m = df.Field(
        mesh, nvdim=3, value=lambda p: (1, 0, 0) if p[0] < dx else (0, 1, 0),
        norm=8e5,
    )  # fmt: skip
    embedded.TimeDriver().drive(system, t=1e-17, n=1, verbose=0)
    A_eff = 2 * 1e-11 * 4e-11 / (1e-11 + 4e-11)
    expected = 2 * A_eff * dx**3 / dx**2
    assert system.table.data["E_exchange"].iloc[-1] == pytest.approx(expected, rel=1e-6)


def test_outputs_are_converted_row_by_row_and_never_half(tmp_path, monkeypatch):
    # the solver appends to <name>.odt.part while the parent reads it: a row it has
    # only begun is left for the next update, and each .omf comes with its row
    monkeypatch.chdir(tmp_path)
    mesh = df.Mesh(p1=(0, 0, 0), p2=(2e-9, 1e-9, 1e-9), n=(2, 1, 1))
    steps = np.lib.format.open_memmap(
        "p-steps.npy", mode="w+", dtype=np.float64, shape=(2, 2, 1, 1, 3)
    )
    steps[0], steps[1] = [8e5, 0, 0], [0, 8e5, 0]
    steps.flush()
    part = pathlib.Path("p.odt.part")
    header = "# ODT 1.0\n# Columns: {Oxs_X:e:Total energy} Oxs_TimeDriver::Iteration\n"
    part.write_text(header + "1.5 17\n2.5 3")
    outputs = DriveOutputs("p", mesh, "TimeDriver", "bin8", total=2)

    assert outputs.update() == 1
    assert pathlib.Path("p.odt").read_text() == header + "1.5 17\n"
    (omf,) = pathlib.Path().glob("p*.omf")
    assert omf.name == "p-Oxs_TimeDriver-Magnetization-000000-0000017.omf"
    assert np.allclose(df.Field.from_file(omf).mean(), [8e5, 0, 0])

    with part.open("a") as f:
        f.write("4\n# Table End\n")
    assert outputs.finish() == 2
    assert pathlib.Path("p.odt").read_text() == header + "1.5 17\n2.5 34\n# Table End\n"
    assert not part.exists() and not pathlib.Path("p-steps.npy").exists()
    second = pathlib.Path("p-Oxs_TimeDriver-Magnetization-000001-0000034.omf")
    assert np.allclose(df.Field.from_file(second).mean(), [0, 8e5, 0])
    assert sorted(p.name for p in pathlib.Path().iterdir()) == [
        "p-Oxs_TimeDriver-Magnetization-000000-0000017.omf",
        second.name,
        "p.odt",
    ]


def test_demag_of_one_cube_is_a_third_as_oommfs():
    # magnum.np 2.2's one-cell branch left Ms out of N Ms m: E came out 1/Ms of
    # the true mu0 Ms^2 V / 6, and a one-cell platelet did not lie in plane
    system = macrospin(name="cube", H=0.0, m=(0, 0, 1))
    system.energy = mm.Demag()
    embedded.MinDriver(max_iterations=1).drive(system, verbose=0)
    volume, Ms = (2e-9) ** 3, 8e5
    expected = mm.consts.mu0 * Ms**2 * volume / 6
    assert system.table.data["E_demag"].iloc[-1] == pytest.approx(expected, rel=1e-6)

    mesh = df.Mesh(p1=(0, 0, 0), p2=(4e-9, 4e-9, 1e-9), n=(1, 1, 1))
    platelet = mm.System(name="platelet")
    platelet.energy = mm.Demag()
    platelet.m = df.Field(mesh, nvdim=3, value=(1, 0, 1.7), norm=Ms)
    embedded.MinDriver().drive(platelet, verbose=0)
    assert abs(platelet.m.orientation.mean()[2]) < 1e-3


def test_min_driver_ignores_dynamics_and_temperature_as_oommfc():
    # "relax, then drive with spin-transfer torque at T > 0": oommfc's MinDriver
    # never reads system.dynamics or system.T
    system = macrospin(name="to_relax", alpha=0.5, m=(1, 0, 0.2))
    system.dynamics += mm.ZhangLi(u=400, beta=0.5)
    system.T = 300
    embedded.MinDriver().drive(system, verbose=0)
    assert np.allclose(system.m.orientation.mean(), (0, 0, 1), atol=1e-3)
    with pytest.raises(ValueError, match="Finite temperature"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)


def test_delete_starts_the_drive_numbers_again_as_oommfc():
    system = small_system(name="renumbered")
    embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    assert system.drive_number == 1
    embedded.delete(system)
    assert system.drive_number == 0
    embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    assert pathlib.Path("renumbered", "drive-0", "info.json").is_file()


def test_not_converged_warns_at_the_callers_line():
    system = macrospin(name="slow", m=(1, 0, 0.1))
    with pytest.warns(RuntimeWarning, match="stopped after 2 iterations") as record:
        embedded.MinDriver(max_iterations=2).drive(system, verbose=0)
    assert record[0].filename == __file__


def test_progress_bar_ends_at_the_last_output(capfd):
    system = small_system(name="progress")
    embedded.TimeDriver().drive(system, t=2e-11, n=20, n_threads=1, verbose=2)
    bar = [line for line in capfd.readouterr().err.splitlines() if "/20" in line]
    assert "20/20" in bar[-1]


def _solver_outputs(rows):
    """The solver's raw outputs of ``rows`` one-cell-pair states, as _solver writes."""
    steps = np.lib.format.open_memmap(
        "p-steps.npy", mode="w+", dtype=np.float64, shape=(rows, 2, 1, 1, 3)
    )
    steps[:] = 0.0
    for i in range(rows):
        steps[i, ..., i % 3] = 8e5
    steps.flush()
    header = "# ODT 1.0\n# Columns: {Oxs_X:e:Total energy} Oxs_TimeDriver::Iteration\n"
    body = "".join(f"{i}.5 {17 * (i + 1)}\n" for i in range(rows))
    pathlib.Path("p.odt.part").write_text(header + body + "# Table End\n")
    return header + body + "# Table End\n"


def test_ctrl_c_at_any_point_of_the_conversion_leaves_a_whole_drive(
    tmp_path, monkeypatch
):
    # _call finishes the outputs again after a Ctrl-C: a Ctrl-C while finish()
    # closed its files reopened the table with "wb" and emptied a finished drive
    from ubermag_surrogate.embedded import outputs as outputs_module

    mesh = df.Mesh(p1=(0, 0, 0), p2=(2e-9, 1e-9, 1e-9), n=(2, 1, 1))
    source = outputs_module.__file__

    def setup():
        return _solver_outputs(3), DriveOutputs("p", mesh, "TimeDriver", "bin8", 3)

    def convert(state):
        _, outputs = state
        outputs.update()
        return outputs.finish()

    for points, _, (table, outputs), done in interrupt_each_line(
        source, tmp_path, monkeypatch, convert, setup
    ):
        if done is None:  # interrupted: _call finishes again
            assert outputs.finish() == 3, f"interrupted at line event {points}"
        assert pathlib.Path("p.odt").read_text() == table, points
        snapshots = sorted(pathlib.Path().glob("p-*.omf"))
        assert sorted(p.name for p in pathlib.Path().iterdir()) == [
            *(p.name for p in snapshots),
            "p.odt",
        ]
        for i, snapshot in enumerate(snapshots):
            assert df.Field.from_file(snapshot).mean()[i % 3] == 8e5
    assert points > 50  # every line of update and finish was interrupted once


def test_snapshots_of_a_mesh_with_subregions_keep_them_and_leave_nothing_hidden(
    tmp_path,
):
    system = two_regions(A=1.3e-11)()
    embedded.TimeDriver().drive(system, t=1e-12, n=2, dirname=tmp_path, verbose=0)
    drive_dir = tmp_path / "paired" / "drive-0"
    assert not [p.name for p in drive_dir.iterdir() if p.name.startswith(".")]
    drive = md.Data("paired", dirname=str(tmp_path))[-1]
    assert sorted(drive[-1].mesh.subregions) == ["r1", "r2"]


def test_a_failed_write_of_the_outputs_stops_the_solver(tmp_path, monkeypatch):
    # a full disk while the outputs were converted left the solver running the
    # drive and kept it for the next one, which then read the old drive's reply
    from ubermag_surrogate.embedded import solver_process

    calls = []

    def update(self, original=DriveOutputs.update):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return original(self)

    monkeypatch.setattr(DriveOutputs, "update", update)
    system = small_system(name="full")
    with pytest.raises(OSError, match="No space left"):
        embedded.TimeDriver().drive(
            system, t=2e-9, n=400, n_threads=1, dirname=tmp_path, verbose=0
        )
    assert ("cpu", 1) not in solver_process._processes  # discarded, not kept
    monkeypatch.undo()
    other = small_system(name="after")
    for driven, n in ((system, 2), (other, 3)):
        embedded.TimeDriver().drive(
            driven, t=1e-12, n=n, n_threads=1, dirname=tmp_path, verbose=0
        )
        assert len(driven.table.data) == n
