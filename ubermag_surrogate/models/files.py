"""Model files: one ``.npz`` of plain arrays and JSON metadata, read safely.

Nothing in a model file is executed: arrays are read with ``allow_pickle=False``,
and each array's header is checked before it is read (plain numbers or text only,
a size that matches what the archive holds, no NaN or infinity), so a damaged or
hostile file is refused with the file and array named instead of allocating
memory it declares, running code, or predicting NaN. Files carry the names of
their arrays and a SHA-256 checksum of them; a file whose arrays were changed,
added or damaged after it was saved is refused.
"""

import collections.abc
import contextlib
import hashlib
import json
import pathlib
import zipfile
import zlib

import numpy as np

FILE_FORMAT = "ubermag-surrogate-model/1"
"""The ``format`` entry of the files this version writes and reads."""

_ARRAY_KINDS = "fiuU"
"""numpy dtype kinds of model-file arrays: float, int, unsigned, text."""


DIAGNOSTICS = (".loss", ".validation_scores")
"""Arrays that record training and may hold inf (a rollout that blew up in a
validation); predictions do not use them."""


_UNREADABLE = (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error)
"""What reading an archive member raises for a damaged or truncated file."""


class MissingArray(KeyError):
    """An array the model needs is not in its file."""


class DamagedFile(ValueError):
    """A model file that cannot be used; the message names the file and why."""


def checksum(arrays):
    """Return the SHA-256 of named arrays (names, dtypes, shapes and bytes).

    Parameters
    ----------
    arrays : mapping of str to array_like
        The arrays of a model file, metadata excluded.
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.asarray(arrays[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def check_arrays(arrays):
    """Refuse arrays that :func:`read_array` would refuse, before they are saved.

    Raises
    ------
    ValueError
        An array that is not plain numbers or text (dtype kinds float of at least
        32 bits, int, unsigned, text), or holds NaN or infinite values where
        predictions would use them (any array but the ``DIAGNOSTICS``).
    """
    for name, value in arrays.items():
        array = np.asarray(value)
        dtype = array.dtype
        if (
            dtype.hasobject
            or dtype.kind not in _ARRAY_KINDS
            or (dtype.kind == "f" and dtype.itemsize < 4)
        ):
            raise ValueError(
                f"Cannot save the array {name!r} of dtype {dtype}: model files hold "
                "plain numbers (float32/64, int) or text."
            )
        if (
            dtype.kind == "f"
            and not name.endswith(DIAGNOSTICS)
            and not np.all(np.isfinite(array))
        ):
            raise ValueError(
                f"Cannot save the array {name!r}: it holds NaN or infinite values "
                "(the model would predict them)."
            )


def write(path, metadata, arrays):
    """Write a model file atomically (an interrupted save keeps the old file).

    The metadata get ``arrays`` (the array names) and ``checksum``. Arrays the
    reader would refuse are refused first (:func:`check_arrays`).
    """
    path = pathlib.Path(path)
    check_arrays(arrays)
    metadata = {
        **metadata,
        "arrays": sorted(arrays),
        "checksum": checksum(arrays),
    }
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as f:
            np.savez(f, __metadata__=np.array(json.dumps(metadata)), **arrays)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


class ModelArrays(collections.abc.Mapping):
    """The arrays of an open model file, each read and checked when first used."""

    def __init__(self, data, path):
        self._data = data
        self._path = path
        self._names = [name for name in data.files if name != "__metadata__"]
        self._read = {}

    def __getitem__(self, name):
        if name not in self._read:
            if name not in self._names:
                raise MissingArray(name)
            self._read[name] = read_array(self._data, name, self._path)
        return self._read[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


def read_array(data, name, path, kinds=_ARRAY_KINDS):
    """Read one array of an open ``.npz`` after checking its header.

    Raises
    ------
    ValueError
        The array is not plain numbers or text (``kinds``: numpy dtype kinds),
        declares more or fewer bytes than the archive holds, cannot be read, or
        holds NaN or infinite values. The message names the file and the array.
    """
    damaged = f"{str(path)!r} is damaged: its array {name!r}"
    try:
        info = data.zip.getinfo(f"{name}.npy")
        with data.zip.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"npy format version {version} is not supported")
            held = info.file_size - f.tell()
    except _UNREADABLE as error:
        raise DamagedFile(f"{damaged} cannot be read ({error}).") from None
    if (
        dtype.hasobject
        or dtype.kind not in kinds
        or (dtype.kind == "f" and dtype.itemsize < 4)
    ):
        raise DamagedFile(f"{damaged} has dtype {dtype}, not plain numbers or text.")
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if declared != held:
        raise DamagedFile(
            f"{damaged} declares shape {shape} of {dtype} ({declared} bytes), but the "
            f"archive holds {held} bytes for it."
        )
    try:
        array = data[name]
    except _UNREADABLE as error:
        raise DamagedFile(f"{damaged} cannot be read ({error}).") from None
    diagnostic = name.endswith(DIAGNOSTICS)  # a blown-up epoch is recorded as inf
    if dtype.kind == "f" and not diagnostic and not np.all(np.isfinite(array)):
        raise DamagedFile(f"{damaged} holds NaN or infinite values.")
    return array


@contextlib.contextmanager
def open_model_file(path):
    """Open a model file: yield its metadata (dict) and arrays (:class:`ModelArrays`).

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    IsADirectoryError
        ``path`` is a folder (the message names the ``.npz`` files in it).
    ValueError
        The file is not a model of this package, is damaged, or was changed after
        it was saved.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        held = sorted(p.name for p in path.glob("*.npz"))
        hint = f"; it holds {', '.join(held)}" if held else ""
        raise IsADirectoryError(
            f"{str(path)!r} is a folder, not a model file (.npz){hint}."
        )
    if not path.exists():
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    not_a_model = f"{str(path)!r} is not an ubermag-surrogate model"
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        # numpy reads a file that is no .npy/.npz as a pickle and refuses it;
        # an empty or truncated archive fails to open as a zip
        raise ValueError(f"{not_a_model} (not an .npz archive).") from error
    if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy array
        raise ValueError(f"{not_a_model} (a single array, not an archive).")
    with data:
        if "__metadata__" not in data.files:
            raise ValueError(f"{not_a_model} (no metadata).")
        text = read_array(data, "__metadata__", path, kinds="U")
        try:
            metadata = json.loads(str(text))
        except ValueError as error:
            raise ValueError(f"{not_a_model} (its metadata: {error}).") from None
        if not isinstance(metadata, dict):
            raise ValueError(f"{not_a_model} (its metadata is no JSON object).")
        if metadata.get("format") != FILE_FORMAT:
            raise ValueError(
                f"{str(path)!r} has format {metadata.get('format')!r}; this version "
                f"reads {FILE_FORMAT!r} (the file was written by ubermag-surrogate "
                f"{metadata.get('package_version')}): load it with that version, or "
                "refit the model."
            )
        arrays = ModelArrays(data, path)
        if "checksum" in metadata:  # files of 0.1 before checksums: not checked
            _check_contents(path, metadata, arrays)
        yield metadata, arrays


def _check_contents(path, metadata, arrays):
    """Refuse a file whose arrays are not the ones it was saved with."""
    names = metadata.get("arrays")
    if not isinstance(names, list) or sorted(arrays) != sorted(names):
        added = sorted(set(arrays) - set(names or []))
        lost = sorted(set(names or []) - set(arrays))
        raise DamagedFile(
            f"{str(path)!r} was changed after it was saved: arrays added {added}, "
            f"missing {lost}. Refit the model or use the original file."
        )
    if checksum(arrays) != metadata["checksum"]:
        raise DamagedFile(
            f"{str(path)!r} was changed or damaged after it was saved: its arrays do "
            "not match their checksum. Refit the model or use the original file."
        )
