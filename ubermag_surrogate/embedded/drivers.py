"""Ubermag drivers of the embedded calculator (magnum.np in a child process).

They follow ``micromagneticmodel.ExternalDriver`` like oommfc's drivers: ``drive``
creates ``<dirname>/<system.name>/drive-N/`` with ``info.json``, ``m0.omf``, an
OOMMF-style ``<name>.odt`` table and one ``.omf`` file per table row, then updates
``system.m`` and ``system.table``. ``micromagneticdata.Data(system.name)[-1]`` reads
the folder as it reads an OOMMF drive.
"""

import datetime
import importlib.metadata
import json
import numbers
import os
import pathlib
import time
import warnings

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np
import ubermagtable as ut

from .._checks import check_dynamics_time
from ..calculators import check_embedded_available
from ..driver_options import (
    OOMMF_ONLY,
    DriveInterrupted,
    NoScheduling,
    check_drive_options,
    check_positive_int,
    interrupts_as_keyboard,
    write_oommf_script,
)
from .outputs import DriveOutputs
from .solver_process import IDLE_EXIT, discard, solver_process
from .system_input import check_system, write_input

_DEVICES = ("cpu", "cuda", "auto")


def default_threads():
    """Return the number of CPU cores available to this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _check_positive_real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}.")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"Cannot drive with {name}={value}: it must be positive.")
    return float(value)  # a Python float: the settings are written as JSON


class Driver(NoScheduling, mm.ExternalDriver):
    """Base class of the embedded drivers.

    Parameters
    ----------
    device : str, optional
        Where magnum.np runs: ``"cpu"`` (default), ``"cuda"`` or ``"auto"`` (a GPU
        if torch sees one).
    """

    device = "cpu"
    _adapter = "ubermag_surrogate"
    _no_scheduling = (
        "The embedded calculator cannot schedule jobs; use drive(), or oommfc "
        "with OOMMF on a cluster."
    )

    def __init__(self, **kwargs):
        self._refuse_oommf_options(kwargs)
        super().__init__(**kwargs)

    def _refuse_oommf_options(self, attributes):
        """Refuse options of oommfc's driver of the same name that this one lacks.

        micromagneticmodel would say only "Invalid attribute" for them in the
        constructor, and ignore them set afterwards (oommfc writes them into its
        ``.mif`` however they were set).
        """
        import oommfc

        oommf = getattr(oommfc, self.__class__.__name__, None)
        lacking = [
            key
            for key in attributes
            if key in getattr(oommf, "_allowed_attributes", ())
            and key not in self._allowed_attributes
        ]
        if lacking:
            hint = (
                " (for an iteration limit: max_iterations)"
                if "max_iterations" in self._allowed_attributes
                and any("iteration_limit" in key for key in lacking)
                else ""
            )
            raise ValueError(
                f"{', '.join(sorted(lacking))}: option(s) of oommfc's "
                f"{self.__class__.__name__} (OOMMF) that the embedded calculator "
                f"does not have; its {self.__class__.__name__} takes "
                f"{', '.join(self._allowed_attributes)}{hint}."
            )

    def drive(
        self,
        system,
        /,
        dirname=".",
        append=True,
        runner=None,
        ovf_format="bin8",
        verbose=1,
        **kwargs,
    ):
        """Drive the system with magnum.np; see ``micromagneticmodel.ExternalDriver``.

        Parameters
        ----------
        system : micromagneticmodel.System
            System to drive; ``system.m`` and ``system.table`` are updated.
        dirname : str or pathlib.Path, optional
            Base directory; results go to ``dirname/<system.name>/drive-<N>``.
        append : bool, optional
            Append drives to an existing system directory (default ``True``).
        runner : None
            Only ``None``: the embedded calculator has a single runner.
        ovf_format : str, optional
            ``"bin8"`` (default), ``"bin4"`` or ``"txt"`` for the ``.omf`` files.
        verbose : int, optional
            0: silent, 1: one line with the run time (default), 2: progress bar.
        **kwargs
            Driver arguments, e.g. ``t`` (s) and ``n`` for ``TimeDriver``, and
            ``n_threads`` (torch threads; default: the cores available).

        Raises
        ------
        TypeError, ValueError, RuntimeError
            For bad arguments or unsupported systems, before any folder is created.
        """
        check_drive_options(
            runner,
            ovf_format,
            verbose,
            dirname,
            no_runner="The embedded calculator has no alternative runners",
        )
        if self.device not in _DEVICES:
            raise ValueError(f"device={self.device!r} must be one of {_DEVICES}.")
        check_embedded_available()  # not a traceback of the solver, after a folder
        with interrupts_as_keyboard():
            super().drive(
                system,
                dirname=dirname,
                append=append,
                runner=runner,
                ovf_format=ovf_format,
                verbose=verbose,
                **kwargs,
            )

    def drive_kwargs_setup(self, drive_kwargs):
        """Check the driver's keyword arguments and fill in defaults.

        Parameters
        ----------
        drive_kwargs : dict
            Keyword arguments passed to ``drive``; ``n_threads`` (int, default: the
            number of cores available) is common to all embedded drivers.
        """
        self._refuse_oommf_options(vars(self))  # also those set after __init__
        known = {"n_threads", *self._drive_arguments}
        unknown = sorted(set(drive_kwargs) - known - set(OOMMF_ONLY))
        if unknown:
            raise TypeError(
                f"{self.__class__.__name__}.drive() got unexpected argument(s) "
                f"{unknown}; it accepts {sorted(known)}."
            )
        # oommfc's options are accepted only with their default (no-op) values
        for key, default in OOMMF_ONLY.items():
            if drive_kwargs.get(key, default) != default:
                raise ValueError(
                    f"{key}={drive_kwargs[key]!r} is an oommfc option that the "
                    "embedded calculator does not support."
                )
        self._checkargs(drive_kwargs)
        n_threads = drive_kwargs.setdefault("n_threads", None)
        if n_threads is not None:
            drive_kwargs["n_threads"] = check_positive_int("n_threads", n_threads)

    def _check_system(self, system):
        # micromagneticmodel calls this before it creates the drive folder; the
        # checked per-cell inputs are written into that folder next
        self._inputs = check_system(system, needs_dynamics=self._needs_dynamics)

    def _oommf_options(self):
        """Options of oommfc's driver for the same drive (its ``.mif`` file)."""
        return {}

    def _settings(self, kwargs):
        """Return the settings passed to the solver process (JSON serialisable)."""
        n_threads = kwargs.get("n_threads") or default_threads()
        return {"n_threads": n_threads, "device": self.device}

    def _write_input_files(self, system, ovf_format="bin8", **kwargs):
        write_oommf_script(
            system,
            self.__class__.__name__,
            ovf_format,
            self._oommf_options(),
            **{k: kwargs[k] for k in self._drive_arguments},
        )
        system.m.to_file("m0.omf", representation=ovf_format)
        settings = self._settings(kwargs)
        settings["ovf_format"] = ovf_format
        write_input(
            system,
            inputs=self.__dict__.pop("_inputs"),
            driver=self.__class__.__name__,
            settings=settings,
        )

    def _write_info_json(self, system, start_time, **kwargs):
        try:
            version = importlib.metadata.version("magnumnp")
        except importlib.metadata.PackageNotFoundError:
            version = None
        # micromagneticmodel passes the drive arguments as given: numpy scalars
        # (n from np.arange) as Python numbers, or json fails with the folder made
        kwargs = {
            k: v.item() if isinstance(v, np.generic) else v for k, v in kwargs.items()
        }
        extra = {"calculator": "magnum.np", "device": self.device}
        if version is not None:  # no nulls: info.json goes into xarray attributes
            extra["calculator_version"] = version
        super()._write_info_json(system, start_time, **kwargs, **extra)

    def _call(self, system, runner=None, verbose=1, **kwargs):
        name = system.name
        spec = json.loads(pathlib.Path(f"{name}.json").read_text(encoding="utf-8"))
        total = kwargs.get("n", 1)
        start = time.perf_counter()
        if verbose >= 1:
            now = datetime.datetime.now().strftime("%Y/%m/%d %H:%M")
            end = "\n" if verbose >= 2 else ""
            print(f"Running magnum.np (embedded)[{now}]... ", end=end, flush=True)
        progress = None
        if verbose >= 2:
            from .._progress import progress_bar

            progress = progress_bar(total=total, unit="step", leave=False)
        outputs = DriveOutputs(
            name,
            system.m.mesh,
            self.__class__.__name__,
            spec["settings"]["ovf_format"],
            total,
        )
        try:
            outcome = self._run_in_solver_process(name, spec, progress, outputs)
            done = outputs.finish()
        except KeyboardInterrupt:
            done = outputs.finish()
            raise DriveInterrupted(
                f"Drive of {name!r} interrupted after {done} of {total} outputs; "
                f"the completed outputs are in {pathlib.Path().absolute()}."
            ) from None
        except BaseException:  # e.g. a full disk: the raw outputs stay
            outputs.close()
            raise
        finally:
            if progress is not None:
                progress.update(outputs.rows - progress.n)
                progress.close()
        elapsed = time.perf_counter() - start
        if outcome is not True:
            code = 1 if outcome is False else outcome
            log = pathlib.Path(f"{name}.log")
            tail = (
                log.read_text(encoding="utf-8")[-3000:]
                if log.exists()
                else "(none: the solver process ended before the drive started)"
            )
            if verbose >= 1:
                print("failed.")
            raise RuntimeError(
                f"magnum.np failed (exit code {code}) after {done} of "
                f"{total} outputs. End of {name}.log:\n{tail}"
            )
        if verbose >= 1:
            print(f"({elapsed:.1f} s)")
        result = pathlib.Path(f"{name}-result.json")
        if result.exists():
            result = json.loads(result.read_text(encoding="utf-8"))
            self._record_device(result.get("device"))
            self._check_result(result)

    @staticmethod
    def _record_device(device):
        """Write the device the drive ran on into info.json (it has the request)."""
        info_path = pathlib.Path("info.json")
        if device is None or not info_path.exists():
            return
        info = json.loads(info_path.read_text(encoding="utf-8"))
        info["device_requested"], info["device"] = info.get("device"), device
        info_path.write_text(json.dumps(info), encoding="utf-8")

    def _run_in_solver_process(self, name, spec, progress, outputs):
        """Run the drive in a solver process; return True, False or an exit code.

        While it runs, ``outputs`` writes each completed output into the folder.
        """
        for _ in range(3):
            solver = solver_process(self.device, spec["settings"]["n_threads"])
            with solver.busy:
                if solver.submit(f"{name}.json", f"{name}.log"):
                    try:
                        while (outcome := solver.reply(timeout=0.05)) is None:
                            rows = outputs.update()
                            if progress is not None:
                                progress.update(rows - progress.n)
                    except BaseException:  # Ctrl-C, or writing the outputs failed
                        discard(solver)  # the outputs so far are on disk
                        raise
                else:
                    outcome = solver.process.wait()
            if outcome is not True:
                discard(solver, grace=10.0)
            if outcome != IDLE_EXIT:
                return outcome
            # it had stopped, idle, before reading this drive: start another
        return outcome

    def _check_result(self, result):
        """Warn about anything the solver reported (e.g. no convergence)."""

    def _read_data(self, system):
        omf_files = sorted(pathlib.Path(".").glob(f"{system.name}-*.omf"))
        system.m.array = df.Field.from_file(str(omf_files[-1])).array
        system.table = ut.Table.fromfile(f"{system.name}.odt", x=self._x)


class TimeDriver(Driver):
    """Time driver: integrates the Landau-Lifshitz-Gilbert equation with magnum.np.

    Adaptive Runge-Kutta-Fehlberg 4(5) (magnum.np's ``RKF45``); outputs at
    ``t_i = i t / n``, ``i = 1..n``, as oommfc's ``TimeDriver``.

    Parameters
    ----------
    device : str, optional
        ``"cpu"`` (default), ``"cuda"`` or ``"auto"`` (a GPU if torch sees one).
        On meshes of a few thousand cells (SP4) a GPU is not faster than the CPU.
    atol, rtol : float, optional
        Absolute and relative error tolerances of the integrator (default 1e-5).

    Examples
    --------
    >>> import micromagneticmodel as mm
    >>> from ubermag_surrogate import embedded
    >>> system = mm.examples.macrospin()
    >>> embedded.TimeDriver().drive(system, t=1e-12, n=2, verbose=0)
    >>> system.table.data.shape[0]
    2
    >>> embedded.delete(system)
    """

    _allowed_attributes = ["device", "atol", "rtol"]
    _drive_arguments = ("t", "n")
    atol = 1e-5
    rtol = 1e-5
    _needs_dynamics = True

    def _checkargs(self, kwargs):
        missing = [k for k in ("t", "n") if k not in kwargs]
        if missing:
            raise TypeError(
                f"TimeDriver.drive() needs {' and '.join(missing)}: the simulation "
                "time t (s) and the number of outputs n."
            )
        # as Python numbers: info.json and the solver's settings are JSON
        kwargs["t"] = _check_positive_real("t", kwargs["t"])
        check_dynamics_time(kwargs["t"])
        kwargs["n"] = check_positive_int("n", kwargs["n"])
        for name in ("atol", "rtol"):
            _check_positive_real(name, getattr(self, name))

    def _settings(self, kwargs):
        settings = super()._settings(kwargs)
        settings.update(
            t=kwargs["t"], n=kwargs["n"], atol=float(self.atol), rtol=float(self.rtol)
        )
        return settings

    @property
    def _x(self):
        return "t"


class MinDriver(Driver):
    """Energy minimisation driver (magnum.np's Barzilai-Borwein minimiser).

    Parameters
    ----------
    device : str, optional
        ``"cpu"`` (default), ``"cuda"`` or ``"auto"``.
    stopping_mxHxm : float, optional
        Stop when max over cells of |m x H x m| falls below this value (A/m).
        Default 1e-3 A/m, tighter than OOMMF's 0.1: OOMMF's conjugate-gradient
        line minimisation usually ends far below its criterion, the
        Barzilai-Borwein minimiser ends right at it (on SP4, 1e-3 costs 0.2 s
        more than 0.1 and removes a 1e-9 relative misalignment that Ubermag's
        peer tests reject).
    max_iterations : int, optional
        Give up (with a warning) after this many iterations (default 100000).
    """

    _allowed_attributes = ["device", "stopping_mxHxm", "max_iterations"]
    _drive_arguments = ()
    stopping_mxHxm = 1e-3
    max_iterations = 100000
    _needs_dynamics = False

    def _oommf_options(self):
        return {"stopping_mxHxm": float(self.stopping_mxHxm)}

    def _checkargs(self, kwargs):
        _check_positive_real("stopping_mxHxm", self.stopping_mxHxm)
        check_positive_int("max_iterations", self.max_iterations)

    def _settings(self, kwargs):
        settings = super()._settings(kwargs)
        settings.update(
            stopping_mxHxm=float(self.stopping_mxHxm),
            max_iterations=int(self.max_iterations),
        )
        return settings

    def _check_result(self, result):
        if not result.get("converged", True):
            warnings.warn(
                f"MinDriver stopped after {result['iterations']} iterations without "
                f"reaching stopping_mxHxm={result['stopping_mxHxm']} A/m (max mxHxm = "
                f"{result['max_mxHxm']:.3g} A/m); raise max_iterations.",
                RuntimeWarning,
                stacklevel=5,  # _call, micromagneticmodel's drive, drive, the caller
            )

    @property
    def _x(self):
        return "iteration"
