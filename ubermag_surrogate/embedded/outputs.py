"""Turn the solver's raw outputs into an OOMMF drive folder while the drive runs.

The solver process (``_solver.py``) writes each output's magnetisation into
``<name>-steps.npy`` and then appends its row to ``<name>.odt.part``. For every new
row, :class:`DriveOutputs` writes the output's ``.omf`` file (under a hidden name,
renamed when complete) and only then appends the row to ``<name>.odt``. So the
drive folder is at every moment a whole drive, as OOMMF's is: ``micromagneticdata``
reads it while the drive runs, and after its process is killed (SIGKILL, a batch
system's time limit, a crashed kernel) it reads every output converted before the
kill. Only the outputs since the last update, at most a fraction of a second of
the drive, are then left unconverted, in ``<name>-steps.npy``.
"""

import pathlib
import re

import discretisedfield as df
import numpy as np

from .._omf import write_whole

_COLUMN = re.compile(r"\{[^}]*\}|\S+")


class DriveOutputs:
    """Writer of one drive's ``.omf`` files and table from the solver's outputs.

    Works in the drive folder (the current directory, as micromagneticmodel's
    ``_call``).

    Parameters
    ----------
    name : str
        System name.
    mesh : discretisedfield.Mesh
        Mesh of the system.
    driver : str
        Driver class name (``"TimeDriver"``, ``"MinDriver"``), as in OOMMF's names.
    representation : str
        ``"bin8"``, ``"bin4"`` or ``"txt"``.
    total : int
        Outputs the drive will have (sets the width of the numbers in file names).
    """

    def __init__(self, name, mesh, driver, representation, total):
        self.name = name
        self.driver = driver
        self.representation = representation
        self.width = max(6, len(str(total)))
        self.rows = 0
        """Outputs written so far (each has its ``.omf`` file and table row)."""
        self._field = df.Field(mesh, nvdim=3, unit="A/m")  # as OOMMF writes M
        self._part = pathlib.Path(f"{name}.odt.part")
        self._steps_path = pathlib.Path(f"{name}-steps.npy")
        self._source = None  # the solver's table, read as it grows
        self._read = 0  # bytes of it handled
        self._done = 0  # bytes of <name>.odt, up to the last line handled
        self._table = None
        self._steps = None
        self._iteration = None  # index of the iteration column

    def update(self):
        """Write the outputs whose rows the solver has completed; return ``rows``."""
        if self._source is None:
            if not self._part.exists():
                return self.rows
            self._source = open(self._part, "rb")  # noqa: SIM115
        if self._table is None:  # appending: reopened after an interrupt, kept
            self._table = open(f"{self.name}.odt", "ab")  # noqa: SIM115
        if self._table.tell() != self._done:  # a line interrupted last time
            self._table.seek(self._done)
            self._table.truncate()
        self._source.seek(self._read)
        text = self._source.read()
        end = text.rfind(b"\n") + 1  # whole lines only: the solver may be mid-line
        for line in text[:end].splitlines(keepends=True):
            data = bool(line.strip()) and not line.startswith(b"#")
            if data:
                self._write_snapshot(line)
            elif line.startswith(b"# Columns:"):
                names = _COLUMN.findall(line[len(b"# Columns:") :].decode())
                self._iteration = [n.endswith("::Iteration") for n in names].index(True)
            self._table.write(line)
            self._table.flush()
            # one assignment, so that an interrupt comes before or after it: before,
            # the next call truncates the table and handles the line again
            self._done, self._read, self.rows = (
                self._table.tell(),
                self._read + len(line),
                self.rows + data,
            )
        return self.rows

    def _write_snapshot(self, line):
        iteration = int(float(line.split()[self._iteration]))
        if self._steps is None:  # complete: the solver made it before any row
            self._steps = np.load(self._steps_path, mmap_mode="r")
        self._field.array = np.asarray(self._steps[self.rows])
        name = (
            f"{self.name}-Oxs_{self.driver}-Magnetization-"
            f"{self.rows:0{self.width}d}-{iteration:07d}.omf"
        )
        write_whole(self._field, name, self.representation)

    def finish(self):
        """Write the remaining outputs, remove the solver's files; return ``rows``.

        Call when the solver process has ended (completed, failed or killed).
        """
        self.update()
        self.close()
        self._part.unlink(missing_ok=True)
        self._steps_path.unlink(missing_ok=True)
        return self.rows

    def close(self):
        """Close the files, keep them (after an error: the raw outputs stay)."""
        handles = (self._source, self._table)
        self._source = self._table = self._steps = None  # first: safe to redo
        for handle in handles:
            if handle is not None:
                handle.close()
