"""Training data: real embedded simulations of a coarse SP4 into a Zarr store."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import discretisedfield as df
import micromagneticdata as md
import numpy as np
import pytest
import xarray as xr
import zarr
from helpers import SP4Failing, two_regions, wait_while_running
from IPython.lib.pretty import pretty

from ubermag_surrogate import embedded
from ubermag_surrogate.data import FieldDomain, sp4_field1_domain, sp4_field2_domain
from ubermag_surrogate.data.generate import (
    WORKER_DIED,
    GenerationSummary,
    generate,
    scratch_folder,
)
from ubermag_surrogate.data.store import (
    StoreBusyError,
    StoreMismatchError,
    TrajectoryStore,
    writing,
)
from ubermag_surrogate.models import KernelSurrogate
from ubermag_surrogate.problems import Problem, cache_dir, sp4

CELL = (10e-9, 12.5e-9, 3e-9)  # 50 x 10 x 1 cells
T, N = 5e-11, 5


@pytest.fixture(scope="module")
def problem():
    return sp4.problem(cell=CELL)


@pytest.fixture(scope="module")
def generated(problem, tmp_path_factory):
    """Three SP4 cases, simulation folders kept to compare with."""
    root = tmp_path_factory.mktemp("generated")
    fields = sp4_field2_domain.sample(3, seed=0)
    summary = generate(
        problem,
        fields,
        t=T,
        n=N,
        calculator="embedded",
        store=root / "d.zarr",
        workers=2,
        scratch=root / "scratch",
        keep=True,
        progress=False,
        domain=sp4_field2_domain,
        sampling={"method": "uniform", "seed": 0},
    )
    return summary, fields, root


def test_summary_and_store_contents(generated, problem):
    summary, fields, root = generated
    assert (summary.completed, summary.skipped, summary.failed) == (3, 0, 0)
    assert "3 simulated, 0 already in the store, 0 failed" in str(summary)
    assert repr(summary) == (
        f"GenerationSummary(3 simulated, 0 skipped, 0 failed -> {summary.store!r})"
    )
    store = TrajectoryStore(root / "d.zarr")
    assert store.n_samples == 3
    assert np.array_equal(store.complete, [0, 1, 2])
    assert np.array_equal(store.fields, fields)
    assert np.allclose(store.times, np.linspace(0, T, N + 1))
    attrs = store.attrs
    assert attrs["mesh"]["n"] == [50, 10, 1]
    assert attrs["driver"] == {"name": "TimeDriver", "t": T, "n": N}
    assert attrs["calculator"]["name"] == "embedded"
    assert attrs["field_domain"] == sp4_field2_domain.to_dict()
    assert attrs["sampling"] == {"method": "uniform", "seed": 0}
    assert attrs["material"]["Ms_max"] == pytest.approx(8e5)
    assert store.mesh == problem.mesh


def test_round_trip_store_tensor_field_equals_micromagneticdata(generated, problem):
    _, fields, root = generated
    store = TrajectoryStore(root / "d.zarr")
    sims = scratch_folder(root / "scratch", root / "d.zarr")  # keep=True: kept
    D = store.tensor()
    n_cells = 500
    assert D.shape == (N + 1, 3, 3 * n_cells + 2)
    assert D.dtype == np.float32
    assert np.allclose(D[:, :, :2], fields[None, :, :2].astype(np.float32))
    for sample in range(3):
        (folder,) = sims.glob(f"sp4_{sample:06d}-*")  # this attempt's own folder
        drive = md.Data(f"sp4_{sample:06d}", dirname=str(folder))[-1]
        for i in (0, 3, N):
            expected = drive.m0 if i == 0 else drive[i - 1]
            field = store.field(sample, i)
            assert isinstance(field, df.Field)
            assert field.mesh == expected.mesh
            assert np.allclose(field.array, expected.array, rtol=1e-6, atol=1e-6 * 8e5)
            unit = expected.orientation.array.reshape(-1, 3)
            row = D[i, sample, 2:]
            assert np.allclose(row[:n_cells], unit[:, 0], atol=1e-7)
            assert np.allclose(row[n_cells : 2 * n_cells], unit[:, 1], atol=1e-7)
            assert np.allclose(row[2 * n_cells :], unit[:, 2], atol=1e-7)
    # every trajectory starts from the same s-state
    assert np.allclose(D[0, 0, 2:], D[0, 2, 2:])
    assert D[0, 0, 2 : 2 + n_cells].mean() > 0.96  # s-state: <mx> = 0.967
    # the s-state is the cached relaxation of this mesh
    assert len(list(cache_dir().glob("sp4-*.omf"))) >= 1


def test_store_mean_m_equals_the_simulations_tables(generated):
    _, _, root = generated
    store = TrajectoryStore(root / "d.zarr")
    sims = scratch_folder(root / "scratch", root / "d.zarr")
    mean = store.mean_m([2, 0])
    assert mean.shape == (2, N + 1, 3) and mean.dtype == np.float64
    for j, sample in enumerate([2, 0]):
        (folder,) = sims.glob(f"sp4_{sample:06d}-*")
        drive = md.Data(f"sp4_{sample:06d}", dirname=str(folder))[-1]
        table = drive.table.data[["mx", "my", "mz"]].to_numpy()  # t > 0
        assert np.allclose(mean[j, 1:], table, rtol=0, atol=1e-6)
        assert np.allclose(mean[j, 0], drive.m0.orientation.mean(), atol=1e-6)
    with pytest.raises(IndexError, match=r"Samples \[3\] are not in the store"):
        store.mean_m([0, 3])


def test_store_mean_m_leaves_empty_cells_out(tmp_path):
    Ms = np.array([8e5, 0.0, 8e5, 0.0])  # two of four cells empty
    store = TrajectoryStore.create(
        tmp_path / "holes.zarr",
        times=[0, 1e-12],
        Ms=Ms,
        metadata={"problem": "p"},
    )
    store.add_samples([[0.03, 0, 0]])
    m = np.zeros((2, 3, 4), dtype=np.float32)  # (s+1, component, cell)
    m[:, 0, [0, 2]] = 1.0  # magnetic cells along +x, empty cells zero
    store.write_sample(0, m)
    assert np.array_equal(store.mean_m(), [[[1, 0, 0], [1, 0, 0]]])


def test_store_is_readable_without_this_package(generated):
    _, fields, root = generated
    ds = xr.open_zarr(str(root / "d.zarr"), consolidated=False)
    assert ds["m"].dims == ("sample", "time", "component", "cell")
    assert ds["m"].shape == (3, N + 1, 3, 500)
    assert ds.attrs["driver"]["n"] == N
    group = zarr.open_group(str(root / "d.zarr"), mode="r")
    assert group["m"].chunks == (1, N + 1, 3, 500)  # one chunk per simulation
    assert np.array_equal(group["field"][:], fields)
    assert ds["status"].values.tolist() == [1, 1, 1]
    assert ds["component"].values.tolist() == ["x", "y", "z"]
    assert ds["sample"].values.tolist() == [0, 1, 2]
    assert ds["cell"].size == 500
    mean_mx = ds["m"].sel(component="x").isel(time=0).mean("cell")
    assert np.all(mean_mx.values > 0.96)


def test_tensor_subset_and_float64(generated):
    _, _, root = generated
    store = TrajectoryStore(root / "d.zarr")
    D = store.tensor(samples=[2, 0], dtype=np.float64)
    assert D.dtype == np.float64
    assert np.array_equal(D[:, 0, 2:], store.tensor()[:, 2, 2:].astype(np.float64))


def test_rerun_skips_and_append_extends(generated, problem):
    _, fields, root = generated
    store_path = root / "d.zarr"
    again = generate(
        problem,
        fields,
        t=T,
        n=N,
        calculator="embedded",
        store=store_path,
        progress=False,
    )
    assert (again.completed, again.skipped) == (0, 3)
    more = np.vstack([fields, sp4_field2_domain.sample(1, seed=99)])
    appended = generate(
        problem,
        more,
        t=T,
        n=N,
        calculator="embedded",
        store=store_path,
        workers=1,
        progress=False,
    )
    assert (appended.completed, appended.skipped) == (1, 3)
    store = TrajectoryStore(store_path)
    assert store.n_samples == 4
    # the first run describes the store; every run that simulated is recorded
    assert store.attrs["sampling"] == {"method": "uniform", "seed": 0}
    runs = store.attrs["runs"]  # the rerun above simulated nothing: no record
    assert [run["samples"] for run in runs] == [[0, 1, 2], [3]]
    assert [(run["completed"], run["finished"]) for run in runs] == [
        (3, True),
        (1, True),
    ]
    assert [run["sampling"] for run in runs] == [store.attrs["sampling"], None]
    assert runs[1]["calculator"]["name"] == "embedded"


def test_a_field_repeated_in_one_request_is_simulated_once(generated, problem):
    _, fields, root = generated
    store_path = root / "d.zarr"
    before = TrajectoryStore(store_path).n_samples
    new = sp4_field2_domain.sample(1, seed=123)[0]
    with pytest.warns(UserWarning, match="3 of the 6 fields repeat earlier ones"):
        summary = generate(
            problem,
            [fields[0], fields[0], new, new, new, fields[1]],
            t=T,
            n=N,
            calculator="embedded",
            store=store_path,
            workers=2,
            progress=False,
        )
    assert (summary.completed, summary.skipped, summary.failed) == (1, 5, 0)
    store = TrajectoryStore(store_path)
    assert store.n_samples == before + 1
    assert np.array_equal(store.fields[-1], new)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": 2 * T}, "driver"),
        ({"n": N + 1}, "driver"),
        ({"cell": (5e-9, 5e-9, 3e-9)}, "mesh"),
    ],
)
def test_appending_with_other_metadata_is_refused(generated, kwargs, match):
    _, fields, root = generated
    cell = kwargs.pop("cell", CELL)
    args = {"t": T, "n": N, **kwargs}
    before = TrajectoryStore(root / "d.zarr").n_samples
    with pytest.raises(StoreMismatchError, match=f"its {match} is"):
        generate(
            sp4.problem(cell=cell),
            fields,
            calculator="embedded",
            store=root / "d.zarr",
            progress=False,
            **args,
        )
    assert TrajectoryStore(root / "d.zarr").n_samples == before


def test_a_failed_simulation_is_recorded_and_the_others_go_on(tmp_path):
    scratch = tmp_path / "scratch"
    run = scratch_folder(scratch, tmp_path / "f.zarr")  # this store's folder in it
    fields = np.array([sp4.FIELD2, [-0.0350, -0.0063, 0.0], sp4.FIELD1])
    summary = generate(
        SP4Failing(fields[1], cell=CELL),
        fields,
        t=T,
        n=N,
        calculator="embedded",
        store=tmp_path / "f.zarr",
        workers=2,
        scratch=scratch,
        progress=False,
    )
    assert (summary.completed, summary.failed) == (2, 1)
    assert "1 failed" in str(summary)
    last_line = summary.errors[1].strip().splitlines()[-1]
    assert f"sample (1) failed: {last_line}" in str(summary)  # whole, not cut
    assert "ValueError: this problem cannot simulate" in summary.errors[1]
    store = TrajectoryStore(tmp_path / "f.zarr")
    assert store.status.tolist() == [1, -1, 1]
    assert summary.errors[1] in store.errors[1]
    with pytest.raises(ValueError, match="not complete"):
        store.tensor(samples=[1])
    assert store.tensor().shape[1] == 2
    with pytest.raises(ValueError, match=r"got 1\. 1 samples of .*f\.zarr' failed"):
        KernelSurrogate().fit(store, samples=[0])  # where to look, not just "got 1"
    TrajectoryStore(store.path, mode="r+").mark_failed(0, "")  # an empty message
    with pytest.raises(ValueError, match=r"2 samples .* sample 0: \(no message\)"):
        KernelSurrogate().fit(TrajectoryStore(store.path))
    # the simulations' folders were cleaned up
    assert list(run.iterdir()) == []
    assert [p.name for p in scratch.iterdir()] == [run.name]


def test_a_simulation_that_kills_its_worker_is_found_and_recorded(tmp_path):
    # the out-of-memory killer, a crash: the pool broke, generate raised, nothing of
    # the run was stored, and every rerun broke again on the same sample
    fields = sp4_field2_domain.sample(4, seed=3)
    problem = SP4Failing(fields[2], how="kill", cell=CELL)
    args = dict(t=T, n=N, calculator="embedded", workers=2, progress=False)
    summary = generate(problem, fields, store=tmp_path / "k.zarr", **args)

    assert (summary.completed, summary.failed) == (3, 1)
    assert summary.errors[2].startswith(WORKER_DIED)
    store = TrajectoryStore(tmp_path / "k.zarr")
    assert store.status.tolist() == [1, 1, -1, 1]
    rerun = generate(problem, fields, store=tmp_path / "k.zarr", **args)
    assert (rerun.skipped, rerun.completed, rerun.failed) == (3, 0, 1)


def test_dask_local_cluster(problem, tmp_path, monkeypatch):
    # `dask worker` runs one process with a thread per core: each thread's drive
    # changes the working directory, so a relative scratch lost samples
    distributed = pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        summary = generate(
            problem,
            sp4_field2_domain.sample(3, seed=5),
            t=T,
            n=N,
            calculator="embedded",
            store="dask.zarr",
            client=client,
            scratch="relative",
            progress=False,
        )
    assert (summary.completed, summary.failed) == (3, 0), str(summary)
    assert TrajectoryStore(tmp_path / "dask.zarr").tensor().shape == (N + 1, 3, 1502)
    (run,) = (tmp_path / "relative").iterdir()
    assert list(run.iterdir()) == []  # every simulation's folder removed


def test_dask_worker_killed_by_a_simulation_is_recorded(tmp_path):
    distributed = pytest.importorskip("distributed")
    dask = pytest.importorskip("dask")
    fields = sp4_field2_domain.sample(3, seed=4)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        summary = generate(
            SP4Failing(fields[1], how="kill", cell=CELL),
            fields,
            t=T,
            n=N,
            calculator="embedded",
            store=tmp_path / "killed.zarr",
            client=client,
            progress=False,
        )
    assert (summary.completed, summary.failed) == (2, 1), str(summary)
    assert summary.errors[1] == f"KilledWorker: {WORKER_DIED}"


KILL_SCRIPT = textwrap.dedent(
    """
    from ubermag_surrogate.data import FieldDomain, sp4_field1_domain, sp4_field2_domain
    from ubermag_surrogate.data.generate import generate
    from ubermag_surrogate.problems import sp4

    if __name__ == "__main__":
        generate(sp4.problem(cell=(10e-9, 12.5e-9, 3e-9)),
                 sp4_field2_domain.sample(6, seed=7), t=5e-11, n=5,
                 calculator="embedded", store="killed.zarr", workers=1,
                 progress=False)
    """
)


def _wait_for_samples(process, store_path, count, deadline_s):
    """Wait until the run in ``process`` has completed ``count`` samples of the
    store (the run must still be going)."""

    def ready():
        status = store_path / "status"
        return (
            status.exists() and (TrajectoryStore(store_path).status == 1).sum() >= count
        )

    wait_while_running(
        process,
        ready,
        f"fewer than {count} samples in time",
        seconds=deadline_s,
        poll=0.2,
        ended="the run ended before it could be stopped",
    )


def _children(pid):
    """Pids of the child processes of ``pid`` and of theirs (Linux /proc).

    For :func:`generate`: its pool workers and their solver processes.
    """
    children = set()
    try:
        for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
            children.update(int(c) for c in (task / "children").read_text().split())
    except (FileNotFoundError, ProcessLookupError):  # it has exited meanwhile
        return children
    for child in list(children):
        children |= _children(child)
    return children


def _running(pid):
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _assert_gone_within(pids, seconds):
    """Assert that every process in ``pids`` has ended within ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if _running(p)]
    assert not left, f"pool workers or their solver processes outlived the run: {left}"


def _solvers(pids):
    """The embedded calculator's solver processes among ``pids``."""
    found = []
    for pid in pids:
        try:
            command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"_solver.py" in command:
            found.append(pid)
    return found


def test_killed_run_resumes_where_it_stopped(problem, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    store_path = tmp_path / "killed.zarr"
    _wait_for_samples(process, store_path, 2, deadline_s=180)
    has_proc = pathlib.Path(f"/proc/{process.pid}/task").exists()
    workers = _children(process.pid) if has_proc else set()
    assert _solvers(workers) or not has_proc
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    # Its pool workers go too (a worker left behind blocked for ever writing its
    # result to the dead parent).
    _assert_gone_within(workers, 30)
    store = TrajectoryStore(store_path)
    complete = store.complete
    assert 2 <= len(complete) < 6
    assert np.all(np.isfinite(store.tensor()))  # no partially written sample
    summary = generate(
        problem,
        sp4_field2_domain.sample(6, seed=7),
        t=T,
        n=N,
        calculator="embedded",
        store=store_path,
        workers=2,
        progress=False,
    )
    assert summary.skipped == len(complete)
    assert summary.completed == 6 - len(complete)
    assert TrajectoryStore(store_path).status.tolist() == [1] * 6


@pytest.mark.skipif(
    not pathlib.Path("/proc/self/task").exists(),
    reason="needs Linux /proc to find the pool's workers",
)
def test_interrupted_run_stops_at_once_and_keeps_what_is_done(problem, tmp_path):
    # Ctrl-C in a terminal or "interrupt kernel" in Jupyter: SIGINT to the caller.
    # The s-state cached first: relaxing it would start a third solver process.
    problem.initial_state(embedded)
    script = tmp_path / "run.py"
    script.write_text(  # simulations of about 30 s (idle), so a wait would show
        KILL_SCRIPT.replace("t=5e-11", "t=1.2e-9").replace("workers=1", "workers=2")
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], cwd=tmp_path, stderr=subprocess.PIPE
    )
    store_path = tmp_path / "killed.zarr"
    _wait_for_samples(process, store_path, 2, deadline_s=240)
    time.sleep(1)  # the next two simulations are under way
    workers = _children(process.pid)
    assert len(_solvers(workers)) == 2  # one per worker
    start = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    stopped_after = time.monotonic() - start
    assert b"KeyboardInterrupt" in stderr
    # Not waiting for the simulations in flight (about 30 s each here; the bound
    # leaves room for the workers' teardown on a loaded machine).
    assert stopped_after < 15, f"took {stopped_after:.1f} s to stop"
    _assert_gone_within(workers, 1)
    store = TrajectoryStore(store_path)
    assert 2 <= len(store.complete) < 6
    assert np.all(np.isfinite(store.tensor()))
    # the run's record says what it did, not only what it planned
    (run,) = store.attrs["runs"]
    assert (run["completed"], run["failed"], run["finished"]) == (
        len(store.complete),
        0,
        False,
    )


@pytest.mark.skipif(
    not pathlib.Path("/proc/self/task").exists(),
    reason="needs Linux /proc to find the pool's workers",
)
def test_a_terminated_command_line_run_stops_as_after_ctrl_c(tmp_path):
    # A batch system's time limit sends SIGTERM: the command keeps what it has done
    # and says so, instead of dying in the middle of a write
    command = "import sys; from ubermag_surrogate.cli import main; sys.exit(main())"
    argv = ["generate", "--n-samples", "6", "--t", "4e-10", "--steps", "5"]
    argv += ["--cell", "10,12.5,3", "--out", "cut.zarr", "--calculator", "embedded"]
    process = subprocess.Popen(
        [sys.executable, "-c", command, *argv, "--workers", "1"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    store_path = tmp_path / "cut.zarr"
    _wait_for_samples(process, store_path, 1, deadline_s=240)
    workers = _children(process.pid)
    process.terminate()
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 143
    assert "ubermag-surrogate generate: terminated (SIGTERM)." in stderr
    assert "rerun the same command to go on" in stderr
    assert "Traceback" not in stderr
    _assert_gone_within(workers, 5)
    store = TrajectoryStore(store_path)
    assert 1 <= len(store.complete) < 6
    (run,) = store.attrs["runs"]
    assert (run["completed"], run["finished"]) == (len(store.complete), False)


UNGUARDED_SCRIPT = textwrap.dedent(
    """
    from ubermag_surrogate.data import FieldDomain, sp4_field1_domain, sp4_field2_domain
    from ubermag_surrogate.data.generate import generate
    from ubermag_surrogate.problems import sp4

    print("top level ran")
    summary = generate(sp4.problem(cell=(10e-9, 12.5e-9, 3e-9)),
                       sp4_field2_domain.sample(2, seed=3), t=5e-11, n=5,
                       calculator="embedded", store="plain.zarr", workers=2,
                       progress=False)
    print(summary.completed, summary.failed)
    """
)


def test_generate_from_a_script_without_a_main_guard(tmp_path):
    # As the README and tutorial 02 call it: top-level code of a plain script.
    # Worker processes must not re-run the script (multiprocessing's "spawn" does,
    # and the pool broke with BrokenProcessPool).
    script = tmp_path / "plain.py"
    script.write_text(UNGUARDED_SCRIPT)
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["top", "level", "ran", "2", "0"]
    assert TrajectoryStore(tmp_path / "plain.zarr").status.tolist() == [1, 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"fields": np.zeros((0, 3))}, ValueError, "No fields"),
        ({"fields": np.zeros((2, 2))}, ValueError, "shape"),
        ({"fields": [[np.nan, 0, 0]]}, ValueError, "non-finite"),
        ({"t": -1e-9}, ValueError, "t=-1e-09"),
        ({"t": 1.0}, ValueError, "1 ns is 1e-9"),
        ({"fields": [[-28000.0, -5000.0, 0]]}, ValueError, "tesla"),
        ({"n": 0}, ValueError, "n=0"),
        ({"workers": 0}, ValueError, "workers=0"),
        ({"workers": 1, "client": object()}, ValueError, "either workers"),
        ({"calculator": "mumax"}, ValueError, "Unknown calculator"),
        # mT given as T: inside the 100 T guard, outside the recorded domain
        (
            {"fields": [[-35.5, -6.3, 0]], "domain": sp4_field2_domain},
            ValueError,
            r"1 of 1 fields lie outside the domain 'sp4_field2' .* mT is 0.035",
        ),
        ({"domain": "sp4_field2"}, TypeError, "domain must be a FieldDomain"),
    ],
)
def test_bad_arguments(problem, tmp_path, kwargs, error, match):
    args = {
        "fields": [sp4.FIELD2],
        "t": T,
        "n": N,
        "calculator": "embedded",
        "store": tmp_path / "bad.zarr",
        "progress": False,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        generate(problem, **args)
    assert not (tmp_path / "bad.zarr").exists()


def test_the_recorded_domain_keeps_containing_the_stores_fields(problem, tmp_path):
    store = tmp_path / "domain.zarr"
    args = {"t": T, "n": N, "calculator": "embedded", "store": store}
    first = sp4_field2_domain.sample(1, seed=0)
    generate(problem, first, domain=sp4_field2_domain, progress=False, **args)
    # no domain given: new fields must lie inside the recorded one (field 1 is not)
    recorded = "outside the store's recorded domain 'sp4_field2'"
    with pytest.raises(StoreMismatchError, match=recorded):
        generate(problem, [sp4.FIELD1], progress=False, **args)
    # a domain that leaves the stored field out
    other = "outside the domain to record 'sp4_field1'"
    with pytest.raises(StoreMismatchError, match=other):
        generate(
            problem, [sp4.FIELD1], domain=sp4_field1_domain, progress=False, **args
        )
    assert TrajectoryStore(store).n_samples == 1
    assert TrajectoryStore(store).attrs["field_domain"]["name"] == "sp4_field2"
    # a domain containing both is recorded, and field 1 simulated
    both = FieldDomain((20, 40), (160, 200), name="both")
    summary = generate(problem, [sp4.FIELD1], domain=both, progress=False, **args)
    assert summary.completed == 1
    assert TrajectoryStore(store).attrs["field_domain"]["name"] == "both"


def test_fields_all_below_half_a_millitesla_warn(problem, tmp_path):
    # FieldDomain ranges given in T where mT are asked for: 0.03-0.04 "mT"
    fields = FieldDomain((0.03, 0.04), (180, 200)).sample(1)
    args = {"t": T, "n": N, "calculator": "embedded", "progress": False}
    with pytest.warns(UserWarning, match=r"below 0.5 mT .*35 mT is 0.035 T"):
        summary = generate(problem, fields, store=tmp_path / "weak.zarr", **args)
    assert summary.completed == 1  # weak fields may be meant: it goes on
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SP4's fields, and no field at all
        generate(problem, [sp4.FIELD2, (0, 0, 0)], store=tmp_path / "ok.zarr", **args)


def test_fields_in_millitesla_given_as_tesla_warn(problem, tmp_path):
    with (
        pytest.warns(UserWarning, match=r"36 T, above 10 T: .*35 mT is 0.035"),
        pytest.raises(ValueError, match="Unknown calculator"),  # before simulating
    ):
        generate(problem, [(-36, -3, 0)], calculator="x", store=tmp_path / "s.zarr")
    assert not (tmp_path / "s.zarr").exists()


@pytest.mark.parametrize(
    ("blocked", "match"),
    [
        ("scratch", "Cannot use scratch=.*a_file/sims"),
        ("store", "Cannot create a store"),
    ],
)
def test_unusable_store_or_scratch_paths_are_refused_before_any_work(
    problem, tmp_path, blocked, match
):
    blocker = tmp_path / "a_file"  # a file where a folder should go
    blocker.write_text("not a directory")
    paths = {"store": tmp_path / "d.zarr", "scratch": tmp_path / "sims"}
    paths[blocked] = blocker / ("sims" if blocked == "scratch" else "d.zarr")
    with pytest.raises(OSError, match=match):
        generate(
            problem, [sp4.FIELD2], t=T, n=N, calculator="embedded", progress=False,
            **paths,
        )  # fmt: skip
    assert not (tmp_path / "d.zarr").exists()  # no store made


def test_cli_generate(tmp_path, capsys):
    from ubermag_surrogate.cli import main

    code = main(
        [
            "generate",
            "--problem",
            "sp4",
            "--domain",
            "sp4_field1",
            "--n-samples",
            "2",
            "--t",
            "5e-11",
            "--steps",
            "5",
            "--cell",
            "10,12.5,3",
            "--out",
            str(tmp_path / "cli.zarr"),
            "--workers",
            "2",
            "--calculator",
            "embedded",
            "--sampling",
            "sobol",
        ]
    )
    assert code == 0
    assert "2 simulated" in capsys.readouterr().out
    store = TrajectoryStore(tmp_path / "cli.zarr")
    assert store.attrs["field_domain"]["name"] == "sp4_field1"
    assert store.attrs["sampling"] == {"method": "sobol", "seed": 0, "n": 2}
    json.dumps(store.attrs)  # attributes stay plain JSON


def test_store_creation_is_all_or_nothing(tmp_path):
    path = tmp_path / "new.zarr"
    args = {"times": np.linspace(0, 1e-11, 3), "Ms": np.full(4, 8e5)}
    # metadata that cannot be written fails half-way through the creation
    with pytest.raises(TypeError, match="not JSON serializable"):
        TrajectoryStore.create(path, metadata={"problem": object()}, **args)
    assert list(tmp_path.iterdir()) == []  # no store, no half-made folder
    path.mkdir()  # anything already there is never overwritten
    with pytest.raises(FileExistsError, match="new.zarr' exists already"):
        TrajectoryStore.create(path, metadata={"problem": "p"}, **args)
    path.rmdir()
    # a half-made folder left by a killed creation does not block the next one
    (tmp_path / f".new.zarr.creating-{os.getpid()}").mkdir()
    store = TrajectoryStore.create(path, metadata={"problem": "p"}, **args)
    assert store.attrs["problem"] == "p" and len(store.times) == 3
    assert list(tmp_path.iterdir()) == [path]


def _small_store(path, n_samples=3):
    """A store of ``n_samples`` complete two-cell samples, sample i along x * (i+1)."""
    store = TrajectoryStore.create(
        path, times=[0, 1e-12], Ms=np.full(2, 8e5), metadata={"problem": "p"}
    )
    store.add_samples([[0.03 + 0.001 * i, 0, 0] for i in range(n_samples)])
    for i in range(n_samples):
        m = np.zeros((2, 3, 2), dtype=np.float32)
        m[:, 0] = 1.0
        m[1, 1] = 0.1 * i  # tells the samples apart
        store.write_sample(i, m)
    return store


@pytest.mark.parametrize("mode", ["w", "a", "w-", "x"])
def test_opening_a_store_never_overwrites_it(tmp_path, mode):
    path = tmp_path / "s.zarr"
    _small_store(path)
    before = TrajectoryStore(path).tensor()
    with pytest.raises(ValueError, match="mode 'r' .* or 'r\\+'"):
        TrajectoryStore(path, mode=mode)
    assert np.array_equal(TrajectoryStore(path).tensor(), before)  # intact


def test_samples_as_a_boolean_mask_or_indices(tmp_path):
    store = _small_store(tmp_path / "s.zarr")
    D = store.tensor()
    mask = np.array([False, True, True])
    assert np.array_equal(store.tensor(mask), D[:, 1:])  # not samples 0, 1, 1
    assert np.array_equal(store.mean_m(mask), store.mean_m()[1:])
    assert np.array_equal(store.tensor(np.int32([2])), D[:, 2:])
    with pytest.raises(ValueError, match="one entry per sample \\(3\\)"):
        store.tensor([True, False])
    for bad in ([0.9], 0, "1", [[0, 1]]):
        with pytest.raises(TypeError, match="integer sample indices or a boolean"):
            store.tensor(bad)
    with pytest.raises(ValueError, match="components of mu0 H are 0 \\(x\\)"):
        store.tensor(field_components=(3,))


def test_a_damaged_store_is_refused_with_what_is_wrong(tmp_path):
    import shutil

    path = tmp_path / "s.zarr"
    _small_store(path)
    chunk = path / "m" / "c" / "1" / "0" / "0" / "0"
    assert chunk.is_file()
    chunk.unlink()  # reads back as the fill value, NaN
    store = TrajectoryStore(path)
    assert np.array_equal(store.tensor([0, 2]).shape, (2, 2, 8))
    for read in (store.tensor, store.mean_m, lambda: store.trajectory(1)):
        with pytest.raises(ValueError, match="Sample 1 of .* not all finite"):
            read()
    shutil.rmtree(path / "Ms")
    with pytest.raises(ValueError, match="is damaged: it has no Ms array"):
        TrajectoryStore(path)


def test_samples_of_fields(tmp_path):
    store = _small_store(tmp_path / "s.zarr")  # fields 30, 31, 32 mT along x
    fields = store.fields
    assert store.samples_of(fields[[2, 0, 2]]).tolist() == [2, 0]
    np.testing.assert_array_equal(store.samples_of(fields[1]), [1])
    with pytest.raises(ValueError, match="1 of the 2 fields have no complete sample"):
        store.samples_of([fields[0], [0.05, 0, 0]])


def test_a_system_the_embedded_calculator_cannot_run_is_refused_before_any_run(
    tmp_path,
):
    # every sample used to be simulated and fail, the reason cut at 200
    # characters, and fit then said only "got 0"
    with pytest.raises(ValueError, match="Oxs_Exchange6Ngbr.*Give A as one number"):
        generate(
            # r2 and the coupling across take A["default"] in OOMMF
            Problem("paired", two_regions({"r1": 1e-11, "default": 2e-11}), False),
            [[0, 0.01, 0]],
            t=1e-12,
            n=1,
            calculator="embedded",
            store=tmp_path / "r.zarr",
            progress=False,
        )
    assert not (tmp_path / "r.zarr").exists()


def test_a_second_generate_into_a_store_being_written_is_refused(problem, tmp_path):
    # two runs appending at once took the same sample indices: one run's
    # samples were lost while both reported success
    path = tmp_path / "busy.zarr"
    args = dict(t=T, n=N, calculator="embedded", store=path, progress=False)
    with writing(path):  # as a run in another process holds it
        with pytest.raises(StoreBusyError, match="Another process is writing to"):
            generate(problem, [sp4.FIELD2], **args)
    assert not path.exists()
    summary = generate(problem, [sp4.FIELD2], **args)  # released: it runs
    assert summary.completed == 1


def test_a_summary_in_a_container_shows_one_line():
    # IPython showed each whole report inside the braces of a dict
    summary = GenerationSummary(
        store="x.zarr", requested=2, skipped=0, completed=2, failed=0, errors={},
        wall_s=1.0, calculator="embedded",
    )  # fmt: skip
    assert pretty(summary) == str(summary)
    assert pretty({"run": summary}) == f"{{'run': {summary!r}}}"


def test_xarray_reads_a_store_while_fields_are_appended(tmp_path):
    # add_samples grows m, field, status and sample one after another: an
    # xarray.open_zarr in between saw conflicting sizes (a third of opens failed)
    path = tmp_path / "growing.zarr"
    _small_store(path, n_samples=1)
    script = textwrap.dedent(
        f"""
        import sys, time
        from ubermag_surrogate.data.store import TrajectoryStore
        store = TrajectoryStore({str(path)!r}, mode="r+")
        print("ready", flush=True)
        end = time.monotonic() + 4
        while time.monotonic() < end:
            store.add_samples([[0.03, 0, 0]])
        """
    )
    appender = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    assert appender.stdout.readline() == "ready\n"
    opened = 0
    while appender.poll() is None:
        dataset = TrajectoryStore(path).to_xarray()
        assert dataset.sizes["sample"] == len(dataset["field"])
        opened += 1
    assert appender.returncode == 0 and opened >= 5
