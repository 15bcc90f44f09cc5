"""Generate training data: one full simulation per external field, into a store.

:func:`generate` runs each field case through an Ubermag calculator (oommfc or the
embedded one), starting from the problem's initial state, reads the drive back with
micromagneticdata and writes it into a :class:`~.store.TrajectoryStore`. Cases run in
parallel: a local process pool (one simulation per core) by default, or a Dask
cluster when a ``distributed.Client`` is given (so the same call scales to SLURM via
dask-jobqueue). Completed samples survive an interruption; rerunning the same call
skips them.
"""

import collections
import dataclasses
import datetime
import hashlib
import numbers
import os
import pathlib
import shutil
import tempfile
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from .._checks import check_dynamics_time, check_fields
from .._display import ReportDisplay
from .._progress import progress_bar
from ..calculators import calculator as get_calculator
from ..embedded.drivers import default_threads
from .domains import FieldDomain
from .layout import to_components
from .store import COMPLETE, TrajectoryStore, field_key, writing

# Ubermag drivers chdir into the drive folder: one drive at a time per process.
_DRIVE_LOCK = threading.Lock()


@dataclasses.dataclass(repr=False)
class GenerationSummary(ReportDisplay):
    """What a :func:`generate` call did."""

    store: str
    requested: int
    skipped: int
    completed: int
    failed: int
    errors: dict
    wall_s: float
    calculator: str

    def __str__(self):
        text = (
            f"{self.completed} simulated, {self.skipped} already in the store, "
            f"{self.failed} failed ({self.calculator}, {self.wall_s:.1f} s) -> "
            f"{self.store}"
        )
        # the last line of each error (the exception), samples with one error together
        by_message = {}
        for index, message in self.errors.items():
            lines = message.strip().splitlines() or ["(no message)"]
            by_message.setdefault(lines[-1], []).append(index)
        for message, indices in list(by_message.items())[:5]:
            which = ", ".join(map(str, indices[:10])) + (" ..." if indices[10:] else "")
            label = "sample" if len(indices) == 1 else f"{len(indices)} samples"
            text += f"\n  {label} ({which}) failed: {message}"
        return text

    def _one_line(self):
        return (
            f"{self.completed} simulated, {self.skipped} skipped, {self.failed} "
            f"failed -> {self.store!r}"
        )


def simulate(problem, index, field, m0, t, n, calculator, scratch, keep=False):
    """Run one field case and return its trajectory (worker function).

    Parameters
    ----------
    problem : ubermag_surrogate.problems.Problem
        System factory.
    index : int
        Sample index (names the drive folder).
    field : numpy.ndarray
        mu0 H (T), three components.
    m0 : numpy.ndarray
        Initial magnetisation (A/m), the mesh's shape plus 3.
    t : float
        Simulated time (s).
    n : int
        Number of outputs.
    calculator : str
        ``"oommf"`` or ``"embedded"``.
    scratch : str
        Directory in which this attempt makes its own folder,
        ``<problem>_<index>-<random>/`` (a cancelled Dask task still running
        cannot delete the folder of its rerun).
    keep : bool, optional
        Keep that folder (default: delete it).

    Returns
    -------
    dict
        ``index``, ``m`` (unit magnetisation, ``(n+1, 3, N)`` float32, or ``None``),
        ``error`` (``None`` or the message) and ``wall_s``.
    """
    import micromagneticdata as md

    start = time.perf_counter()
    name = f"{problem.name}_{index:06d}"
    folder = None
    try:
        calc = get_calculator(calculator, verbose=False)
        system = problem.system_for(field, m0, name=name)
        with _DRIVE_LOCK:  # drives chdir: relative paths resolve only in here
            pathlib.Path(scratch).mkdir(parents=True, exist_ok=True)
            folder = pathlib.Path(tempfile.mkdtemp(dir=scratch, prefix=f"{name}-"))
            folder = folder.absolute()
            calc.TimeDriver().drive(
                system, t=t, n=n, dirname=folder, verbose=0, n_threads=1
            )
        drive = md.Data(name, dirname=folder)[-1]
        if drive.n != n:
            raise RuntimeError(f"drive has {drive.n} outputs, expected {n}")
        n_cells = int(np.prod(m0.shape[:-1]))
        m = np.empty((n + 1, 3, n_cells), dtype=np.float32)
        m[0] = to_components(m0)
        for i, snapshot in enumerate(drive, start=1):
            m[i] = to_components(snapshot.array)
        return {
            "index": index,
            "m": m,
            "error": None,
            "wall_s": time.perf_counter() - start,
        }
    except Exception as exc:  # recorded in the store; the other samples go on
        return {
            "index": index,
            "m": None,
            "error": f"{type(exc).__name__}: {exc}",
            "wall_s": time.perf_counter() - start,
        }
    finally:
        if not keep and folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _simulate_payload(payload):
    """Unpickle a task (cloudpickle: user factories may live in a notebook)."""
    import cloudpickle

    return simulate(**cloudpickle.loads(payload))


SMALL_FIELD = 5e-4
"""mu0 H (T): when every field component is below this (0.5 mT), generate warns:
most likely a FieldDomain got its ranges in T (e.g. (0.03, 0.04)) where mT are
asked for, and the simulations would hardly move the magnetisation."""


LARGE_FIELD = 10.0
"""mu0 H (T): without a ``domain=``, a field component above this (10 T) warns:
most likely fields in mT given as T (36 for 36 mT), simulated as 36 T. (With a
domain, fields outside it are refused with the same hint.)"""


def scratch_folder(scratch, store):
    """Return the folder under ``scratch`` that the simulations for ``store`` use.

    Named after the store (its name and a hash of its absolute path), so runs for
    other stores can share one ``scratch`` without two simulations in one folder
    (sample folders are named after the problem and the sample index).
    """
    store = pathlib.Path(store).absolute()
    tag = hashlib.sha256(str(store).encode()).hexdigest()[:8]
    # absolute here, where it was given: a worker's threads chdir into drives
    return pathlib.Path(scratch).absolute() / f"{store.name}-{tag}"


def _check_arguments(fields, t, n, workers, client):
    fields = check_fields(fields)
    largest = np.abs(fields).max()
    if 0 < largest < SMALL_FIELD:
        warnings.warn(
            f"All fields are below {SMALL_FIELD * 1e3:g} mT (the largest |mu0 H| "
            f"component is {largest * 1e3:.3g} mT): fields are mu0 H in T, and "
            "FieldDomain ranges in mT (35 mT is 0.035 T, FieldDomain((30, 40), "
            "...)). Go on only if such weak fields are meant.",
            UserWarning,
            stacklevel=3,
        )
    check_dynamics_time(t)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
        raise ValueError(f"n={n!r} must be a positive integer number of outputs.")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
            raise TypeError(
                f"workers must be an integer, not {type(workers).__name__}."
            )
        if workers <= 0:
            raise ValueError(f"workers={workers} must be positive.")
        if client is not None:
            raise ValueError("Give either workers (local pool) or client (Dask).")
    return fields


def _plan(store, fields):
    """Map requested fields to store indices; return (todo, skipped).

    A field that repeats an earlier one of the same request (equal to 1e-12 T) is
    simulated once and counted as skipped, with a warning (both would write one
    sample of the store).
    """
    existing = store.fields
    status = store.status
    keys = {}
    for i, f in enumerate(existing):
        keys.setdefault(field_key(f), i)
    todo, new, skipped, requested = [], [], 0, set()
    for f in fields:
        key = field_key(f)
        if key in requested:
            skipped += 1
            continue
        requested.add(key)
        i = keys.get(key)
        if i is None:
            new.append(f)
        elif status[i] == COMPLETE:
            skipped += 1
        else:
            todo.append(i)
    repeats = len(fields) - len(requested)
    if repeats:
        warnings.warn(
            f"{repeats} of the {len(fields)} fields repeat earlier ones of the same "
            "request; each distinct field is simulated once.",
            UserWarning,
            stacklevel=3,
        )
    if new:
        todo.extend(store.add_samples(np.array(new)).tolist())
    return todo, skipped


def generate(
    problem,
    fields,
    t=1e-9,
    n=100,
    calculator="auto",
    store="trajectories.zarr",
    *,
    workers=None,
    client=None,
    scratch=None,
    keep=False,
    progress=True,
    domain=None,
    sampling=None,
):
    """Simulate every field case and store the trajectories.

    Parameters
    ----------
    problem : ubermag_surrogate.problems.Problem
        System factory, e.g. ``sp4.problem()``.
    fields : array_like
        mu0 H (T), shape ``(k, 3)``, e.g. from ``FieldDomain.sample``.
    t : float, optional
        Simulated time per case (s); default 1 ns.
    n : int, optional
        Number of outputs (time steps s); default 100.
    calculator : str, optional
        ``"auto"`` (oommfc if OOMMF is found, else embedded), ``"oommf"`` or
        ``"embedded"``.
    store : str or pathlib.Path, optional
        Zarr store to create or append to.
    workers : int, optional
        Local worker processes (default: one per core available).
    client : distributed.Client, optional
        Run on this Dask cluster instead of a local pool.
    scratch : str or pathlib.Path, optional
        Directory for the simulation folders, which go into a subfolder named
        after the store (:func:`scratch_folder`: runs for other stores may share
        it); default: a temporary directory. With Dask, a path every worker
        reaches.
    keep : bool, optional
        Keep the simulation folders (default ``False``: deleted after reading).
    progress : bool, optional
        Show a progress bar (default ``True``).
    domain : ubermag_surrogate.data.FieldDomain, optional
        Recorded in the store's attributes.
    sampling : dict, optional
        How the fields were drawn (e.g. ``{"method": "uniform", "seed": 0}``),
        recorded in the store's attributes.

    Returns
    -------
    GenerationSummary
        Counts of simulated, skipped and failed cases, and the failures' errors.

    Raises
    ------
    ValueError, TypeError
        For bad arguments (also fields outside ``domain``), before anything is
        simulated.
    StoreMismatchError
        If ``store`` exists with another mesh, material, Ms per cell, t/n or
        initial state.
    StoreBusyError
        If another process is generating into ``store`` (one writer at a time).
    """
    start = time.perf_counter()
    from ..problems import Problem

    if not isinstance(problem, Problem):
        raise TypeError(
            f"problem must be a Problem (e.g. ubermag_surrogate.problems.sp4.problem"
            f"(), or Problem(name, system_factory)), not {type(problem).__name__}."
        )
    fields = _check_arguments(fields, t, n, workers, client)
    if domain is not None:
        if not isinstance(domain, FieldDomain):
            raise TypeError(
                f"domain must be a FieldDomain, not {type(domain).__name__}."
            )
        outside = domain.outside_text(fields)[1]
        if outside:  # the store would record a domain its fields do not keep to
            if np.abs(fields).max() > LARGE_FIELD:  # most likely mT given as T
                outside += " Fields are mu0 H in T (35 mT is 0.035)."
            raise ValueError(outside)
    elif (largest := np.abs(fields).max()) > LARGE_FIELD:  # a domain would say
        warnings.warn(
            f"A field component is {largest:.3g} T, above {LARGE_FIELD:g} T: fields "
            "are mu0 H in T (35 mT is 0.035, not 35). Go on only if such strong "
            "fields are meant.",
            UserWarning,
            stacklevel=2,
        )
    calc = get_calculator(calculator, verbose=progress)
    calculator = "oommf" if calc.__name__ == "oommfc" else "embedded"
    if calculator == "embedded":  # what it cannot run fails once, here, not per sample
        from ..embedded.system_input import check_system

        system = problem.system()
        check_system(problem.system_for(fields[0], system.m), needs_dynamics=True)
    metadata = {
        **problem.metadata(),
        "driver": {"name": "TimeDriver", "t": float(t), "n": int(n)},
    }
    if scratch is not None:  # before the store is created or changed
        try:
            pathlib.Path(scratch).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(
                f"Cannot use scratch={str(scratch)!r} for the simulation folders: {exc}"
            ) from exc
    with writing(store):  # one generate per store at a time
        times = np.linspace(0.0, t, n + 1)
        data = TrajectoryStore.open_or_create(
            store, times=times, Ms=problem.Ms, metadata=metadata
        )
        data.check_field_domain(fields, domain)  # before the store is changed
        m0 = problem.initial_state(calc).array
        data.check_initial_state(to_components(m0))
        calculator_info = _calculator_info(calc)
        # the store's first run describes it; later runs go into "runs" (below)
        extra = {"calculator": calculator_info, "sampling": sampling}
        extra = {
            k: v for k, v in extra.items() if v is not None and k not in data.attrs
        }
        if domain is not None:
            extra["field_domain"] = domain.to_dict()
        data.update_attrs(**extra)
        todo, skipped = _plan(data, fields)
        if todo:  # every run that simulates: how and which samples
            run = {
                "date": datetime.datetime.now().isoformat(timespec="seconds"),
                "calculator": calculator_info,
                "sampling": sampling,
                "samples": sorted(int(i) for i in todo),
            }
            data.update_attrs(runs=[*data.attrs.get("runs", []), run])

        own_scratch = scratch is None
        scratch = (
            pathlib.Path(tempfile.mkdtemp(prefix="ubermag-surrogate-"))
            if own_scratch
            else scratch_folder(scratch, data.path)
        )
        scratch.mkdir(parents=True, exist_ok=True)
        all_fields = data.fields
        tasks = [
            {
                "problem": problem,
                "index": int(i),
                "field": all_fields[i],
                "m0": m0,
                "t": float(t),
                "n": int(n),
                "calculator": calculator,
                "scratch": str(scratch),
                "keep": keep,
            }
            for i in todo
        ]
        completed = failed = 0
        bar = None
        if progress and tasks:
            bar = progress_bar(total=len(tasks), unit="sim", desc="simulations")
        try:
            for result in _run(tasks, workers, client):
                if result["error"] is None:
                    data.write_sample(result["index"], result["m"])
                    completed += 1
                else:
                    data.mark_failed(result["index"], result["error"])
                    failed += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(failed=failed)
        finally:
            if bar is not None:
                bar.close()
            if own_scratch and not keep:
                shutil.rmtree(scratch, ignore_errors=True)
            if todo:  # what this run did, also when it was interrupted
                runs = list(data.attrs.get("runs", []))  # not the attrs' own list
                runs[-1] = {
                    **runs[-1],
                    "completed": completed,
                    "failed": failed,
                    "finished": completed + failed == len(todo),
                }
                data.update_attrs(runs=runs)
        attempted = set(todo)
        errors = {i: e for i, e in data.errors.items() if i in attempted}
        summary = GenerationSummary(
            store=str(data.path),
            requested=len(fields),
            skipped=skipped,
            completed=completed,
            failed=failed,
            errors=errors,
            wall_s=time.perf_counter() - start,
            calculator=calculator,
        )
        if keep and progress:
            print(f"Simulation folders kept in {scratch}")
        return summary


def _calculator_info(calc):
    import importlib.metadata

    if calc.__name__ == "oommfc":
        return {"name": "oommf", "adapter": "oommfc", "version": calc.__version__}
    try:
        version = importlib.metadata.version("magnumnp")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        version = None
    return {"name": "embedded", "adapter": "ubermag_surrogate", "magnumnp": version}


def _exit_with_parent(parent_pid):
    """Pool-worker initializer: exit as soon as the process that started it is gone.

    A killed :func:`generate` (SIGKILL, a crashed Jupyter kernel) cannot stop its
    workers, and a worker that finishes its simulation afterwards blocks for ever
    writing the result into the dead parent's pipe.
    """

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


WORKER_DIED = (
    "the process running this simulation died (killed, e.g. by the out-of-memory "
    "killer, or crashed)"
)
"""The error recorded for a sample whose simulation ended its worker process."""


def _failure(task, error):
    return {"index": task["index"], "m": None, "error": error, "wall_s": 0.0}


def _run(tasks, workers, client):
    """Yield results as simulations finish, on a Dask client or a process pool.

    Tasks are pickled and submitted a few at a time, and each result is let go once
    yielded, so memory does not grow with the number of fields.
    """
    if not tasks:
        return
    if client is not None:
        yield from _run_dask(tasks, client)
    else:
        yield from _run_local(tasks, min(workers or default_threads(), len(tasks)))


def _run_dask(tasks, client):
    import cloudpickle
    from distributed import KilledWorker
    from distributed import as_completed as dask_as_completed

    queue = collections.deque(tasks)
    # A worker's death counts against every task the scheduler had on it: after a
    # KilledWorker, the tasks that got one are rerun alone, once nothing else
    # runs, so only the one that kills its worker is recorded.
    suspects = collections.deque()
    isolated = set()  # futures of suspects running alone
    active = {}
    completed = dask_as_completed()

    def submit(task, alone=False):
        future = client.submit(_simulate_payload, cloudpickle.dumps(task), pure=False)
        active[future] = task
        if alone:
            isolated.add(future)
        completed.add(future)

    def fill():
        if suspects:
            if not active:
                submit(suspects.popleft(), alone=True)
            return
        # twice the cluster's threads (it may grow, as with dask-jobqueue)
        limit = max(2 * sum(client.nthreads().values()), 2)
        while queue and len(active) < limit:
            submit(queue.popleft())

    fill()
    try:
        for future in completed:
            task = active.pop(future)
            alone = future in isolated
            isolated.discard(future)
            try:
                result = future.result()
            except KilledWorker:
                result = None
                if alone:
                    result = _failure(task, f"KilledWorker: {WORKER_DIED}")
                else:
                    suspects.append(task)
            future.release()
            fill()
            if result is not None:
                yield result
    finally:
        if active:  # interrupted: tasks already running still run to their end
            client.cancel(list(active))


def _run_local(tasks, workers):
    # loky starts fresh interpreters (no fork of a threaded parent) that, unlike
    # multiprocessing's "spawn", do not re-run the caller's script: generate() works
    # from a script without an ``if __name__ == "__main__":`` guard.
    import cloudpickle
    from loky import ProcessPoolExecutor

    queue = collections.deque(tasks)
    # After a worker died, every simulation in flight failed with it; they are
    # rerun one at a time, so the one that kills its worker is found and recorded.
    suspects = collections.deque()
    while queue or suspects:
        pool = ProcessPoolExecutor(
            max_workers=workers,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        active, broke = {}, False
        try:
            while queue or suspects or active:
                source, limit = (suspects, 1) if suspects else (queue, workers)
                done, lost = set(), []
                try:
                    while source and len(active) < limit:
                        task = source.popleft()
                        payload = cloudpickle.dumps(task)
                        active[pool.submit(_simulate_payload, payload)] = task
                except BrokenProcessPool:  # it broke since the last wait
                    source.appendleft(task)  # never ran
                    broke = True
                else:
                    done, _ = wait(active, return_when=FIRST_COMPLETED)
                for future in done:
                    task = active.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        lost.append(task)
                        broke = True
                        continue
                    yield result
                if broke:
                    lost += active.values()
                    active.clear()
                    if len(lost) == 1:
                        yield _failure(lost[0], f"{WORKER_DIED}.")
                    else:
                        suspects.extend(lost)
                    break  # a fresh pool for the rest
        except BaseException:
            # Ctrl-C, an error, or the caller stopped reading: the simulations in
            # flight are lost anyway, so stop their workers now instead of waiting.
            pool.shutdown(wait=False, kill_workers=True)
            raise
        pool.shutdown(wait=not broke, kill_workers=broke)
