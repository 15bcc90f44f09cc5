"""The command line and the tutorials run as a user runs them."""

import json
import pathlib
import runpy
import subprocess
import sys

import pytest

import ubermag_surrogate as us
from ubermag_surrogate.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quickstart_writes_drives_summary_and_figure(tmp_path, capsys):
    out = tmp_path / "qs"
    code = main(
        [
            "quickstart",
            "--out",
            str(out),
            "--calculator",
            "embedded",
            "--cell",
            "10,12.5,3",
            "--t",
            "2e-10",
            "--steps",
            "10",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["calculator"] == "ubermag_surrogate.embedded"
    assert summary["mesh_n"] == [50, 10, 1]
    assert summary["s_state_mean_m"][0] > 0.9
    for label in ("field1", "field2"):
        run = summary["runs"][label]
        assert (out / run["drive"] / "info.json").is_file()
        assert len(list((out / run["drive"]).glob("sp4-Oxs_TimeDriver-*.omf"))) == 10
        # both fields push <mx> towards -1: it has fallen within 0.2 ns
        assert run["final_mean_m"][0] < summary["s_state_mean_m"][0] - 0.1
    assert (out / "sp4_mean_m.png").stat().st_size > 10_000


def test_console_script_is_installed():
    result = subprocess.run(
        ["ubermag-surrogate", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "quickstart" in result.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["quickstart", "--cell", "5,5"], "not three positive numbers"),
        (["quickstart", "--steps", "0"], "'0' is not a positive integer"),
        (["quickstart", "--t", "-1"], "'-1' is not a positive number"),
        (["generate", "--out", "x.zarr", "--n-samples", "-3"], "not a positive int"),
        (["generate", "--out", "x.zarr", "--domain", "mars"], "invalid choice"),
        (["generate", "--n-samples", "3"], "required: --out"),
        (["quickstart", "--calculator", "mumax"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_cell_that_does_not_divide_the_film(capsys):
    assert main(["quickstart", "--cell", "7,5,3", "--calculator", "embedded"]) == 1
    assert "cannot be divided" in capsys.readouterr().err


def test_quickstart_without_oommf_says_so(capsys):
    if us.oommf_available():
        pytest.skip("OOMMF is installed here")
    assert main(["quickstart", "--calculator", "oommf"]) == 1
    assert "cannot find OOMMF" in capsys.readouterr().err


def test_embedded_calculator_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("SP4_CELL_NM", "10,12.5,3")
    monkeypatch.setattr(sys, "argv", ["01_embedded_calculator.py"])
    namespace = runpy.run_path(str(ROOT / "tutorials" / "01_embedded_calculator.py"))
    assert namespace["drive"].n == 100
    assert 100e-12 < namespace["crossing"] < 200e-12
    assert (tmp_path / "sp4_tutorial_mean_m.png").is_file()
    assert (tmp_path / "sp4_tutorial_final_state.png").is_file()
