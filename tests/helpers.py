"""Small real systems for the tests."""

import functools
import os
import signal
import sys
import time

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np

from ubermag_surrogate.data import FieldDomain
from ubermag_surrogate.problems import sp4
from ubermag_surrogate.problems.base import Problem


def small_system(name="small", n=(4, 3, 2), Ms=8e5, H=(2e4, 1e4, 0)):
    """A few cells of permalloy with exchange, demag and a constant field."""
    mesh = df.Mesh(p1=(0, 0, 0), p2=(4e-9 * n[0], 4e-9 * n[1], 3e-9 * n[2]), n=n)
    system = mm.System(name=name)
    system.energy = mm.Exchange(A=1.3e-11) + mm.Demag() + mm.Zeeman(H=H)
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.1)
    system.m = df.Field(mesh, nvdim=3, value=(1, 0.3, 0.1), norm=Ms)
    return system


def two_regions(A):
    """A factory of a 40 x 10 x 5 nm film of two subregions r1, r2, exchange ``A``."""

    def factory():
        mesh = df.Mesh(
            p1=(0, 0, 0),
            p2=(40e-9, 10e-9, 5e-9),
            cell=(10e-9, 10e-9, 5e-9),
            subregions={
                "r1": df.Region(p1=(0, 0, 0), p2=(20e-9, 10e-9, 5e-9)),
                "r2": df.Region(p1=(20e-9, 0, 0), p2=(40e-9, 10e-9, 5e-9)),
            },
        )
        system = mm.System(name="paired")
        system.energy = mm.Exchange(A=A)
        system.dynamics = mm.Precession(gamma0=mm.consts.gamma0) + mm.Damping(alpha=0.5)
        system.m = df.Field(mesh, nvdim=3, value=(1, 0, 0), norm=8e5)
        return system

    return factory


def macrospin(name="macrospin", H=1e5, alpha=0.0, m=(1, 0, 0), Ms=8e5):
    """One cell in a field H (A/m) along z, no exchange or demag."""
    mesh = df.Mesh(p1=(0, 0, 0), p2=(2e-9, 2e-9, 2e-9), n=(1, 1, 1))
    system = mm.System(name=name)
    system.energy = mm.Zeeman(H=(0, 0, H))
    system.dynamics = mm.Precession(gamma0=2.211e5)
    if alpha:
        system.dynamics += mm.Damping(alpha=alpha)
    system.m = df.Field(mesh, nvdim=3, value=m, norm=Ms)
    return system


SP4_TEST_DOMAIN = FieldDomain((30, 40), (180, 200), name="test_domain")
"""The field domain of the coarse SP4 store of the ``sp4_store`` fixture."""

SP4_TEST_PARAMS = dict(
    n_components=12,
    embedding_rank=60,
    preimage_rank=100,
    preimage_gamma="median",
    integrator_rank=150,
    integrator_gamma="median",
    integrator_target="state",
)
"""Kernel-surrogate hyper-parameters sized for that store (168 states)."""

SP4_TEST_CELL = (10e-9, 12.5e-9, 3e-9)
"""50 x 10 x 1 cells."""

SP4_NEURAL_PARAMS = dict(
    n_components=8,
    autoencoder_hidden=(64,),
    integrator_hidden=(64, 64),
    autoencoder_epochs=40,
    integrator_epochs=60,
    learning_rate=1e-3,
    batch_size=16,
    horizon=5,
)
"""Small networks for the coarse SP4 store (the paper's sizes take minutes)."""


def damped_rotations(n_fields=30, n_times=41, seed=0):
    """Latent trajectories ``(n_fields, n_times, 3)`` and fields ``(n_fields, 3)`` (T).

    Damped rotations in 3 latent coordinates, frequency and decay set by h: a small
    stand-in for latent dynamics under constant fields.
    """
    rng = np.random.default_rng(seed)
    fields = np.column_stack(
        [
            rng.uniform(-0.04, -0.03, n_fields),
            rng.uniform(0, 0.01, n_fields),
            np.zeros(n_fields),
        ]
    )
    t = np.arange(n_times)[None, :]
    omega = 0.2 + 5 * fields[:, :1]
    decay = np.exp(-0.02 * t * (1 + 20 * fields[:, 1:2]))
    latent = np.stack(
        [np.cos(omega * t) * decay, np.sin(omega * t) * decay, 1 - decay], axis=2
    )
    return latent, fields


class SP4Failing(Problem):
    """Coarse SP4 whose simulation of one field fails, as a user's factory may.

    ``how="raise"``: ``system_for`` raises ``ValueError``; ``how="kill"``: it kills
    the process it runs in (a worker: as the out-of-memory killer would).
    Importable, so that pool workers unpickle it by reference.
    """

    def __init__(self, failing_field, how="raise", cell=(10e-9, 12.5e-9, 3e-9)):
        super().__init__("sp4", functools.partial(sp4.system, cell=cell), relax=True)
        self.failing_field = np.asarray(failing_field, dtype=float)
        self.how = how

    def system_for(self, field, m0, name=None):
        if np.allclose(field, self.failing_field):
            if self.how == "kill":
                if hasattr(signal, "SIGKILL"):
                    os.kill(os.getpid(), signal.SIGKILL)
                os._exit(1)  # no SIGKILL (Windows): end as abruptly
            raise ValueError(f"this problem cannot simulate {self.failing_field} T")
        return super().system_for(field, m0, name=name)


def wait_while_running(process, ready, never, seconds=120, poll=0.1, ended=None):
    """Wait until ``ready()`` while ``process`` (a ``subprocess.Popen``) runs.

    Fails with ``ended`` (default: the process's output) if it ends first, and with
    ``never`` after ``seconds``; checks every ``poll`` seconds.
    """
    deadline = time.monotonic() + seconds
    while not ready():
        assert process.poll() is None, ended or process.communicate()
        assert time.monotonic() < deadline, never
        time.sleep(poll)


def interrupt_at_line(source, target):
    """A ``sys.settrace`` tracer: KeyboardInterrupt at line event ``target`` of
    the code in the file ``source`` (as a Ctrl-C between two of its lines)."""
    events = 0

    def line(frame, event, arg):
        nonlocal events
        if event == "line":
            events += 1
            if events == target:
                tracer.fired = True
                raise KeyboardInterrupt
        return line

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != source:
            return None
        return line(frame, event, arg) or line

    tracer.fired = False  # whether it raised (False: fewer line events)
    return tracer


def interrupt_each_line(source, tmp_path, monkeypatch, run, setup=None):
    """Run ``run(state)`` once per line event of the code in ``source``, Ctrl-C there.

    Each run works in its own folder ``tmp_path/<event>`` (the current directory
    then), after ``setup()`` (untraced; its result is ``state``). Yields ``(event,
    folder, state, result)``: ``result`` is None when the interrupt left ``run``.
    Stops after the first run with fewer line events than its number, which is
    not interrupted: every line event of ``source`` was interrupted once.
    """
    event = 0
    while True:
        event += 1
        folder = tmp_path / str(event)
        folder.mkdir()
        monkeypatch.chdir(folder)
        state = setup() if setup is not None else None
        tracer = interrupt_at_line(source, event)
        previous = sys.gettrace()  # coverage's or a debugger's: put back after
        sys.settrace(tracer)
        try:
            result = run(state)
        except KeyboardInterrupt:
            result = None
        finally:
            sys.settrace(previous)
        yield event, folder, state, result
        if not tracer.fired:
            return
