"""The child process that runs the embedded calculator's drives.

magnum.np must not be imported into the user's process (see ``_solver.py``), and
importing torch and magnum.np costs 1.5-2 s, more than a short drive. So the first
drive starts a child process that imports them once and then runs drive after
drive sent to it, one per request, until it has been idle for
:data:`IDLE_TIMEOUT` seconds or this process exits. One child per device and
thread count; a child is never shared with a forked process. A failed or
interrupted drive ends its child; the next drive starts a fresh one.
"""

import atexit
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading

_SOLVER = pathlib.Path(__file__).with_name("_solver.py")
IDLE_EXIT = 3  # _solver.IDLE_EXIT: stopped idle, before reading the next request

IDLE_TIMEOUT = 300.0
"""Seconds an idle solver process waits for the next drive before it exits."""

_processes = {}
_lock = threading.Lock()


class SolverProcess:
    """One child process running ``_solver.py --serve``.

    Parameters
    ----------
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    n_threads : int
        Torch threads (``OMP_NUM_THREADS`` of the child).
    """

    def __init__(self, device, n_threads):
        env = os.environ.copy()
        env["OMP_NUM_THREADS"] = str(n_threads)
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, str(_SOLVER), "--serve", device, str(IDLE_TIMEOUT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            encoding="utf-8",
        )
        self._replies = queue.Queue()
        self.busy = threading.Lock()
        """Held from a drive's submission to its reply (one drive at a time)."""
        threading.Thread(target=self._read_replies, daemon=True).start()

    def _read_replies(self):
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    @property
    def pid(self):
        """Process id of the child."""
        return self.process.pid

    def usable(self):
        """Whether the child is running and belongs to this process (not a fork)."""
        return self.process.poll() is None and os.getpid() == self.owner

    def submit(self, spec, log):
        """Send one drive; return False if the child has gone away meanwhile."""
        request = {"spec": os.path.abspath(spec), "log": os.path.abspath(log)}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except OSError:  # BrokenPipeError: it exited (idle) just now
            return False
        return True

    def reply(self, timeout):
        """Return the child's answer to the drive submitted last.

        Returns ``True`` (done) or ``False`` (failed), ``None`` while it runs, and
        the child's exit code (an ``int``; :data:`IDLE_EXIT`: it had stopped
        before reading the drive) once it has exited without answering.
        """
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            return self.process.wait()
        return bool(json.loads(line)["ok"])

    def stop(self, kill=False):
        """End the child: at once (``kill``) or by closing its input."""
        if kill:
            self.process.kill()
        else:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck child
            self.process.kill()
            self.process.wait()


def solver_process(device, n_threads):
    """Return a running solver process for ``device`` and ``n_threads``."""
    key = (device, n_threads)
    with _lock:
        process = _processes.get(key)
        if process is None or not process.usable():
            process = _processes[key] = SolverProcess(device, n_threads)
        return process


def discard(process, grace=0.0):
    """Stop ``process`` and forget it, so the next drive starts a fresh one.

    ``grace`` (s): how long to let it end on its own first (after a failed drive it
    exits with code 1 just after its reply); then it is killed.
    """
    with _lock:
        for key, value in list(_processes.items()):
            if value is process:
                del _processes[key]
    if grace > 0:
        try:
            process.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if process.process.poll() is None:
        process.stop(kill=True)


@atexit.register
def stop_all():
    """Stop every solver process of this process (they also stop when it exits)."""
    with _lock:
        processes = list(_processes.values())
        _processes.clear()
    for process in processes:
        if process.owner == os.getpid() and process.process.poll() is None:
            process.stop()
