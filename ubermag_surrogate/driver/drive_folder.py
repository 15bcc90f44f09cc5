"""The files of a surrogate drive, laid out as oommfc lays out a ``TimeDriver`` drive.

``micromagneticdata`` chooses its reader from the folder layout (OOMMF unless a
``<name>.out`` folder exists) and the independent variable from ``info.json``'s
``"driver"`` (``"TimeDriver"`` -> ``t``). A surrogate drive therefore holds an
OOMMF-style ``<name>.odt`` table (renamed by ubermagtable to ``t``, ``mx``, ``my``,
``mz``, ...) and one ``<name>-Oxs_TimeDriver-Magnetization-<stage>-<iteration>.omf``
per output, written with discretisedfield.
"""

import os
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


TITLE = "ubermag-surrogate SurrogateDriver"


def _table_header(title=TITLE):
    def braced(text):
        return "{" + text + "}" if not text or " " in text else text

    names = " ".join(braced(column) for column, _, _ in COLUMNS)
    units = " ".join(braced(unit) for _, _, unit in COLUMNS)
    return (
        f"# ODT 1.0\n# Table Start\n# Title: {title}\n# Columns: {names}\n"
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
    written, writing, final, renamed = 0, None, None, None
    with open(f"{name}.odt", "wb") as table:
        table.write(_table_header().encode())
        table.flush()
        done = table.tell()  # bytes of the table up to its last counted row
        try:
            for stage, field in enumerate(fields):  # made lazily: a Ctrl-C may
                # come while one is made
                final = snapshot_name(name, stage, iterations[stage], len(values))
                writing = f".{final}"  # not matched by micromagneticdata's glob
                field.to_file(writing, representation=representation)
                sidecar = pathlib.Path(f"{writing}.subregions.json")
                if sidecar.exists():  # meshes with subregions
                    os.replace(sidecar, f"{final}.subregions.json")
                os.replace(writing, final)
                writing, renamed = None, stage
                table.write(_table_row(values[stage]).encode())
                table.flush()
                # one assignment: a Ctrl-C comes before it (the row is redone
                # below) or after it
                written, renamed, done = written + 1, None, table.tell()
        except KeyboardInterrupt:
            if writing is not None:
                if os.path.exists(final) and not os.path.exists(writing):
                    renamed = stage  # interrupted just after the rename
                else:  # the file begun, not the ones before it
                    pathlib.Path(writing).unlink(missing_ok=True)
                    pathlib.Path(f"{writing}.subregions.json").unlink(missing_ok=True)
            if renamed is not None:  # a whole file: give it its row, once
                table.seek(done)
                table.truncate()
                table.write(_table_row(values[renamed]).encode())
                written = renamed + 1
        table.write(b"# Table End\n")
    return written
