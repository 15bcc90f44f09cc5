"""Progress bars: live in a terminal, plain lines in a log file."""

import fcntl
import os
import re
import struct
import sys
import termios

import tqdm.auto

from ubermag_surrogate import _progress
from ubermag_surrogate.cli import main


def test_a_bar_in_a_log_writes_plain_lines_at_most_every_interval(capsys):
    # pytest's captured stderr is no terminal, as a batch job's log is not
    bar = _progress.progress_bar(total=200, desc="epochs", unit="epoch")
    # tqdm's monitor thread redraws after maxinterval (10 s by default)
    assert bar.mininterval == bar.maxinterval == _progress.LOG_INTERVAL == 30
    for i in range(200):
        bar.set_postfix(loss=f"{1 / (i + 1):.3g}")  # each epoch: no line each
        bar.update()
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert 2 <= len(lines) <= 4, lines  # the start, the end (and a 30 s tick)
    assert lines[0].startswith("epochs:   0% 0/200 [")
    assert re.fullmatch(r"epochs: 100% 200/200 \[.*, loss=0\.005\]", lines[-1])


def test_a_new_stage_writes_a_line_and_nested_bars_write_no_escapes(capsys):
    stages = _progress.progress_bar(total=2, desc="fit", unit="stage", leave=False)
    stages.set_postfix_str("reading")
    inner = _progress.progress_bar(total=3, desc="epochs", unit="epoch", leave=False)
    inner.update(3)
    inner.close()
    stages.update()
    stages.set_postfix_str("integrator")
    stages.update()
    stages.close()
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    assert "fit:   0% 0/2 [00:00<?, ?stage/s, reading]" in err.splitlines()
    assert any(line.endswith(", integrator]") for line in err.splitlines())
    assert any(line.startswith("epochs: 100% 3/3") for line in err.splitlines())


def test_a_bar_in_a_terminal_is_a_live_tqdm_bar(monkeypatch):
    primary, secondary = os.openpty()  # a real terminal, 24 x 80 characters
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with os.fdopen(secondary, "w") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        bar = _progress.progress_bar(total=3, desc="simulations", unit="sim")
        assert type(bar) is tqdm.auto.tqdm
        bar.update(3)
        bar.close()
    # everything written: one read may return only the first write; with the
    # terminal's other end closed, Linux raises EIO once all is read
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    written = b"".join(chunks).decode()
    assert "\r" in written and "3/3" in written  # redrawn in place


def test_generate_logs_one_line_per_interval(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["generate", "--n-samples", "2", "--t", "2e-11", "--steps", "2"]
    argv += ["--cell", "25,25,3", "--out", "s.zarr", "--calculator", "embedded"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    bar = [line for line in err.splitlines() if line.startswith("simulations:")]
    assert bar[0].startswith("simulations:   0% 0/2 [")
    assert re.fullmatch(r"simulations: 100% 2/2 \[.*, failed=0\]", bar[-1])
    assert len(bar) <= 3
