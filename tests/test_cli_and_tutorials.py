"""The command line and the tutorials run as a user runs them."""

import argparse
import json
import pathlib
import runpy
import shlex
import shutil
import signal
import subprocess
import sys

import micromagneticdata as md
import numpy as np
import pytest
from helpers import SP4_TEST_PARAMS

import ubermag_surrogate as us
from ubermag_surrogate import cli
from ubermag_surrogate.cli import COMMANDS, MODEL_KINDS, build_parser, main
from ubermag_surrogate.data import in_plane_field
from ubermag_surrogate.models import load
from ubermag_surrogate.models.base import _REGISTRY
from ubermag_surrogate.problems import sp4

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quickstart_runs_the_pipeline_into_one_folder(tmp_path, capsys):
    out = tmp_path / "qs"
    argv = [
        "quickstart",
        "--out",
        str(out),
        "--calculator",
        "embedded",
        "--cell",
        "10,12.5,3",
        "--n-samples",
        "6",
        "--t",
        "2e-10",
        "--steps",
        "20",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"Results: {out}" in printed
    assert "relative trajectory error" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["calculator"] == "embedded"
    assert summary["mesh_n"] == [50, 10, 1]
    assert summary["s_state_mean_m"][0] > 0.9
    assert summary["training"]["n_fields"] == 6
    assert summary["field2"]["field_T"] == pytest.approx(list(sp4.FIELD2))
    assert 0 < summary["field2"]["relative_error"] < 1
    assert summary["field2"]["speed_up_drive"] > 1
    for name in ("mean_m.png", "snapshots.png", "comparison.json"):
        assert (out / "comparison" / name).stat().st_size > 1_000
    assert (
        load(out / "sp4_kernel.npz").fingerprint_ == summary["model"]["training_data"]
    )
    for system in ("sp4_surrogate", "sp4_simulation"):
        assert md.Data(system, dirname=str(out))[-1].n == 20
    # a second run reuses the stored simulations
    assert main(argv) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["training"]["simulated_now"] == 0


def test_paths_given_with_a_tilde_are_the_home_folder(
    sp4_model_file, tmp_path, monkeypatch, capsys
):
    # "--out=~/runs" reaches the program unexpanded: it made a folder "~" here
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    shutil.copy(sp4_model_file, home / "models" / "m.npz")
    monkeypatch.setenv("HOME", str(home))
    argv = ["predict", "--model=~/models/m.npz", "--field", "36mT@190deg"]
    assert main([*argv, "--t", "1e-10", "--steps", "2", "--out=~/runs"]) == 0
    assert md.Data("sp4", dirname=str(home / "runs"))[-1].n == 2
    assert not pathlib.Path("~").exists()


def test_train_predict_compare(sp4_store, tmp_path, capsys):
    model_path = tmp_path / "models" / "model.npz"  # folder made before the fit
    params = json.dumps(SP4_TEST_PARAMS)
    assert (
        main(
            [
                "train",
                "--data",
                str(sp4_store.path),
                "--params",
                params,
                "--out",
                str(model_path),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "written to" in printed
    model = load(model_path)
    assert model.n_components == SP4_TEST_PARAMS["n_components"]
    assert model.describe().split("\nwritten by")[0] in printed
    assert main(["describe", "--model", str(model_path)]) == 0
    described = capsys.readouterr().out
    assert described == model.describe() + "\n"
    assert "verbose" not in described  # no property of the model

    out = tmp_path / "runs"
    assert (
        main(
            [
                "predict",
                "--model",
                str(model_path),
                "--field",
                "36mT@190deg",
                "--t",
                "1e-10",
                "--steps",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "<m> at the end" in printed
    assert f"micromagneticdata.Data('sp4', dirname={str(out)!r})" in printed
    sensitivity = float(printed.split("Field sensitivity: ")[1].split()[0])
    expected = model.field_sensitivity(in_plane_field(36, 190), t=1e-10, n=10)
    assert sensitivity == pytest.approx(expected[0], abs=1e-3)
    drive = md.Data("sp4", dirname=str(out))[-1]
    assert drive.n == 10
    assert drive.info["model_id"] == model.model_id
    assert drive.info["training_data"] == model.fingerprint_
    request = json.loads((drive.drive_path / "sp4-request.json").read_text())
    expected = 36e-3 * np.array([np.cos(np.deg2rad(190)), np.sin(np.deg2rad(190)), 0])
    assert np.allclose(request["field_T"], expected)
    # by default the model's horizon, every trained step
    argv = ["predict", "--model", str(model_path), "--field", "36mT@190deg"]
    assert main([*argv, "--out", str(out)]) == 0
    horizon = model.n_steps_ * model.dt_
    assert f"t = {horizon:.3g} s, {model.n_steps_} outputs" in capsys.readouterr().out
    assert md.Data("sp4", dirname=str(out))[-1].n == model.n_steps_
    # warnings as one line each, without Python's source line
    assert main([*argv, "--t", str(2 * horizon), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ubermag-surrogate predict: ExtrapolationWarning: Predicting" in err
    assert "driver.drive(" not in err
    # a strong field: the API's hint about mT given as T is no advice here
    assert main([*argv[:-2], "--field=5000,0,0", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ExtrapolationWarning" in err and "0.035" not in err
    # a time that is no whole number of trained steps, steps not given
    assert main([*argv, "--t", str(2.5 * model.dt_), "--out", str(out)]) == 1
    assert "not a whole number of the model's time steps" in capsys.readouterr().err

    assert (
        main(
            [
                "compare",
                "--model",
                str(model_path),
                "--field=-35,-6,0",  # a leading minus needs the = form
                "--t",
                "1e-10",
                "--steps",
                "10",
                "--out",
                str(out),
                "--calculator",
                "embedded",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "speed-up" in printed
    report = json.loads(
        (out / "sp4_comparison" / "drive-0" / "comparison.json").read_text()
    )
    assert report["field_T"] == pytest.approx([-0.035, -0.006, 0])
    assert (out / "sp4_comparison" / "drive-0" / "snapshots.png").is_file()
    # a second comparison keeps the first one's report (it was replaced)
    argv = ["compare", "--model", str(model_path), "--field", "36mT@90deg", "--t"]
    argv += ["2e-11", "--steps", "2", "--out", str(out), "--calculator", "embedded"]
    assert main(argv) == 0
    capsys.readouterr()
    first, second = (
        json.loads(
            (out / "sp4_comparison" / f"drive-{i}" / "comparison.json").read_text()
        )
        for i in (0, 1)
    )
    assert first["field_T"] == pytest.approx([-0.035, -0.006, 0])
    assert second["field_T"] == pytest.approx([0, 0.036, 0], abs=1e-12)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--data", "{store}", "--kind", "forest", "--out", "m.npz"],
            "Unknown model kind 'forest'",
        ),
        (
            [
                "train",
                "--data",
                "{store}",
                "--params",
                '{"depth": 3}',
                "--out",
                "m.npz",
            ],
            "Unknown kernel model parameters ['depth']",
        ),
        (["train", "--data", "nowhere.zarr", "--out", "m.npz"], "No trajectory store"),
        (
            ["train", "--data", "{store}/zarr.json", "--out", "m.npz"],
            "is a file but not a trajectory store",
        ),
        (
            ["generate", "--n-samples", "1", "--out", "{store}/.."],
            "is a folder but not a trajectory store",
        ),
        (
            ["train", "--data", "{store}/m", "--out", "m.npz"],  # the store's array
            "is not a trajectory store (An array already exists",
        ),
        (
            ["train", "--data", "{store}", "--out", "{store}"],
            "is a directory; name the model file",
        ),
        (
            ["predict", "--model", "nowhere.npz", "--field", "36mT@190deg"],
            "nowhere.npz",
        ),
        (["describe", "--model", "{store}"], "is a folder, not a model file"),
        (
            ["train", "--data", "{store}", "--params", '{"normalize": "false"}']
            + ["--out", "m.npz"],
            "normalize must be True or False, not 'false'",
        ),
        (
            ["generate", "--out", "x.zarr", "--workers", "2"]
            + ["--scheduler", "tcp://nowhere:8786"],
            "Give either --workers",
        ),
        (
            ["evaluate", "--model", "m.npz", "--data", "{store}"]
            + ["--out", "{store}/zarr.json"],
            "is a file; name a folder",
        ),
        (  # refused before any simulation (it was after them)
            ["quickstart", "--n-samples", "4", "--steps", "5"]
            + ["--out", "{store}/../never"],
            "4 x (--steps 5 + 1) = 24 training states, fewer than the 60",
        ),
        (["quickstart", "--out", "{store}/zarr.json"], "is a file; name a folder"),
        (
            ["quickstart", "--n-samples", "1", "--steps", "60"]
            + ["--out", "{store}/../never"],
            "--n-samples 1: a surrogate learns",
        ),
    ],
)
def test_commands_fail_with_a_message(argv, message, sp4_store, capsys):
    argv = [a.replace("{store}", str(sp4_store.path)) for a in argv]
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run(
        ["ubermag-surrogate", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "quickstart" in result.stdout


def _command_parsers():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help_describes_every_option_and_its_examples_parse(command, capsys):
    parser = _command_parsers()[command]
    for action in parser._actions:
        assert action.help, f"{command} {action.option_strings} has no help"
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert COMMANDS[command][1].split()[0] in text  # the description
    examples = COMMANDS[command][2]
    assert examples
    for example in examples:
        assert example in text
        argv = shlex.split(example)
        assert argv[:2] == ["ubermag-surrogate", command]
        args = build_parser().parse_args(argv[1:])
        assert args.func is parser.get_default("func")
    words = " ".join(text.split())
    for option in ("--t", "--steps", "--n-samples", "--calculator", "--cell"):
        default = parser.get_default(option.lstrip("-").replace("-", "_"))
        if default is not None:
            assert f"(default: {default})" in words


def test_train_help_names_the_registered_model_kinds():
    assert set(MODEL_KINDS) == set(_REGISTRY)


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
        (["predict", "--model", "m.npz", "--field", "36mT"], "is not a field"),
        (["predict", "--model", "m.npz", "--field", "1,2"], "is not a field"),
        (
            ["predict", "--model", "m.npz", "--field=-2.8e7,-4974,0"],
            "fields are given in mT here",
        ),
        (
            ["predict", "--model", "m.npz", "--field", "1e999mT@190deg"],
            "fields are given in mT here",
        ),
        (  # each component below the limit, the magnitude above it
            ["predict", "--model", "m.npz", "--field=80000,80000,0"],
            "up to 100000 mT in magnitude",
        ),
        (
            ["predict", "--model", "m.npz", "--field", "36mT@0deg", "--name", ""],
            "'' is not a system name",
        ),
        (
            ["predict", "--model", "m.npz", "--field", "36mT@0deg", "--name", "class"],
            "'class' is not a system name",
        ),
        (
            ["generate", "--out", "x.zarr", "--seed", "-1"],
            "'-1' is not an integer >= 0",
        ),
        (["compare", "--field", "36mT@190deg"], "required: --model"),
        (
            ["train", "--data", "x.zarr", "--out", "m.npz", "--params", "{bad"],
            "is not JSON",
        ),
        (
            ["train", "--data", "x.zarr", "--out", "m.npz", "--params", "[1]"],
            "not a JSON object",
        ),
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


MISSING_EXTRAS_SCRIPT = """
import sys

sys.modules["keras"] = None  # as if not installed: import and find_spec fail
sys.modules["magnumnp"] = None
sys.path.insert(0, TESTS)
from helpers import small_system

import ubermag_surrogate as us
from ubermag_surrogate.cli import main

code = main(["train", "--data", STORE, "--kind", "neural", "--out", "n.npz"])
print("train exit", code)
system = small_system()
try:
    us.embedded.TimeDriver().drive(system, t=1e-12, n=1)
except RuntimeError as exc:
    print("drive:", exc)
"""


def test_a_missing_extra_is_one_line_before_any_work(sp4_store, tmp_path):
    # without Keras, `train --kind neural` printed a traceback after reading the
    # data; without magnum.np, an embedded drive failed in its solver process and
    # left a drive folder. Both packages hidden in a process of its own.
    script = MISSING_EXTRAS_SCRIPT.replace("TESTS", repr(str(ROOT / "tests")))
    script = script.replace("STORE", repr(str(sp4_store.path)))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "train exit 1" in result.stdout
    assert "train: error: Training a neural surrogate needs Keras 3" in result.stderr
    assert "Traceback" not in result.stderr and "fit:" not in result.stderr
    assert "drive: The embedded calculator needs magnum.np and torch: pip " in (
        result.stdout
    )
    assert "ubermag-surrogate[embedded]" in result.stdout
    assert not (tmp_path / "small").exists()  # refused before the drive folder
    assert not (tmp_path / "n.npz").exists()


def test_embedded_calculator_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("SP4_CELL_NM", "10,12.5,3")
    monkeypatch.setattr(sys, "argv", ["01_embedded_calculator.py"])
    namespace = runpy.run_path(str(ROOT / "tutorials" / "01_embedded_calculator.py"))
    assert namespace["drive"].n == 100
    assert 100e-12 < namespace["crossing"] < 200e-12
    assert (tmp_path / "sp4_tutorial_mean_m.png").is_file()
    assert (tmp_path / "sp4_tutorial_final_state.png").is_file()


@pytest.fixture(scope="module")
def tutorial_dir(tmp_path_factory):
    """One folder for tutorials 02 and 03, as a user runs them: 03 reuses 02's store."""
    return tmp_path_factory.mktemp("tutorials")


def test_surrogate_driver_tutorial_runs(tutorial_dir, monkeypatch):
    monkeypatch.chdir(tutorial_dir)
    monkeypatch.setenv("SP4_CELL_NM", "10,12.5,3")
    monkeypatch.setenv("SP4_N_FIELDS", "6")
    monkeypatch.setenv("SP4_T", "2e-10")
    monkeypatch.setattr(sys, "argv", ["02_surrogate_driver.py"])
    namespace = runpy.run_path(str(ROOT / "tutorials" / "02_surrogate_driver.py"))
    assert namespace["drive"].n == 20
    assert namespace["same_end"]  # two drives of t/2 continue to one drive's end
    assert md.Data("sp4_surrogate_halves").n == 2
    assert md.Data("sp4_surrogate_tutorial")[-1].info["field_sensitivity"] > 0
    assert namespace["curves"]["mx"].shape == (10, 21)
    assert namespace["comparison"].relative_error < 1
    assert (tutorial_dir / "sp4_tutorial_comparison" / "snapshots.png").is_file()


def test_neural_surrogate_tutorial_runs(tutorial_dir, monkeypatch):
    monkeypatch.chdir(tutorial_dir)  # the training simulations of tutorial 02's test
    monkeypatch.setenv("SP4_CELL_NM", "10,12.5,3")
    monkeypatch.setenv("SP4_N_FIELDS", "6")
    monkeypatch.setenv("SP4_T", "2e-10")
    monkeypatch.setenv("NEURAL_EPOCHS", "3,4")
    monkeypatch.setattr(sys, "argv", ["03_neural_surrogate.py"])
    namespace = runpy.run_path(str(ROOT / "tutorials" / "03_neural_surrogate.py"))
    neural = namespace["neural"]
    assert [e for e, _ in namespace["checks"]] == [1, 2, 3, 4]
    assert neural.integrator_.best_epoch_ in (1, 2, 3, 4)
    assert len(neural.validation_samples_) == 1  # a fifth of 6 fields
    assert namespace["same"]
    for evaluation in namespace["scores"].values():
        assert len(evaluation.fields) == 2
        assert np.all(evaluation.mean_m_error > 0)
    assert md.Data("sp4_neural_tutorial")[-1].n == 20


def test_own_system_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OWN_N_FIELDS", "16")
    monkeypatch.setenv("OWN_T", "1e-10")
    monkeypatch.setattr(sys, "argv", ["04_your_own_system.py"])
    # as `python 04_your_own_system.py` does: its system factory lives in __main__,
    # which cloudpickle sends to the simulation workers by value
    namespace = runpy.run_path(
        str(ROOT / "tutorials" / "04_your_own_system.py"), run_name="__main__"
    )
    model = namespace["model"]
    assert model.field_domain_.kind == "box"
    covered = model.training_fields_ * 1e3
    low, high = covered.min(axis=0), covered.max(axis=0)
    assert (
        "field domain element_reversal: [-40, -20] x [-10, 10] x [0, 0] mT (fields "
        f"cover [{low[0]:.2f}, {high[0]:.2f}] x [{low[1]:.2f}, {high[1]:.2f}] x "
        "[0.00, 0.00] mT)"
    ) in model.describe()
    assert len(model.training_fields_) == 16
    assert len(namespace["evaluation"].mean_m_error) == 5
    assert namespace["drive"].n == 10
    assert namespace["curves"]["mx"].shape == (11, 11)
    assert namespace["comparison"].relative_error < 0.5


def test_a_command_that_keeps_its_work_after_sigterm_still_exits_143(
    monkeypatch, capsys
):
    # `train` keeps an interrupted neural fit and returns normally: after SIGTERM
    # (a batch time limit) it exited 0, so `train && next-step` went on
    def kept_after_interrupt(args):
        try:
            signal.raise_signal(signal.SIGTERM)
        except KeyboardInterrupt:
            print("kept what was done")
        return 0

    monkeypatch.setattr(cli.commands, "describe", kept_after_interrupt)
    assert cli.main(["describe", "--model", "model.npz"]) == 143
    captured = capsys.readouterr()
    assert "kept what was done" in captured.out
    assert "describe: terminated (SIGTERM); what was done is kept." in captured.err
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored


def test_ctrl_c_exits_130_and_says_what_is_kept(monkeypatch, capsys):
    # Ctrl-C (SIGINT) must not exit 0: `generate && train` would go on with a
    # store that lacks what the interrupted run did not simulate
    def interrupted(args):
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(cli.commands, "generate", interrupted)
    argv = ["generate", "--n-samples", "2", "--out", "cut.zarr"]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert err.startswith("ubermag-surrogate generate: interrupted.")
    assert "Completed simulations are in the store: rerun the same command" in err
    assert "Traceback" not in err


def test_evaluate_keeps_an_earlier_report(sp4_store, tmp_path, capsys):
    # a second evaluate into the same --out replaced the first one's results
    (tmp_path / "evaluation.json").write_text("{}")
    argv = ["evaluate", "--model", "m.npz", "--data", str(sp4_store.path)]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    assert "holds an earlier evaluation" in capsys.readouterr().err
    assert (tmp_path / "evaluation.json").read_text() == "{}"
