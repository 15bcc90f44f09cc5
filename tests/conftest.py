import os
import pathlib
import tempfile

import pytest
from helpers import SP4_NEURAL_PARAMS, SP4_TEST_CELL, SP4_TEST_DOMAIN, SP4_TEST_PARAMS

# Cached initial states (s-states) go to a per-run directory, not the user's cache.
os.environ["UBERMAG_SURROGATE_CACHE"] = tempfile.mkdtemp(prefix="us-test-cache-")

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OOMMF_DATA = SHARED / "oommf"


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path, monkeypatch):
    """Every test drives systems inside its own temporary directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def oommf_data():
    """Real OOMMF SP4 results in ../shared/oommf (see ../shared/README.md)."""
    if not OOMMF_DATA.is_dir():
        pytest.skip(f"reference data {OOMMF_DATA} not found")
    return OOMMF_DATA


@pytest.fixture(scope="session")
def sp4_store(tmp_path_factory):
    """8 coarse SP4 cases (50 x 10 x 1 cells), 0.2 ns in 20 steps, real simulations."""
    from ubermag_surrogate.data.generate import generate
    from ubermag_surrogate.data.store import TrajectoryStore
    from ubermag_surrogate.problems import sp4

    path = tmp_path_factory.mktemp("sp4_store") / "train.zarr"
    summary = generate(
        sp4.problem(cell=SP4_TEST_CELL),
        SP4_TEST_DOMAIN.sample(8, method="sobol", seed=0),
        t=2e-10,
        n=20,
        calculator="embedded",
        store=path,
        workers=2,
        progress=False,
        domain=SP4_TEST_DOMAIN,
    )
    assert summary.failed == 0
    return TrajectoryStore(path)


@pytest.fixture(scope="session")
def sp4_model(sp4_store):
    """A kernel surrogate fitted on ``sp4_store``."""
    from ubermag_surrogate.models import KernelSurrogate

    return KernelSurrogate(**SP4_TEST_PARAMS).fit(sp4_store)


@pytest.fixture(scope="session")
def sp4_model_file(sp4_model, tmp_path_factory):
    """``sp4_model`` saved to a file."""
    return sp4_model.save(tmp_path_factory.mktemp("sp4_model") / "sp4_kernel.npz")


@pytest.fixture(scope="session")
def sp4_neural_model(sp4_store):
    """A neural surrogate (small networks) fitted on ``sp4_store``."""
    from ubermag_surrogate.models import NeuralSurrogate

    return NeuralSurrogate(**SP4_NEURAL_PARAMS).fit(sp4_store)
