import os
import pathlib
import tempfile

import pytest

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
