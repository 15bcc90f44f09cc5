"""Bad input gets a clear error before any folder is created."""

import pathlib
import subprocess
import sys

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np
import pytest
from helpers import small_system

from ubermag_surrogate import embedded


def _no_folder(name="small"):
    return not pathlib.Path(name).exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"t": -1e-9, "n": 10}, ValueError, "t=-1e-09"),
        ({"t": 0, "n": 10}, ValueError, "t=0"),
        ({"t": float("nan"), "n": 10}, ValueError, "t=nan"),
        ({"t": "1e-9", "n": 10}, TypeError, "t must be a real number"),
        ({"t": 1e-9, "n": -10}, ValueError, "n=-10"),
        ({"t": 1e-9, "n": 0}, ValueError, "n=0"),
        ({"t": 1e-9, "n": 2.5}, TypeError, "n must be an integer"),
        ({"t": 1e-9, "n": True}, TypeError, "n must be an integer"),
        ({"t": 1e-9}, TypeError, "needs n"),
        ({"n": 10}, TypeError, "needs t"),
        ({"t": 1e-9, "n": 10, "steps": 3}, TypeError, "unexpected argument"),
        ({"t": 1e-9, "n": 10, "n_threads": 0}, ValueError, "n_threads=0"),
        ({"t": 1e-9, "n": 10, "output_step": True}, ValueError, "oommfc option"),
        ({"t": 1e-9, "n": 10, "runner": "oommf"}, ValueError, "runner"),
        ({"t": 1e-9, "n": 10, "ovf_format": "vtk"}, ValueError, "ovf_format"),
        ({"t": 1e-9, "n": 10, "verbose": 5}, ValueError, "verbose"),
        ({"t": 1e-9, "n": 10, "dirname": 3}, TypeError, "dirname"),
    ],
)
def test_bad_time_drive_arguments(kwargs, error, match):
    system = small_system()
    m_before = system.m.array.copy()
    with pytest.raises(error, match=match):
        embedded.TimeDriver().drive(system, **kwargs)
    assert _no_folder()
    assert np.array_equal(system.m.array, m_before)


def test_unknown_driver_attribute():
    with pytest.raises(AttributeError, match="Invalid attribute"):
        embedded.TimeDriver(evolvr="rk")


@pytest.mark.parametrize(
    ("driver", "match"),
    [
        (embedded.TimeDriver(device="tpu"), "device='tpu'"),
        (embedded.TimeDriver(atol=-1), "atol=-1"),
        (embedded.MinDriver(stopping_mxHxm=0), "stopping_mxHxm=0"),
        (embedded.MinDriver(max_iterations=1.5), "max_iterations must be an integer"),
    ],
)
def test_bad_driver_attributes(driver, match):
    kwargs = {"t": 1e-12, "n": 1} if isinstance(driver, embedded.TimeDriver) else {}
    with pytest.raises((ValueError, TypeError), match=match):
        driver.drive(small_system(), **kwargs)
    assert _no_folder()


def test_min_driver_takes_no_time_arguments():
    with pytest.raises(TypeError, match="unexpected argument"):
        embedded.MinDriver().drive(small_system(), t=1e-9)
    assert _no_folder()


@pytest.mark.parametrize(
    ("term", "match"),
    [
        (mm.DMI(D=1e-3, crystalclass="Cnv_z"), "Unsupported term DMI"),
        (mm.CubicAnisotropy(K=1e3, u1=(1, 0, 0), u2=(0, 1, 0)), "CubicAnisotropy"),
        (
            mm.Zeeman(H=(0, 0, 1e5), func="sin", f=1e9, t0=0, name="ac"),
            "time dependent",
        ),
        (mm.Demag(asymptotic_radius=6, name="demag2"), "asymptotic_radius"),
    ],
)
def test_unsupported_energy_terms_are_named(term, match):
    system = small_system()
    system.energy += term
    with pytest.raises(ValueError, match=match):
        embedded.TimeDriver().drive(system, t=1e-12, n=1)
    assert _no_folder()


def test_supported_terms_are_listed_in_the_error():
    system = small_system()
    system.energy += mm.DMI(D=1e-3, crystalclass="T")
    with pytest.raises(ValueError, match="supports the energy terms Exchange, Demag"):
        embedded.MinDriver().drive(system)


def test_unsupported_dynamics_term():
    system = small_system()
    system.dynamics += mm.ZhangLi(u=400, beta=0.5)
    with pytest.raises(ValueError, match="Unsupported term ZhangLi"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1)
    assert _no_folder()


def test_system_without_magnetisation():
    system = mm.System(name="small")
    system.energy = mm.Exchange(A=1e-11)
    system.dynamics = mm.Damping(alpha=0.1)
    with pytest.raises(TypeError, match="has no magnetisation"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1)
    assert _no_folder()


def test_not_a_system():
    with pytest.raises(TypeError, match="micromagneticmodel.System"):
        embedded.MinDriver().drive("sp4")


def test_two_dimensional_mesh():
    mesh = df.Mesh(p1=(0, 0), p2=(10e-9, 10e-9), n=(2, 2))
    system = mm.System(name="small")
    system.energy = mm.Exchange(A=1e-11)
    system.m = df.Field(mesh, nvdim=3, value=(0, 0, 1), norm=1e6)
    with pytest.raises(ValueError, match="needs a 3D mesh"):
        embedded.MinDriver().drive(system)
    assert _no_folder()


def test_periodic_mesh():
    mesh = df.Mesh(p1=(0, 0, 0), p2=(10e-9, 10e-9, 2e-9), n=(2, 2, 1), bc="xy")
    system = mm.System(name="small")
    system.energy = mm.Exchange(A=1e-11)
    system.m = df.Field(mesh, nvdim=3, value=(0, 0, 1), norm=1e6)
    with pytest.raises(ValueError, match="Periodic boundary conditions"):
        embedded.MinDriver().drive(system)
    assert _no_folder()


def test_finite_temperature():
    system = small_system()
    system.T = 300
    with pytest.raises(ValueError, match="Finite temperature"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1)
    assert _no_folder()


def test_missing_energy_or_dynamics_as_oommfc():
    system = small_system()
    system.dynamics = 0
    with pytest.raises(RuntimeError, match="System's dynamics is not defined"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1)
    system.energy = 0
    with pytest.raises(RuntimeError, match="System's energy is not defined"):
        embedded.MinDriver().drive(system)
    assert _no_folder()


def test_zero_anisotropy_axis():
    system = small_system()
    system.energy += mm.UniaxialAnisotropy(K=1e3, u=(0, 0, 0))
    with pytest.raises(ValueError, match="axis u must be non-zero"):
        embedded.MinDriver().drive(system)
    assert _no_folder()


def test_scheduling_is_not_available():
    with pytest.raises(NotImplementedError, match="cannot schedule"):
        embedded.TimeDriver().schedule(small_system(), "sbatch", "header", t=1, n=1)
    assert _no_folder()


def _two_touching_halves(name, A):
    """Two subregions side by side, exchange A given per subregion."""
    region = df.Region(p1=(0, 0, 0), p2=(8e-9, 2e-9, 2e-9))
    subregions = {
        "a": df.Region(p1=(0, 0, 0), p2=(4e-9, 2e-9, 2e-9)),
        "b": df.Region(p1=(4e-9, 0, 0), p2=(8e-9, 2e-9, 2e-9)),
    }
    mesh = df.Mesh(region=region, n=(4, 1, 1), subregions=subregions)
    system = mm.System(name=name)
    system.energy = mm.Exchange(A=A)
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.5)
    system.m = df.Field(mesh, nvdim=3, value=(1, 0, 0), norm=8e5)
    return system


@pytest.mark.parametrize(
    "A",
    [
        {"a": 1e-11, "b": 1e-11},  # OOMMF: a and b not coupled (default_A 0)
        {"a": 1e-11, "default": 4e-11},  # OOMMF couples a|b with 4e-11
    ],
)
def test_exchange_per_subregion_that_oommf_couples_otherwise_is_refused(A):
    system = _two_touching_halves("halves", A)
    with pytest.raises(ValueError, match="Oxs_Exchange6Ngbr.*harmonic mean"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    assert _no_folder("halves")


@pytest.mark.parametrize(
    "A",
    [
        {"a": 1e-11, "b": 1e-11, "default": 1e-11},  # one value everywhere
        {"a": 1e-11},  # b takes 0: no coupling across, in OOMMF too
    ],
)
def test_exchange_per_subregion_that_couples_as_in_oommf_is_driven(A):
    system = _two_touching_halves("same", A)
    embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    assert system.drive_number == 1


def test_dynamics_oommf_would_not_run_are_refused():
    system = small_system()
    system.dynamics += mm.Precession(gamma0=1e5, name="second")
    with pytest.raises(ValueError, match="2 Precession terms"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    system = small_system()  # a negative number micromagneticmodel refuses itself
    gamma0 = df.Field(system.m.mesh, nvdim=1, value=-2.211e5)
    system.dynamics = mm.Precession(gamma0=gamma0) + mm.Damping(alpha=0.1)
    with pytest.raises(ValueError, match="gamma0 must not be negative"):
        embedded.TimeDriver().drive(system, t=1e-12, n=1, verbose=0)
    assert _no_folder()


def test_damping_alone_relaxes_with_oommfs_default_gamma():
    from ubermag_surrogate.embedded.system_input import system_arrays

    system = small_system()
    system.dynamics = mm.Damping(alpha=0.5)
    _, _, arrays = system_arrays(system)
    assert np.all(arrays["gamma0"] == 2.211e5)  # OOMMF's gamma_G, not mm's


@pytest.mark.parametrize(
    "driver, option",
    [
        (embedded.MinDriver, "evolver"),
        (embedded.MinDriver, "stage_iteration_limit"),
        (embedded.TimeDriver, "stopping_dm_dt"),
        (embedded.TimeDriver, "total_iteration_limit"),
    ],
)
def test_oommfc_driver_options_it_lacks_are_refused_by_name(driver, option):
    # micromagneticmodel said only "Invalid attribute"; set after the
    # constructor they were ignored, where oommfc writes them into its .mif
    with pytest.raises(ValueError, match=f"{option}: option.*of oommfc's") as info:
        driver(**{option: 1})
    assert ("max_iterations" in str(info.value)) == (driver is embedded.MinDriver)
    instance = driver()
    setattr(instance, option, 1)
    system = small_system()
    with pytest.raises(ValueError, match=f"{option}: option.*of oommfc's"):
        if driver is embedded.TimeDriver:
            instance.drive(system, t=1e-12, n=1)
        else:
            instance.drive(system)
    assert _no_folder()


def test_hysteresis_driver_is_refused_with_what_to_do():
    with pytest.raises(AttributeError, match="no HysteresisDriver.*MinDriver"):
        embedded.HysteresisDriver()
    with pytest.raises(AttributeError, match="has no attribute 'Tyop'"):
        embedded.Tyop  # noqa: B018


def test_subpackages_are_reached_from_the_package_as_in_a_notebook():
    # `import ubermag_surrogate as us; us.embedded.TimeDriver()` raised
    # AttributeError unless ubermag_surrogate.embedded had been imported
    code = (
        "import sys, ubermag_surrogate as us; "
        "assert 'ubermag_surrogate.embedded' not in sys.modules; "
        "print(us.embedded.TimeDriver.__name__, us.problems.sp4.__name__)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["TimeDriver", "ubermag_surrogate.problems.sp4"]
