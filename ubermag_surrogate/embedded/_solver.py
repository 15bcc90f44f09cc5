"""Child-process entry point of the embedded calculator: runs magnum.np.

Usage: ``python _solver.py <drive-dir>/<name>.json`` (one drive), or
``python _solver.py --serve DEVICE IDLE_S`` (many drives, see :func:`serve`).

This script runs in a child process of the user's (started by
:mod:`ubermag_surrogate.embedded.solver_process`), the way oommfc runs OOMMF:
magnum.np changes global torch state (default dtype and device) and the process
title on import and may ``exit()`` when its import fails, so it must never be
imported into the user's process. It depends only on numpy, torch and magnum.np
(not on this package) to keep start-up short. Importing torch and magnum.np takes
1.5-2 s, longer than many drives, so the child serves drive after drive and
imports them once.

It reads the problem written by :mod:`ubermag_surrogate.embedded.system_input` and
writes, into the drive directory,

- ``<name>-steps.npy``: the magnetisation M (A/m) of every output, shape
  ``(n, nx, ny, nz, 3)``, each written (and flushed) before its table row,
- ``<name>.odt.part``: an OOMMF-style table, one row appended (and flushed) per
  output; the parent turns each row into a ``.omf`` file and a row of
  ``<name>.odt`` as they come (:mod:`ubermag_surrogate.embedded.outputs`),
- ``<name>-result.json``: solver statistics, written when the run completes.

Exit code 0 on success; otherwise the error is printed to stderr (exit code 1).
"""

import contextlib
import json
import math
import os
import pathlib
import queue
import signal
import sys
import threading
import time
import traceback

# Do not let this script's directory shadow installed modules.
if sys.path and pathlib.Path(sys.path[0]).resolve() == pathlib.Path(__file__).parent:
    del sys.path[0]

import numpy as np  # noqa: E402

MU0 = 4e-7 * math.pi  # magnum.np uses 1.2566370614e-6; both agree to 1e-10


class SetupError(Exception):
    """A problem with the drive's settings, reported without a traceback."""


def _import_magnumnp(device):
    """Import magnum.np on ``device`` without torch.compile (slow JIT on CPU)."""
    import torch

    def _no_compile(model=None, **kwargs):
        return model if model is not None else (lambda f: f)

    torch.compile = _no_compile
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SetupError(
            f"device={device!r}, but torch {torch.__version__} sees no CUDA GPU on "
            "this machine (torch.cuda.is_available() is False). Drive with "
            "device='cpu', or device='auto' to use a GPU only where there is one."
        )
    # magnum.np picks its device from CUDA_DEVICE: a user's choice of GPU (e.g.
    # "1") is kept, but not a "-1" (CPU) that would run a cuda drive on the CPU
    chosen = os.environ.get("CUDA_DEVICE")
    if device == "cpu" or chosen is None or (device != "cpu" and chosen == "-1"):
        os.environ["CUDA_DEVICE"] = "0" if device.startswith("cuda") else "-1"
    import magnumnp as mn
    import magnumnp.common.logging as mn_logging

    mn_logging.set_log_level(30)  # warnings only: INFO logs every solver step
    return torch, mn


class _Problem:
    """magnum.np objects for one drive."""

    def __init__(self, spec, arrays, torch, mn):
        self.spec = spec
        self.torch = torch
        mesh = spec["mesh"]
        self.mesh = mn.Mesh(tuple(mesh["n"]), tuple(mesh["cell"]))
        self.state = mn.State(self.mesh)
        t = self._tensor
        Ms = arrays["Ms"]
        self.magnetic = t(Ms > 0).bool()
        self.n_magnetic = max(int(np.count_nonzero(Ms > 0)), 1)
        self.Ms = t(Ms)[..., None]
        self.Ms_total = max(float(Ms.sum()), 1e-300)
        material = {"Ms": self.Ms}
        # magnum.np's anisotropy energy is -K1 (m.u)^2 - K2 (m.u)^4; OOMMF reports
        # it zero along the axis where K1 > 0: (K1 + K2) V higher
        self.energy_offsets = {}
        cell_volume = float(np.prod(spec["mesh"]["cell"]))
        self.terms = []  # (term spec, magnum.np field term)
        for term in spec["terms"]:
            keys = term["arrays"]
            kind = term["type"]
            name = term["name"]
            if kind == "Exchange":
                material[f"{name}.A"] = t(arrays[keys["A"]])
                field = mn.ExchangeField(A=f"{name}.A")
            elif kind == "Demag":
                single = all(int(k) == 1 for k in spec["mesh"]["n"])
                field = _single_cell_demag(mn) if single else mn.DemagField()
            elif kind == "Zeeman":
                field = mn.ExternalField(t(arrays[keys["H"]]))
            elif kind == "UniaxialAnisotropy":
                K1 = arrays[keys.get("K", keys.get("K1"))]
                material[f"{name}.K1"] = t(K1)
                material[f"{name}.u"] = t(arrays[keys["u"]])
                field = mn.UniaxialAnisotropyField(Ku=f"{name}.K1", Ku_axis=f"{name}.u")
                # only where K1 > 0: OOMMF's energy is -K1 (m.u)^2 (- K2 (m.u)^4)
                # where K1 <= 0 (an easy plane), as magnum.np's
                shifted = (Ms > 0) & (K1 > 0)
                offset = float(K1[shifted].sum()) * cell_volume
                if "K2" in keys:
                    offset += float(arrays[keys["K2"]][shifted].sum()) * cell_volume
                self.energy_offsets[name] = offset
                if "K2" in keys:
                    material[f"{name}.K2"] = t(arrays[keys["K2"]])
                    second = mn.UniaxialAnisotropyField2(
                        Ku2=f"{name}.K2", Ku_axis=f"{name}.u"
                    )
                    self.terms.append(({"type": "_K2", "name": name}, second))
            else:  # pragma: no cover - the parent validates the terms
                raise ValueError(f"Unsupported term {kind}")
            self.terms.append((term, field))
        self.state.material = material
        self.state.m = t(arrays["m0"])
        alpha = t(arrays["alpha"])[..., None]
        gamma0 = t(arrays["gamma0"])[..., None]
        self.gamma_prime = gamma0 / (1.0 + alpha**2)
        self.alpha = alpha
        self.precession = spec["dynamics"]["precession"]

    def _tensor(self, array):
        return self.torch.tensor(np.ascontiguousarray(array))

    def h_eff(self, state):
        """Effective field (A/m)."""
        return sum(field.h(state) for _, field in self.terms)

    def dm_dt(self, t, m, state):
        """Right-hand side of the Landau-Lifshitz-Gilbert equation (1/s)."""
        cross = self.torch.linalg.cross
        state.t = t
        state.m = m
        mxh = cross(m, self.h_eff(state))
        dm = -self.alpha * self.gamma_prime * cross(m, mxh)
        if self.precession:
            dm = dm - self.gamma_prime * mxh
        return dm

    def energies(self):
        """Energy of each term (J), K2 folded into its anisotropy term.

        As OOMMF's table reports them (anisotropy zero along the easy axis).
        """
        values = {}  # in the order of the terms (the table's columns)
        for term, field in self.terms:
            values[term["name"]] = values.get(term["name"], 0.0) + float(
                field.E(self.state)
            )
        for name, offset in self.energy_offsets.items():
            values[name] += offset
        return values

    def mean_m(self):
        """<m> as OOMMF's table reports it: weighted by Ms, sum Ms m / sum Ms."""
        return (
            ((self.state.m * self.Ms).sum(dim=(0, 1, 2)) / self.Ms_total).cpu().numpy()
        )

    def M(self):
        return (self.state.m * self.Ms).cpu().numpy()


def _single_cell_demag(mn):
    """Demag of a one-cell mesh: N Ms m.

    magnum.np's single-spin branch returns N m up to 2.2 (the versions this package
    allows today); a later version is trusted to have fixed it, and the one-cube
    test (E = mu0 Ms^2 V / 6) tells if not.
    """
    version = tuple(int(p) for p in mn.__version__.split(".")[:2] if p.isdigit())
    if version > (2, 2):
        return mn.DemagField()

    class SingleCellDemag(mn.DemagField):
        def h(self, state):
            return super().h(state) * state.material["Ms"]

    return SingleCellDemag()


class _Table:
    """An OOMMF ``.odt`` table whose columns ubermagtable renames like oommfc's."""

    def __init__(self, path, columns):
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115
        names = " ".join("{" + c + "}" if " " in c else c for c, _ in columns)
        units = " ".join("{" + u + "}" if not u or " " in u else u for _, u in columns)
        self.file.write(
            "# ODT 1.0\n# Table Start\n"
            "# Title: ubermag-surrogate embedded calculator (magnum.np)\n"
            f"# Columns: {names}\n# Units: {units}\n"
        )
        self.file.flush()

    def row(self, values):
        self.file.write(" ".join(f"{v:.17g}" for v in values) + "\n")
        self.file.flush()

    def close(self):
        self.file.write("# Table End\n")
        self.file.close()


_ENERGY_CLASS = {
    "Exchange": "Oxs_UniformExchange",
    "Demag": "Oxs_Demag",
    "Zeeman": "Oxs_FixedZeeman",
    "UniaxialAnisotropy": "Oxs_UniaxialAnisotropy",
}


def _energy_columns(problem):
    return [
        (f"{_ENERGY_CLASS[term['type']]}:{term['name']}:Energy", "J")
        for term in problem.spec["terms"]
    ]


def _steps_file(path, count, shape):
    return np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float64, shape=(count, *shape, 3)
    )


def run_time_driver(problem, mn, directory, name, settings):
    """Integrate the LLG equation and write n outputs at t_i = i t / n."""
    torch = problem.torch
    t_end, n = settings["t"], settings["n"]
    solver = mn.RKF45(
        problem.dm_dt, atol=settings.get("atol", 1e-5), rtol=settings.get("rtol", 1e-5)
    )
    energy_columns = _energy_columns(problem)
    table = _Table(
        directory / f"{name}.odt.part",
        [
            ("Oxs_RungeKuttaEvolve:evolver:Total energy", "J"),
            ("Oxs_RungeKuttaEvolve:evolver:Max dm/dt", "deg/ns"),
            *energy_columns,
            ("Oxs_TimeDriver::Iteration", ""),
            ("Oxs_TimeDriver::Stage iteration", ""),
            ("Oxs_TimeDriver::Stage", ""),
            ("Oxs_TimeDriver::mx", ""),
            ("Oxs_TimeDriver::my", ""),
            ("Oxs_TimeDriver::mz", ""),
            ("Oxs_TimeDriver::Last time step", "s"),
            ("Oxs_TimeDriver::Simulation time", "s"),
        ],
    )
    steps = _steps_file(directory / f"{name}-steps.npy", n, problem.spec["mesh"]["n"])
    state = problem.state
    state.t = 0.0
    x = state.m
    t = torch.tensor(0.0)
    previous_steps = 0
    for i in range(1, n + 1):
        t_target = t_end * i / n
        t, x = solver.step(t, x, t_target - float(t), state=state)
        x = x / torch.linalg.norm(x, dim=-1, keepdim=True)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        state.t, state.m = t, x
        energies = problem.energies()
        dmdt = torch.linalg.norm(problem.dm_dt(t, x, state), dim=-1).max()
        steps[i - 1] = problem.M()
        steps.flush()
        iteration = state._step
        table.row(
            [
                sum(energies.values()),
                float(dmdt) * 180 / math.pi * 1e-9,
                *energies.values(),
                iteration,
                iteration - previous_steps,
                i - 1,
                *problem.mean_m(),
                float(state._dt),  # the last step taken (solver._dt: the next)
                t_target,
            ]
        )
        previous_steps = iteration
    table.close()
    return {"iterations": int(state._step)}


def run_min_driver(problem, mn, directory, name, settings):
    """Minimise the energy (Barzilai-Borwein, Exl et al. 2014) and write one output."""
    calls = []

    class CountingMinimizer(mn.MinimizerBB):
        def h(self, state):
            calls.append(1)
            return super().h(state)

    tol = settings["stopping_mxHxm"]
    maxiter = settings["max_iterations"]
    minimizer = CountingMinimizer([field for _, field in problem.terms])
    # magnum.np tests the largest component of m x (m x H); OOMMF's mxHxm is the
    # norm, which is at most sqrt(3) times larger: this makes the norm < tol.
    converged = bool(
        minimizer.minimize(problem.state, dm_tol=tol / math.sqrt(3), maxiter=maxiter)
    )
    torch = problem.torch
    m = problem.state.m
    h = problem.h_eff(problem.state)
    mxHxm = torch.linalg.norm(torch.linalg.cross(m, torch.linalg.cross(m, h)), dim=-1)
    energies = problem.energies()
    table = _Table(
        directory / f"{name}.odt.part",
        [
            ("Oxs_CGEvolve:evolver:Max mxHxm", "A/m"),
            ("Oxs_CGEvolve:evolver:Total energy", "J"),
            *_energy_columns(problem),
            ("Oxs_MinDriver::Iteration", ""),
            ("Oxs_MinDriver::Stage iteration", ""),
            ("Oxs_MinDriver::Stage", ""),
            ("Oxs_MinDriver::mx", ""),
            ("Oxs_MinDriver::my", ""),
            ("Oxs_MinDriver::mz", ""),
        ],
    )
    steps = _steps_file(directory / f"{name}-steps.npy", 1, problem.spec["mesh"]["n"])
    steps[0] = problem.M()
    steps.flush()
    iterations = max(len(calls) - 1, 0)
    table.row(
        [
            float(mxHxm.max()),
            sum(energies.values()),
            *energies.values(),
            iterations,
            iterations,
            0,
            *problem.mean_m(),
        ]
    )
    table.close()
    return {
        "iterations": iterations,
        "converged": converged,
        "max_mxHxm": float(mxHxm.max()),
        "stopping_mxHxm": tol,
    }


def run_drive(spec_path, torch, mn, startup_s=0.0):
    """Run the drive described by the JSON file ``spec_path``; write its results."""
    start = time.perf_counter()
    spec_path = pathlib.Path(spec_path)
    directory = spec_path.parent
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    settings = spec["settings"]
    torch.set_num_threads(int(settings.get("n_threads") or os.cpu_count() or 1))
    with np.load(directory / spec["arrays"], allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    setup = time.perf_counter()
    problem = _Problem(spec, arrays, torch, mn)
    run = run_time_driver if spec["driver"] == "TimeDriver" else run_min_driver
    result = run(problem, mn, directory, spec["name"], settings)
    result.update(
        {
            "calculator": "magnum.np",
            "calculator_version": mn.__version__,
            "torch_version": torch.__version__,
            "device": str(problem.state.device),
            "torch_threads": torch.get_num_threads(),
            "startup_s": startup_s + (setup - start),
            "solve_s": time.perf_counter() - setup,
            "process_id": os.getpid(),
        }
    )
    (directory / f"{spec['name']}-result.json").write_text(
        json.dumps(result), encoding="utf-8"
    )


def main(argv):
    """Run the drive described by the JSON file ``argv[1]``."""
    start = time.perf_counter()
    spec = json.loads(pathlib.Path(argv[1]).read_text(encoding="utf-8"))
    torch, mn = _import_magnumnp(spec["settings"].get("device", "cpu"))
    run_drive(argv[1], torch, mn, startup_s=time.perf_counter() - start)
    return 0


IDLE_EXIT = 3  # exit code of a server that stopped after idle_s without a request


def _send_output(path, flags=os.O_WRONLY):
    """Point this process's stdout and stderr (file descriptors 1 and 2) at ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, flags, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


@contextlib.contextmanager
def _output_to(path):
    """Send stdout and stderr to the file ``path`` (new), then to nowhere again."""
    _send_output(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        yield
    finally:
        _send_output(os.devnull)


def serve(device, idle_s):
    """Run drives sent on stdin until it closes or ``idle_s`` seconds pass without one.

    Each request is one JSON line ``{"spec": <name>.json, "log": <name>.log}``; while
    a drive runs, everything this process prints goes to its log. The reply, one
    JSON line ``{"ok": true|false}`` on the original stdout, is written when the
    drive's files are complete. Torch and magnum.np are imported by the first drive
    (an import error lands in its log). After a failed drive the server exits with
    code 1 (its torch state is unknown); after ``idle_s`` idle seconds it exits
    with :data:`IDLE_EXIT`, never in the middle of a request it has read. When its
    input closes (the parent has exited or been killed) it exits at once, in the
    middle of a drive too.
    """
    # Ctrl-C in a terminal reaches the whole process group: the parent decides
    # (it kills this process when a drive is interrupted).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8")
    _send_output(os.devnull)
    requests = queue.Queue()

    def read():
        for line in sys.stdin:
            requests.put(line)
        # End of input: the parent has gone (or let this process go). Stop now,
        # also in the middle of a drive that no one will read.
        os._exit(0)

    threading.Thread(target=read, daemon=True).start()
    modules = None
    while True:
        try:
            line = requests.get(timeout=idle_s)
        except queue.Empty:
            return IDLE_EXIT
        request = json.loads(line)
        ok = True
        with _output_to(request["log"]):
            try:
                startup = 0.0
                if modules is None:
                    start = time.perf_counter()
                    modules = _import_magnumnp(device)
                    startup = time.perf_counter() - start
                run_drive(request["spec"], *modules, startup_s=startup)
            except SetupError as error:
                print(f"SetupError: {error}", file=sys.stderr)
                ok = False
            except BaseException:  # noqa: BLE001 - reported in the drive's log
                traceback.print_exc()
                ok = False
        reply.write(json.dumps({"ok": ok}) + "\n")
        reply.flush()
        if not ok:
            return 1


if __name__ == "__main__":
    try:
        if sys.argv[1] == "--serve":
            code = serve(sys.argv[2], float(sys.argv[3]))
        else:
            code = main(sys.argv)
    except SetupError as error:
        print(f"SetupError: {error}", file=sys.stderr)
        code = 1
    # Every output is closed and flushed by now; skipping the interpreter's
    # teardown (torch's takes about 0.7 s) shortens each drive.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
