"""The benchmarks rerun by one command: their arguments, inputs and JSON files.

What they measure is not tested here (benchmarks/ holds the speed targets); a
mistyped option or a missing input must be a message, and their files strict JSON.
"""

import json
import pathlib
import subprocess
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).parents[1] / "benchmarks"


@pytest.fixture
def bench_modules(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _data
    import _results

    return _data, _results


def test_results_are_strict_json_with_the_versions_that_decide_timings(
    bench_modules, tmp_path
):
    _, results = bench_modules
    path = results.write_results(
        tmp_path / "r.json", "test", error=float("nan"), needed=float("inf"), ok=1.5
    )

    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    record = json.loads(path.read_text(), parse_constant=refuse)
    assert record["error"] is None and record["needed"] is None
    assert record["ok"] == 1.5
    machine = record["machine"]
    assert {"cpu", "cores_available", "numpy", "scipy", "scikit-learn"} <= set(machine)
    assert "torch" in machine  # installed with the package (README)


def test_a_store_that_is_not_made_on_first_use_must_exist(bench_modules, tmp_path):
    data, _ = bench_modules
    with pytest.raises(SystemExit, match="sp4_field2_nosuch.zarr: no such store"):
        data.store(tmp_path, "sp4_field2", "nosuch")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench_driver.py", "--model", "nosuch.npz"], "'nosuch.npz': no such file"),
        (["bench_driver.py", "--data", "nosuch.zarr"], "no such store"),
        (["bench_kernel.py", "--params", "x"], "'x' is not JSON"),
        (["learning_curve.py", "--sizes", "5,x"], "not a comma-separated list"),
        (["study_integrator.py", "--variants", "{}"], "not a JSON list"),
    ],
)
def test_mistyped_options_are_messages(argv, message, tmp_path):
    # each was a traceback (or, for --repeat 0, one after a whole warm-up drive)
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_per_field_errors_read_back_null_as_nan(bench_modules, tmp_path, monkeypatch):
    # strict JSON writes a non-finite error as null: it came back as None, in an
    # object array that failed the mean and the table
    import numpy as np

    _, results = bench_modules
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import field_sensitivity

    record = {
        "domain": "sp4_field2",
        "ours": {"mean_m_error_per_field": [0.01, float("nan"), 0.02]},
    }
    path = results.write_results(tmp_path / "k.json", "kernel", records=[record])
    errors = field_sensitivity.per_field_errors(path, "sp4_field2", 3)
    assert errors.dtype == float and np.isnan(errors[1])
    assert np.nanmean(errors) == 0.015
