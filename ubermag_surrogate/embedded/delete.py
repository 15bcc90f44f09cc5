"""Delete the files of a system, as ``oommfc.delete`` does."""

import pathlib
import shutil


def delete(system, silent=False, dirname="."):
    """Delete the directory ``dirname/<system.name>`` with all its drives.

    As ``oommfc.delete``, also sets ``system.drive_number`` back to 0, so the next
    drive is ``drive-0`` again.

    Parameters
    ----------
    system : micromagneticmodel.System
        System whose files are deleted.
    silent : bool, optional
        If ``True``, do not raise when the directory does not exist.
    dirname : str or pathlib.Path, optional
        Base directory the system was driven in (default: current directory).

    Raises
    ------
    FileNotFoundError
        If the directory does not exist and ``silent=False``.
    """
    path = pathlib.Path(dirname, system.name)
    if path.exists():
        shutil.rmtree(path)
        system.drive_number = 0
    elif not silent:
        raise FileNotFoundError(f"Directory {str(path)!r} does not exist.")
