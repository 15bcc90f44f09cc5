"""What every benchmark writes beside its printed table: a JSON file of its numbers.

Each file also says on which machine and with which versions the numbers were
taken: the project's 2-core machines differ by a factor 2-3 in speed, so timings
are comparable only between files with the same ``machine.cpu``.
"""

import datetime
import importlib.metadata
import os
import pathlib
import platform
import sys

import numpy as np

import ubermag_surrogate
from ubermag_surrogate.comparison.report import json_text
from ubermag_surrogate.embedded.drivers import default_threads

PACKAGES = ("scipy", "scikit-learn", "torch", "magnumnp", "keras", "oommfc")
"""Installed packages whose versions decide the timings (those found are written)."""


def _versions():
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    keras = sys.modules.get("keras")  # imported by the benchmark: its backend
    if keras is not None:
        found["keras_backend"] = keras.backend.backend()
    elif os.environ.get("KERAS_BACKEND"):
        found["keras_backend"] = os.environ["KERAS_BACKEND"]
    return found


def machine():
    """CPU model, cores available to this process, platform and versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores_available": default_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        **_versions(),
    }


def write_results(path, benchmark, **numbers):
    """Write ``numbers`` (JSON-serialisable) with the machine's description.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSON file to write (its folder is created).
    benchmark : str
        Name of the benchmark.
    **numbers
        What the benchmark measured and with which settings.
    """
    out = pathlib.Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": benchmark,
        **numbers,
        "machine": machine(),
        "ubermag_surrogate_version": ubermag_surrogate.__version__,
        "written": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out.write_text(json_text(payload))  # strict JSON: NaN and infinities as null
    print(f"\nwrote {out}")
    return out
