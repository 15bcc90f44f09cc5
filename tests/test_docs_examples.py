"""The Python examples of the README and docs/ run as written, on smaller sizes.

Each document's ``python`` blocks run in order in one namespace, in a fresh folder,
after textual substitutions that shrink the work (fewer fields, a coarse SP4 mesh,
a few steps). Every substitution must apply: when an example changes, this test
says which one no longer matches, so the table below is kept with the docs.
"""

import pathlib
import re
import shutil
import warnings

import numpy as np
import pytest
from helpers import SP4_NEURAL_PARAMS, SP4_TEST_CELL, SP4_TEST_PARAMS

from ubermag_surrogate.models import ExtrapolationWarning

ROOT = pathlib.Path(__file__).resolve().parents[1]

SMALL = {
    "SP4_TEST_CELL": SP4_TEST_CELL,
    "SP4_TEST_PARAMS": SP4_TEST_PARAMS,
    "SP4_NEURAL_PARAMS": {
        **SP4_NEURAL_PARAMS,
        "autoencoder_epochs": 2,
        "integrator_epochs": 2,
    },
}
"""Names the substituted examples use."""

SHORT = "t=2e-11, n=2"
"""Two steps of 10 ps: the README trains and drives on this."""

EXAMPLES = {
    "README.md": [
        ("sample(300,", "sample(6,"),
        ("sp4.problem()", "sp4.problem(cell=SP4_TEST_CELL)"),
        ("t=1e-9,\n    n=100,", "t=2e-11,\n    n=2,"),
        ("t=1e-9, n=100", SHORT),
        ("KernelSurrogate()", "KernelSurrogate(**SP4_TEST_PARAMS)"),
        ("NeuralSurrogate(verbose=1)", "NeuralSurrogate(**SP4_NEURAL_PARAMS)"),
        ("sample(100, seed=2)", "sample(2, seed=2)"),
        ("sp4.system()", "sp4.system(name='sp4_embedded', cell=SP4_TEST_CELL)"),
        ('md.Data("sp4")[-1]  # read like any OOMMF drive\n', 'md.Data("sp4")[-1]\n'),
        ("t=1e-9, n=200", SHORT),
    ],
    "docs/kernel-surrogate.md": [
        ("KernelSurrogate(),", "KernelSurrogate(**SP4_TEST_PARAMS),"),
        ('"sp4_field2.zarr"', '"train.zarr"'),
        ("[1500, 2000]", "[100, 150]"),
    ],
    "docs/neural-surrogate.md": [
        (
            "NeuralSurrogate(autoencoder_epochs=100, integrator_epochs=200, verbose=1)",
            "NeuralSurrogate(**SP4_NEURAL_PARAMS)",
        ),
        ('"sp4_field2.zarr"', '"train.zarr"'),
    ],
    "docs/surrogate-driver.md": [
        ("t=1e-9, n=100", "t=2e-10, n=20"),
        ('"data/sp4_field2_val.zarr"', '"train.zarr"'),
        ("indices=[25, 50, 100]", "indices=[5, 10, 20]"),
    ],
}
"""Per document: (text in an example, what the test runs instead)."""


def python_blocks(path):
    """The ``python`` code blocks of a Markdown file, in order."""
    return re.findall(r"```python\n(.*?)```", (ROOT / path).read_text(), re.S)


def test_every_document_with_python_examples_is_run():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    with_examples = {
        str(p.relative_to(ROOT))
        for p in documents
        if python_blocks(p.relative_to(ROOT))
    }
    assert with_examples == set(EXAMPLES)


@pytest.fixture
def readers_files(sp4_store, sp4_model_file, tmp_path):
    """What the examples assume the reader has: a store, model files, fields."""
    shutil.copytree(sp4_store.path, tmp_path / "train.zarr")
    shutil.copy(sp4_model_file, tmp_path / "sp4_kernel.npz")
    shutil.copy(sp4_model_file, tmp_path / "model.npz")
    return {"fields": sp4_store.fields[:3]}  # (3, 3) mu0 H (T)


@pytest.mark.parametrize("document", sorted(EXAMPLES))
def test_document_examples_run(document, readers_files):
    code = "\n".join(python_blocks(document))
    for old, new in EXAMPLES[document]:
        assert old in code, f"{document}: the examples no longer contain {old!r}"
        code = code.replace(old, new)
    namespace = dict(SMALL)
    if document != "README.md":  # the README makes its own store, model and fields
        namespace.update(readers_files)
    with warnings.catch_warnings():
        # e.g. a sweep after a drive starts from the drive's last state
        warnings.simplefilter("error", ExtrapolationWarning)
        exec(compile(code, document, "exec"), namespace)
    if document == "README.md":
        assert namespace["D"].shape == (3, 6, 2 + 3 * 50 * 10)
        assert namespace["drive"].n == 2
        assert np.all(np.isfinite(namespace["comparison"].relative_error))
