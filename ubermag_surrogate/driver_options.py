"""What the package's Ubermag drivers share: drive-option checks, no scheduling.

Both the embedded calculator's drivers and ``SurrogateDriver`` follow
``micromagneticmodel.ExternalDriver``; they accept its ``drive`` options with the
same checks and have nothing to schedule on a cluster.
"""

import contextlib
import numbers
import pathlib
import warnings

OVF_FORMATS = ("bin8", "bin4", "txt")
"""The ``ovf_format`` values of ``drive``."""

OOMMF_ONLY = {"fixed_subregions": None, "output_step": False, "compute": None}
"""oommfc's ``drive`` options that change what is computed or written, with their
default (no-op) values."""


def check_positive_int(name, value):
    """Refuse anything but a positive integer ``value`` of the argument ``name``.

    Returns
    -------
    int
        ``value`` as a Python int (numpy integers are not JSON serialisable, and
        drives record their arguments in JSON).

    Raises
    ------
    TypeError
        For a non-integer (``bool`` included).
    ValueError
        For zero or a negative integer.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}.")
    if value <= 0:
        raise ValueError(f"Cannot drive with {name}={value}: it must be positive.")
    return int(value)


def check_verbose(verbose):
    """Refuse a ``verbose`` other than 0, 1 or 2 (``ValueError``)."""
    if verbose not in (0, 1, 2):
        raise ValueError(f"{verbose=} must be 0, 1 or 2.")


def check_drive_options(runner, ovf_format, verbose, dirname, no_runner):
    """Check ``drive``'s options before anything is written.

    Parameters
    ----------
    runner, ovf_format, verbose, dirname
        As passed to ``drive``.
    no_runner : str
        The error message for a ``runner`` other than ``None``.

    Raises
    ------
    ValueError, TypeError
        For bad values.
    """
    if runner is not None:
        raise ValueError(f"{no_runner}; got {runner=}.")
    if ovf_format not in OVF_FORMATS:
        raise ValueError(f"{ovf_format=} must be one of {OVF_FORMATS}.")
    check_verbose(verbose)
    if not isinstance(dirname, str | pathlib.Path):
        raise TypeError(f"dirname must be str or Path, not {type(dirname).__name__}.")


class NoScheduling:
    """Mixin for ``ExternalDriver``s that cannot schedule jobs.

    Subclasses set ``_no_scheduling`` to the message of the error.
    """

    _no_scheduling = "This driver cannot schedule jobs; use drive()."

    def schedule_kwargs_setup(self, schedule_kwargs):
        """Scheduling is not available: raise ``NotImplementedError``."""
        raise NotImplementedError(self._no_scheduling)

    def schedule(self, *args, **kwargs):
        """Scheduling is not available: raise ``NotImplementedError``."""
        self.schedule_kwargs_setup(kwargs)

    def _schedule_commands(self, system, runner):  # pragma: no cover - see schedule
        raise NotImplementedError(self._no_scheduling)


def write_oommf_script(system, driver, ovf_format, options=None, **kwargs):
    """Write ``<name>.mif``: the OOMMF input of the same drive, as oommfc writes it.

    In the drive folder (the current directory), beside the files of the drive:
    ``micromagneticdata``'s ``drive.calculator_script`` reads it, and OOMMF can run
    it (in a copy of the folder: its outputs have the drive's file names) to check
    the drive with the full simulation. oommfc writes it without OOMMF. Best
    effort: a system oommfc cannot script is driven all the same, with a warning.

    Parameters
    ----------
    system : micromagneticmodel.System
        The system, as driven (initial ``m``).
    driver : str
        ``"TimeDriver"`` or ``"MinDriver"`` (oommfc's driver of the same drive).
    ovf_format : str
        As the drive's.
    options : dict, optional
        The oommfc driver's attributes (e.g. ``stopping_mxHxm``).
    **kwargs
        The drive's arguments (``t``, ``n`` for a time drive).
    """
    import oommfc

    try:
        getattr(oommfc, driver)(**(options or {})).write_mif(
            system, ovf_format=ovf_format, **kwargs
        )
    except Exception as exc:  # noqa: BLE001 - oommfc raises many kinds
        warnings.warn(
            f"oommfc could not write the OOMMF script of this drive ({exc}); "
            "drive.calculator_script will not be available for it.",
            RuntimeWarning,
            stacklevel=2,
        )


class DriveInterrupted(RuntimeError):
    """A drive stopped by Ctrl-C, on its way through ``micromagneticmodel``.

    Its ``Driver.drive`` records ``"success": false`` in ``info.json`` only for an
    ``Exception``; the drivers raise this inside and a ``KeyboardInterrupt`` again
    past it (:func:`interrupts_as_keyboard`), so that a loop of drives under
    ``except Exception`` stops.
    """


@contextlib.contextmanager
def interrupts_as_keyboard():
    """Turn a DriveInterrupted into the ``KeyboardInterrupt`` it stands for.

    Wraps ``micromagneticmodel``'s ``drive``, which has written ``"success":
    false`` to ``info.json`` by the time the exception leaves it.
    """
    try:
        yield
    except DriveInterrupted as exc:
        raise KeyboardInterrupt(str(exc)) from None
