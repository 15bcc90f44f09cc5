"""The files of a surrogate drive, laid out as oommfc lays out a ``TimeDriver`` drive.

``micromagneticdata`` chooses its reader from the folder layout (OOMMF unless a
``<name>.out`` folder exists) and the independent variable from ``info.json``'s
``"driver"`` (``"TimeDriver"`` -> ``t``). A surrogate drive therefore holds an
OOMMF-style ``<name>.odt`` table (renamed by ubermagtable to ``t``, ``mx``, ``my``,
``mz``, ...) and one ``<name>-Oxs_TimeDriver-Magnetization-<stage>-<iteration>.omf``
per output, written with discretisedfield.
"""

import os

import numpy as np
import pandas as pd
import ubermagtable as ut

from .._omf import write_whole

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


TITLE = "ubermag-surrogate SurrogateDriver"


def _table_header():
    def braced(text):
        return "{" + text + "}" if not text or " " in text else text

    names = " ".join(braced(column) for column, _, _ in COLUMNS)
    units = " ".join(braced(unit) for _, _, unit in COLUMNS)
    return (
        f"# ODT 1.0\n# Table Start\n# Title: {TITLE}\n# Columns: {names}\n"
        f"# Units: {units}\n"
    )


def _table_row(row):
    return " ".join(f"{v:.17g}" for v in row) + "\n"  # full float64 precision


def snapshot_name(name, stage, iteration, n_outputs):
    """OOMMF's name of the magnetisation file of one output."""
    width = max(5, len(str(n_outputs)))
    return f"{name}-Oxs_TimeDriver-Magnetization-{stage:0{width}d}-{iteration:07d}.omf"


def write_outputs(name, fields, values, representation="bin8"):
    """Write the drive's outputs: one ``.omf`` file each, and the table row by row.

    As OOMMF does, the table grows with the files: each ``.omf`` file is written
    under a hidden name and renamed when complete, and only then its row is
    appended to ``<name>.odt``. The folder is a whole drive at every moment, so a
    process killed while writing (SIGKILL) leaves a shorter drive that
    ``micromagneticdata`` reads (at most one file ahead of its row), not files
    without a table.

    Parameters
    ----------
    name : str
        System name.
    fields : iterable of discretisedfield.Field
        Magnetisation (A/m) of outputs 1..n.
    values : numpy.ndarray
        The table's rows (:func:`table_values`), ``(n, len(COLUMNS))``.
    representation : str
        ``"bin8"``, ``"bin4"`` or ``"txt"``.

    Returns
    -------
    int
        Outputs written: all of them, or after a Ctrl-C those before it, each
        with its file and row (the file being written is removed, so none is
        half-written; the caller raises the interrupt again).
    """
    iterations = [int(i) for i in values[:, 0]]
    written, final = 0, None
    with open(f"{name}.odt", "wb") as table:
        table.write(_table_header().encode())
        table.flush()
        done = table.tell()  # bytes of the table up to its last counted row
        try:
            for stage, field in enumerate(fields):  # made lazily: a Ctrl-C may
                # come while one is made
                final = snapshot_name(name, stage, iterations[stage], len(values))
                write_whole(field, final, representation)  # whole, or not there
                table.write(_table_row(values[stage]).encode())
                table.flush()
                # one assignment: a Ctrl-C comes before it (the row is redone
                # below) or after it (nothing left to do for this output)
                written, done, final = written + 1, table.tell(), None
        except KeyboardInterrupt:
            if final is not None and os.path.exists(final) and written == stage:
                # a whole file whose row was not counted: give it its row, once
                table.seek(done)
                table.truncate()
                table.write(_table_row(values[stage]).encode())
                written += 1
        table.write(b"# Table End\n")
    return written
