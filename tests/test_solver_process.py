"""The embedded calculator's solver process: imported once, reused, never leaked."""

import json
import multiprocessing
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import discretisedfield as df
import numpy as np
import pytest
from helpers import macrospin, small_system

from ubermag_surrogate import embedded
from ubermag_surrogate.embedded import _solver, solver_process


def _result(system):
    drives = pathlib.Path(system.name).glob("drive-*")
    drive = max(drives, key=lambda path: int(path.name.split("-")[1]))
    return json.loads((drive / f"{system.name}-result.json").read_text())


def _drive(system, **kwargs):
    embedded.TimeDriver().drive(system, t=2e-11, n=4, n_threads=1, verbose=0, **kwargs)
    return _result(system)


def _exited(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_drives_reuse_one_process_and_give_the_same_results():
    solver_process.stop_all()
    first, other, again = small_system("first"), macrospin(), small_system("again")
    info_first = _drive(first)
    info_other = _drive(other)
    info_again = _drive(again)
    # one child for all three, which imported torch and magnum.np once
    assert info_first["process_id"] == info_other["process_id"]
    assert info_first["process_id"] == info_again["process_id"]
    assert info_first["process_id"] != os.getpid()
    assert info_first["startup_s"] > 10 * info_again["startup_s"]
    # a reused process computes exactly what a fresh one computes
    assert np.array_equal(first.m.array, again.m.array)
    columns = ["mx", "my", "mz", "E"]
    assert np.array_equal(first.table.data[columns], again.table.data[columns])


def test_idle_process_exits_and_the_next_drive_starts_another(monkeypatch):
    solver_process.stop_all()
    monkeypatch.setattr(solver_process, "IDLE_TIMEOUT", 0.5)
    before = _drive(small_system("before"))["process_id"]
    (process,) = solver_process._processes.values()
    assert process.pid == before
    assert process.process.wait(timeout=30) == solver_process.IDLE_EXIT
    assert solver_process.IDLE_EXIT == _solver.IDLE_EXIT
    after = _drive(small_system("after"))["process_id"]
    assert after != before


def test_failed_drive_ends_its_process(monkeypatch):
    solver_process.stop_all()
    system = small_system("broken")
    _drive(system)
    (process,) = solver_process._processes.values()
    # a real fault: the drive's input file is damaged after it is written
    write_input = embedded.drivers.write_input

    def write_damaged_input(system, **kwargs):
        write_input(system, **kwargs)
        pathlib.Path(f"{system.name}-input.npz").write_bytes(b"not an npz file")

    monkeypatch.setattr(embedded.drivers, "write_input", write_damaged_input)
    with pytest.raises(RuntimeError, match="magnum.np failed") as failure:
        _drive(system)
    assert "Traceback" in str(failure.value)  # the solver's own report, from its log
    assert process.process.poll() == 1
    assert process not in solver_process._processes.values()
    monkeypatch.setattr(embedded.drivers, "write_input", write_input)
    assert _drive(system)["process_id"] != process.pid


def _drive_in_fork(queue):
    system = small_system("forked")
    queue.put(_drive(system)["process_id"])


@pytest.mark.skipif(sys.platform != "linux", reason="fork is a Linux start method")
def test_forked_process_does_not_share_the_solver_process():
    parent = _drive(small_system("parent"))["process_id"]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_drive_in_fork, args=(queue,))
    child.start()
    forked = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert forked != parent
    assert _drive(small_system("parent_again"))["process_id"] == parent


def test_solver_process_ends_with_the_process_that_started_it(tmp_path):
    script = textwrap.dedent(
        """
        import json, pathlib
        from helpers import small_system
        from ubermag_surrogate import embedded

        system = small_system("short")
        embedded.TimeDriver().drive(system, t=1e-11, n=1, verbose=0)
        info = pathlib.Path("short/drive-0/short-result.json").read_text()
        print(json.loads(info)["process_id"])
        """
    )
    tests = pathlib.Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *sys.path])}
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pid = int(output.stdout.split()[-1])
    deadline = time.monotonic() + 30
    while not _exited(pid):
        assert time.monotonic() < deadline, "the solver process outlived its parent"
        time.sleep(0.1)


LONG_DRIVE = textwrap.dedent(
    """
    from ubermag_surrogate import embedded
    from ubermag_surrogate.problems import sp4

    system = sp4.system(name="long", cell=(10e-9, 12.5e-9, 3e-9))
    system.energy += sp4.zeeman(sp4.FIELD1)
    embedded.TimeDriver().drive(system, t=20e-9, n=2000, n_threads=1, verbose=0)
    """
)


@pytest.mark.skipif(
    not pathlib.Path("/proc/self/task").exists(),
    reason="needs Linux /proc to find the solver process",
)
def test_solver_process_stops_mid_drive_when_its_parent_is_killed(tmp_path):
    # SIGKILL, a crashed Jupyter kernel: nothing can stop the drive from the parent.
    parent = subprocess.Popen([sys.executable, "-c", LONG_DRIVE], cwd=tmp_path)
    table = tmp_path / "long" / "drive-0" / "long.odt"
    deadline = time.monotonic() + 120
    while not table.exists() or table.read_text().count("\n") < 8:
        assert parent.poll() is None, "the drive ended before the test could kill it"
        assert time.monotonic() < deadline, "the drive never produced output"
        time.sleep(0.1)
    children = pathlib.Path(f"/proc/{parent.pid}/task/{parent.pid}/children")
    (solver,) = (int(pid) for pid in children.read_text().split())
    parent.kill()
    parent.wait(timeout=30)
    # the drive had minutes to go; the solver process stops at once
    deadline = time.monotonic() + 5
    while not _exited(solver):
        assert time.monotonic() < deadline, "the solver process outlived its parent"
        time.sleep(0.1)


def test_a_drive_folder_reruns_by_hand_with_the_same_results():
    # _solver.py NAME.json: rerun one drive's input outside Python, e.g. to debug
    system = small_system("by_hand")
    embedded.TimeDriver().drive(system, t=2e-11, n=4, n_threads=1, verbose=0)
    drive = pathlib.Path("by_hand", "drive-0").absolute()
    table = (drive / "by_hand.odt").read_text().splitlines()
    omfs = sorted(drive.glob("by_hand-Oxs_TimeDriver-Magnetization-*.omf"))
    assert len(omfs) == 4
    assert not (drive / "by_hand.odt.part").exists()  # the drive's, converted
    run = subprocess.run(
        [sys.executable, _solver.__file__, str(drive / "by_hand.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rerun = (drive / "by_hand.odt.part").read_text().splitlines()
    rows = [line for line in table if not line.startswith("#")]
    assert len(rows) == 4
    assert [line for line in rerun if not line.startswith("#")] == rows
    steps = np.load(drive / "by_hand-steps.npy")
    for step, omf in zip(steps, omfs, strict=True):
        np.testing.assert_array_equal(step, df.Field.from_file(omf).array)
