"""The files of a surrogate drive, laid out as oommfc lays out a ``TimeDriver`` drive.

``micromagneticdata`` chooses its reader from the folder layout (OOMMF unless a
``<name>.out`` folder exists) and the independent variable from ``info.json``'s
``"driver"`` (``"TimeDriver"`` -> ``t``). A surrogate drive therefore holds an
OOMMF-style ``<name>.odt`` table (renamed by ubermagtable to ``t``, ``mx``, ``my``,
``mz``, ...) and one ``<name>-Oxs_TimeDriver-Magnetization-<stage>-<iteration>.omf``
per output, written with discretisedfield.
"""

import pathlib

import numpy as np
import pandas as pd
import ubermagtable as ut

# (OOMMF column, ubermagtable's name for it, unit)
COLUMNS = (
    ("Oxs_TimeDriver::Iteration", "iteration", ""),
    ("Oxs_TimeDriver::Stage iteration", "stage_iteration", ""),
    ("Oxs_TimeDriver::Stage", "stage", ""),
    ("Oxs_TimeDriver::mx", "mx", ""),
    ("Oxs_TimeDriver::my", "my", ""),
    ("Oxs_TimeDriver::mz", "mz", ""),
    ("Oxs_TimeDriver::Last time step", "last_time_step", "s"),
    ("Oxs_TimeDriver::Simulation time", "t", "s"),
)


def table_values(times, mean_m, steps_per_output):
    """Columns of the drive's table for outputs 1..n (t = 0 is not a row).

    Parameters
    ----------
    times : numpy.ndarray
        Output times (s), ``(n+1,)`` with t = 0 first.
    mean_m : numpy.ndarray
        Mean unit magnetisation, ``(n+1, 3)``.
    steps_per_output : int
        Model steps between outputs (the "iterations" of a surrogate).

    Returns
    -------
    numpy.ndarray
        ``(n, len(COLUMNS))``, float64.
    """
    n = len(times) - 1
    index = np.arange(1, n + 1)
    dt = (times[1] - times[0]) / steps_per_output  # the model's step, OOMMF's last
    return np.column_stack(
        [
            index * steps_per_output,
            np.full(n, steps_per_output),
            index - 1,
            mean_m[1:],
            np.full(n, dt),
            times[1:],
        ]
    ).astype(np.float64)


def table(values):
    """Return the ``ubermagtable.Table`` that reading the written table gives."""
    data = pd.DataFrame(values, columns=[name for _, name, _ in COLUMNS])
    units = {name: unit for _, name, unit in COLUMNS}
    return ut.Table(data, units, x="t")


def write_table(path, values, title="ubermag-surrogate SurrogateDriver"):
    """Write an OOMMF ``.odt`` table (full float64 precision)."""

    def braced(text):
        return "{" + text + "}" if not text or " " in text else text

    names = " ".join(braced(column) for column, _, _ in COLUMNS)
    units = " ".join(braced(unit) for _, _, unit in COLUMNS)
    rows = "\n".join(" ".join(f"{v:.17g}" for v in row) for row in values)
    text = (
        f"# ODT 1.0\n# Table Start\n# Title: {title}\n# Columns: {names}\n"
        f"# Units: {units}\n{rows}\n# Table End\n"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def snapshot_name(name, stage, iteration, n_outputs):
    """OOMMF's name of the magnetisation file of one output."""
    width = max(5, len(str(n_outputs)))
    return f"{name}-Oxs_TimeDriver-Magnetization-{stage:0{width}d}-{iteration:07d}.omf"


def write_snapshots(name, fields, iterations, representation="bin8"):
    """Write one ``.omf`` file per output.

    Parameters
    ----------
    name : str
        System name.
    fields : iterable of discretisedfield.Field
        Magnetisation (A/m) of outputs 1..n.
    iterations : array_like of int
        Iteration number of each output.
    representation : str
        ``"bin8"``, ``"bin4"`` or ``"txt"``.

    Returns
    -------
    int
        Files written: all of them, or after a Ctrl-C those before it (the file
        being written is removed, so none is half-written; the caller raises the
        interrupt again).
    """
    iterations = [int(i) for i in iterations]
    written, writing = 0, None
    try:
        for stage, (field, iteration) in enumerate(
            zip(fields, iterations, strict=True)
        ):  # fields may be made lazily: a Ctrl-C may come while one is made
            writing = snapshot_name(name, stage, iteration, len(iterations))
            field.to_file(writing, representation=representation)
            written, writing = written + 1, None
    except KeyboardInterrupt:
        if writing is not None:  # the file begun, not the ones before it
            pathlib.Path(writing).unlink(missing_ok=True)
    return written
