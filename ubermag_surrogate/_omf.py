"""Write an ``.omf`` file so that it is never seen half-written.

OOMMF's readers (micromagneticdata globs ``<name>*.omf``) may look at a drive
folder while it grows, or after the process writing it was killed: a file is
written under a hidden name (``.<name>``, not matched by that glob) and renamed
when complete, with the ``.subregions.json`` sidecar that discretisedfield writes
for meshes with subregions.
"""

import os
import pathlib


def write_whole(field, name, representation):
    """Write ``field`` to the file ``name``, appearing there only when complete.

    Parameters
    ----------
    field : discretisedfield.Field
        What to write.
    name : str
        File name in the current directory.
    representation : str
        ``"bin8"``, ``"bin4"`` or ``"txt"``.

    An interruption (Ctrl-C) or error while writing leaves nothing behind: the
    hidden file is removed and the exception raised again.
    """
    hidden = f".{name}"
    sidecar = pathlib.Path(f"{hidden}.subregions.json")
    final_sidecar = pathlib.Path(f"{name}.subregions.json")
    try:
        field.to_file(hidden, representation=representation)
        if sidecar.exists():  # meshes with subregions
            os.replace(sidecar, final_sidecar)
        os.replace(hidden, name)
    except BaseException:
        if not os.path.exists(name):  # not renamed: neither file is left
            final_sidecar.unlink(missing_ok=True)
        pathlib.Path(hidden).unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        raise
