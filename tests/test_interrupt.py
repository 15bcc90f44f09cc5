"""An interrupted drive keeps what it computed (nothing lost, nothing half-written)."""

import json
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import micromagneticdata as md
import numpy as np

SCRIPT = textwrap.dedent(
    """
    from ubermag_surrogate import embedded
    from ubermag_surrogate.problems import sp4

    system = sp4.system(name="long", cell=(10e-9, 12.5e-9, 3e-9))
    system.energy += sp4.zeeman(sp4.FIELD1)
    embedded.TimeDriver().drive(system, t=20e-9, n=2000, n_threads=1, verbose=0)
    """
)


def _rows(path):
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line and line[0] != "#")


def test_ctrl_c_keeps_completed_outputs(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    table = tmp_path / "long" / "drive-0" / "long.odt"
    deadline = time.monotonic() + 120
    while _rows(table) < 3:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the drive never produced output"
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode != 0
    assert "KeyboardInterrupt: Drive of 'long' interrupted after" in stderr
    drive_dir = pathlib.Path(tmp_path, "long", "drive-0")
    info = json.loads((drive_dir / "info.json").read_text())
    assert info["success"] is False
    rows = _rows(table)
    assert 3 <= rows < 2000
    omf = sorted(drive_dir.glob("long-Oxs_TimeDriver-*.omf"))
    assert len(omf) == rows
    assert not list(drive_dir.glob("*-steps.npy"))
    drive = md.Data("long", dirname=str(tmp_path))[-1]
    assert drive.n == rows
    mean = drive[-1].orientation.mean()
    assert np.allclose(mean, drive.table.data[["mx", "my", "mz"]].iloc[-1], atol=1e-12)
