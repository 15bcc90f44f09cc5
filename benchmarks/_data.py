"""The benchmarks' SP4 data: made on first use, so each benchmark is one command.

A store ``DATA/DOMAIN_NAME.zarr`` is made by the ``ubermag-surrogate generate``
call in :data:`STORES` (1 ns, 100 outputs, 5 x 5 x 3 nm cells, uniform sampling,
the calculator found: OOMMF, else the embedded one) when it is missing or
incomplete. Generation is resumable: Ctrl-C and the same benchmark command again
go on where the simulations stopped. The same commands by hand::

    ubermag-surrogate generate --domain sp4_field2 --n-samples 300 --seed 0 \\
        --out data/sp4_field2_train.zarr

and likewise for each row of :data:`STORES` and each domain.
"""

import pathlib
import time

from ubermag_surrogate.cli import main as cli
from ubermag_surrogate.data.store import TrajectoryStore

STORES = {"train": (300, 0), "test": (20, 1), "val": (100, 2)}
"""Store name -> (fields, sampling seed): the paper's 300 training fields, 20
held-out test fields, and 100 more held-out fields (20 leave the mean error of
SP4 domain 2 uncertain by about 0.02)."""


def store_path(data, domain, name):
    """``DATA/DOMAIN_NAME.zarr``."""
    return pathlib.Path(data, f"{domain}_{name}.zarr")


def generate_command(data, domain, name):
    """The ``ubermag-surrogate`` arguments that make ``DATA/DOMAIN_NAME.zarr``."""
    n, seed = STORES[name]
    return [
        "generate",
        "--domain",
        domain,
        "--n-samples",
        str(n),
        "--seed",
        str(seed),
        "--out",
        str(store_path(data, domain, name)),
    ]


def sp4_store(data, domain, name):
    """Return the store ``DATA/DOMAIN_NAME.zarr``, simulating what it lacks first.

    Parameters
    ----------
    data : str or pathlib.Path
        Folder of the stores (created if missing).
    domain : str
        Field domain, e.g. ``"sp4_field2"``.
    name : str
        A key of :data:`STORES`.

    Raises
    ------
    SystemExit
        If some simulations failed (the store keeps what completed), or with the
        command's code (130, 143) when it was interrupted.
    """
    path = store_path(data, domain, name)
    n = STORES[name][0]
    existing = TrajectoryStore(path) if path.exists() else None
    done = len(existing.complete) if existing is not None else 0
    if done >= n:
        return existing
    argv = generate_command(data, domain, name)
    print(
        f"{path}: {done} of {n} simulations there; making the rest "
        f"(resumable: Ctrl-C and rerun go on from here):\n"
        f"  ubermag-surrogate {' '.join(argv)}",
        flush=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    code = cli(argv)
    if code in (130, 143):  # Ctrl-C or SIGTERM: the command has said so
        raise SystemExit(code)
    if code != 0:
        raise SystemExit(f"{path}: some simulations failed; rerun to retry them.")
    print(f"{path}: made in {time.perf_counter() - start:.0f} s", flush=True)
    return TrajectoryStore(path)


def store(data, domain, name):
    """Return ``DATA/DOMAIN_NAME.zarr``: made first if ``name`` is in :data:`STORES`.

    Other names (e.g. ``test_shifted``) must exist already.
    """
    if name in STORES:
        return sp4_store(data, domain, name)
    path = store_path(data, domain, name)
    if not path.exists():
        raise SystemExit(
            f"{path}: no such store (only {sorted(STORES)} are made on first use)."
        )
    return TrajectoryStore(path)


def open_stores(data, domain, more_tests=""):
    """Return a domain's train and test stores and the further held-out ones.

    ``DATA/DOMAIN_train.zarr`` and ``..._test.zarr`` and, for each name in the
    comma-separated ``more_tests``, ``..._NAME.zarr``; stores named in
    :data:`STORES` are made where missing, others are used where they exist.
    """
    train, test = store(data, domain, "train"), store(data, domain, "test")
    more = {}
    for name in filter(None, more_tests.split(",")):
        if name in STORES or store_path(data, domain, name).exists():
            more[name] = store(data, domain, name)
        else:  # said, not dropped without a word
            path = store_path(data, domain, name)
            print(f"{path} absent: --more-tests {name} skipped")
    return train, test, more
