"""Damaged, altered and hostile model files are refused clearly, never run."""

import io
import json
import zipfile

import numpy as np
import pytest

from ubermag_surrogate.models import load


@pytest.fixture
def saved(sp4_model, tmp_path):
    return sp4_model.save(tmp_path / "model.npz")


def contents(path):
    """The metadata (dict) and arrays of a model file."""
    with np.load(path, allow_pickle=False) as data:
        metadata = json.loads(str(data["__metadata__"]))
        arrays = {k: data[k] for k in data.files if k != "__metadata__"}
    return metadata, arrays


def rewrite(path, metadata, arrays):
    """Write a file as a hand-edited model would be (np.savez, no checksum update)."""
    np.savez(path, __metadata__=np.array(json.dumps(metadata)), **arrays)
    return path


def test_a_changed_or_extended_file_is_refused_by_its_checksum(saved, tmp_path):
    metadata, arrays = contents(saved)
    changed = dict(arrays, c0=arrays["c0"] * 1.01)  # valid numbers, other model
    with pytest.raises(ValueError, match="changed or damaged after it was saved"):
        load(rewrite(tmp_path / "changed.npz", metadata, changed))
    # an added array is refused before it is read (a memory bomb stays unread)
    extended = dict(arrays, extra=np.zeros(3))
    with pytest.raises(ValueError, match=r"arrays added \['extra'\], missing \[\]"):
        load(rewrite(tmp_path / "extended.npz", metadata, extended))
    fewer = {k: v for k, v in arrays.items() if k != "c0"}
    with pytest.raises(ValueError, match=r"missing \['c0'\]"):
        load(rewrite(tmp_path / "fewer.npz", metadata, fewer))


def test_files_without_a_checksum_are_checked_array_by_array(saved, tmp_path):
    metadata, arrays = contents(saved)
    old = {k: v for k, v in metadata.items() if k not in ("arrays", "checksum")}
    assert load(rewrite(tmp_path / "old.npz", old, arrays)).model_id  # loads
    fewer = {k: v for k, v in arrays.items() if k != "c0"}
    with pytest.raises(ValueError, match="lacks the array 'c0'.*refit the model"):
        load(rewrite(tmp_path / "fewer.npz", old, fewer))
    nan = dict(arrays, **{"preimage.landmark_coef": arrays["preimage.landmark_coef"]})
    nan["preimage.landmark_coef"] = nan["preimage.landmark_coef"].copy()
    nan["preimage.landmark_coef"][0, 0] = np.nan
    with pytest.raises(
        ValueError, match="'preimage.landmark_coef' holds NaN or infinite values"
    ) as error:
        load(rewrite(tmp_path / "nan.npz", old, nan))
    assert str(error.value).count("nan.npz") == 1  # said once, plainly
    complex_c0 = dict(arrays, c0=arrays["c0"].astype(complex))
    with pytest.raises(ValueError, match="'c0' has dtype complex128, not plain"):
        load(rewrite(tmp_path / "complex.npz", old, complex_c0))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_steps": 500}, "times are not the 500 steps"),
        ({"params": {"integrator_target": "bogus"}}, "integrator_target='bogus'"),
        ({"params": {"nu": 3}}, "one step of its first training field fails"),
        ({"kind": "os.system"}, "of the kind 'os.system', which is not registered"),
        ({"mesh": None}, r"is damaged .*\(TypeError"),
        ({"mesh": {"pmin": [0, 0, 0], "pmax": [1, 1, 1], "n": [7, 1, 1]}}, "Ms has"),
        ({"fingerprint": None, "dt": None}, r"is damaged .*\(TypeError"),
    ],
)
def test_metadata_that_do_not_fit_the_arrays_are_refused(
    saved, tmp_path, change, match
):
    metadata, arrays = contents(saved)
    metadata = {k: v for k, v in metadata.items() if k not in ("arrays", "checksum")}
    for key, value in change.items():
        if isinstance(value, dict):
            metadata[key] = {**metadata[key], **value}
        else:
            metadata[key] = value
    path = rewrite(tmp_path / "edited.npz", metadata, arrays)
    with pytest.raises(ValueError, match=match) as error:
        load(path)
    assert "edited.npz" in str(error.value)


def test_a_missing_metadata_entry_or_bad_json_is_named(saved, tmp_path):
    metadata, arrays = contents(saved)
    del metadata["kind"]
    with pytest.raises(ValueError, match="lacks the metadata entry 'kind'"):
        load(rewrite(tmp_path / "nokind.npz", metadata, arrays))
    np.savez(tmp_path / "json.npz", __metadata__=np.array("{not json"), **arrays)
    with pytest.raises(ValueError, match=r"json\.npz' is not an ubermag-surrogate"):
        load(tmp_path / "json.npz")
    np.savez(tmp_path / "list.npz", __metadata__=np.array("[1, 2]"), **arrays)
    with pytest.raises(ValueError, match="its metadata is no JSON object"):
        load(tmp_path / "list.npz")
    metadata["format"] = "ubermag-surrogate-model/2"
    with pytest.raises(
        ValueError, match="this version reads 'ubermag-surrogate-model/1'"
    ):
        load(rewrite(tmp_path / "future.npz", metadata, arrays))


def test_a_declared_size_is_checked_before_memory_is_taken(saved, tmp_path):
    # a header that declares 8 TB of float64 over 64 bytes of data
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "c0.npy":
                data = header.getvalue() + bytes(64)
            target.writestr(info.filename, data)
    with pytest.raises(ValueError, match=r"'c0' declares shape \(1000000000000,\)"):
        load(path)


def test_a_damaged_byte_is_a_clear_error_not_a_zip_traceback(saved, tmp_path):
    raw = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("times.npy")
    # the last byte of the stored (uncompressed) times array
    end = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[end + info.compress_size - 1] ^= 0xFF
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(raw))
    with pytest.raises(
        ValueError, match=r"flipped\.npz' is damaged: its array 'times'"
    ):
        load(path)
