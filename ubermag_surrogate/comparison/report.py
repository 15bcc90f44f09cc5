"""Surrogate against full simulation from the same state: errors, timings, figures.

:func:`compare` drives two copies of a system, one with a ``SurrogateDriver`` and
one with a full calculator (oommfc when OOMMF is found, else the embedded
calculator), reads both drives back with ``micromagneticdata`` and returns a
:class:`Comparison`: relative trajectory error, per-output errors, the largest
error of the mean magnetisation, wall times and the speed-up, and the figures of
the seed paper (Fig. 2-5).
"""

import dataclasses
import json
import pathlib
import time
import warnings

import discretisedfield as df
import micromagneticdata as md
import micromagneticmodel as mm
import numpy as np

from .._display import ReportDisplay
from ..calculators import calculator as choose_calculator
from ..data.layout import mean_m, to_components
from ..driver import SurrogateDriver, zeeman_field
from ..driver.request import check_compatible
from ..models.base import reissue_warnings
from .evaluation import trajectory_errors


@dataclasses.dataclass(repr=False)
class Comparison(ReportDisplay):
    """Surrogate prediction beside the full simulation of the same request.

    Attributes
    ----------
    times : numpy.ndarray
        Output times (s), ``(n+1,)``, t = 0 (the common initial state) first.
    simulated, predicted : numpy.ndarray
        Unit magnetisations ``(n+1, 3, N)``.
    mesh : discretisedfield.Mesh
        The mesh (for the figures).
    field : numpy.ndarray
        mu0 H (T).
    simulation_s : float
        Wall time of the full simulation's drive (s).
    surrogate_s : float
        Wall time of the surrogate's drive, files included (s).
    predict_s : float
        Wall time of the prediction alone, best of three (s).
    calculator : str
        Which full calculator ran.
    drives : dict
        Paths of the two drive folders.
    Ms : numpy.ndarray or None
        Saturation magnetisation per cell (A/m), ``(N,)``: <m> is weighted by it,
        as in OOMMF's tables (``None``: the plain mean over the cells the
        simulation has magnetic).
    field_sensitivity : float
        The model's :meth:`~ubermag_surrogate.models.SurrogateModel.field_sensitivity`
        at this field: how much its <m> changes when the field moves by 0.5 % of
        the training domain's range (large: the prediction is not to be trusted).
    """

    times: np.ndarray
    simulated: np.ndarray
    predicted: np.ndarray
    mesh: df.Mesh
    field: np.ndarray
    simulation_s: float
    surrogate_s: float
    predict_s: float
    calculator: str
    drives: dict
    field_sensitivity: float = float("nan")
    Ms: np.ndarray = None

    @property
    def mean_simulated(self):
        """<m> of the simulation, ``(n+1, 3)``: sum Ms m / sum Ms, as OOMMF's table."""
        return self._mean(self.simulated)

    @property
    def mean_predicted(self):
        """<m> of the prediction, ``(n+1, 3)``, weighted as :attr:`mean_simulated`."""
        return self._mean(self.predicted)

    def _mean(self, states):
        Ms = self.Ms
        if Ms is None:
            Ms = np.linalg.norm(self.simulated[0], axis=0) > 0
        return mean_m(states.reshape(len(states), -1), Ms)

    @property
    def step_errors(self):
        """Relative error of each output, ||m_pred - m_sim|| / ||m_sim||, ``(n+1,)``."""
        k = len(self.times)
        diff = np.linalg.norm((self.predicted - self.simulated).reshape(k, -1), axis=1)
        return diff / np.linalg.norm(self.simulated.reshape(k, -1), axis=1)

    @property
    def relative_error(self):
        """||M_pred - M_sim||_F / ||M_sim||_F over the trajectory t_0..t_n.

        As :func:`evaluate` and the benchmarks score it (the s+1 rows of the data
        tensor, the shared initial state included), so the numbers compare.
        """
        k = len(self.times)
        relative, _ = trajectory_errors(
            self.predicted.reshape(1, k, -1), self.simulated.reshape(1, k, -1)
        )
        return float(relative[0])

    @property
    def mean_m_errors(self):
        """|<m>_pred - <m>_sim| per output and component, ``(n+1, 3)``."""
        return np.abs(self.mean_predicted - self.mean_simulated)

    @property
    def max_mean_m_error(self):
        """Largest |<m>_pred - <m>_sim| over outputs and components."""
        return float(self.mean_m_errors.max())

    @property
    def speed_up(self):
        """Full simulation time over surrogate drive time (files included)."""
        return self.simulation_s / self.surrogate_s

    def to_dict(self):
        """Return the scalar results and per-output errors (JSON-serialisable)."""
        return {
            "field_T": self.field.tolist(),
            "t_s": float(self.times[-1]),
            "n": len(self.times) - 1,
            "calculator": self.calculator,
            "relative_error": self.relative_error,
            "max_mean_m_error": self.max_mean_m_error,
            "field_sensitivity": self.field_sensitivity,
            "simulation_s": self.simulation_s,
            "surrogate_drive_s": self.surrogate_s,
            "predict_s": self.predict_s,
            "speed_up_drive": self.speed_up,
            "speed_up_prediction": self.simulation_s / self.predict_s,
            "times_s": self.times.tolist(),
            "step_errors": self.step_errors.tolist(),
            "mean_m_simulated": self.mean_simulated.tolist(),
            "mean_m_predicted": self.mean_predicted.tolist(),
            "drives": {k: str(v) for k, v in self.drives.items()},
        }

    def summary(self):
        """Return a few lines of text: errors and timings."""
        b = self.field * 1e3
        rows = [
            ("field mu0 H (mT)", f"({b[0]:.2f}, {b[1]:.2f}, {b[2]:.2f})"),
            ("outputs", f"{len(self.times) - 1} over {self.times[-1]:.3g} s"),
            ("relative trajectory error", f"{self.relative_error:.4f}"),
            ("max |<m>_pred - <m>_sim|", f"{self.max_mean_m_error:.4f}"),
            ("largest per-output error", f"{self.step_errors.max():.4f}"),
            ("model's field sensitivity", f"{self.field_sensitivity:.4f}"),
            (f"simulation ({self.calculator})", f"{self.simulation_s:.2f} s"),
            ("surrogate drive (files too)", f"{self.surrogate_s * 1e3:.1f} ms"),
            ("surrogate prediction", f"{self.predict_s * 1e3:.1f} ms"),
            (
                "speed-up (drive / prediction)",
                f"{self.speed_up:.0f}x / {self.simulation_s / self.predict_s:.0f}x",
            ),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def __str__(self):
        return self.summary()

    def _one_line(self):
        b = np.asarray(self.field) * 1e3
        return (
            f"field ({b[0]:.2f}, {b[1]:.2f}, {b[2]:.2f}) mT, "
            f"{len(self.times) - 1} outputs over {self.times[-1]:.3g} s: relative "
            f"error {self.relative_error:.4f}, <m> error {self.max_mean_m_error:.4f}, "
            f"{self.calculator} {self.simulation_s:.3g} s, surrogate "
            f"{self.surrogate_s:.3g} s"
        )

    def save(self, out, formats=("png",)):
        """Write ``comparison.json`` and the figures to the folder ``out``.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        from .figures import plot_mean_m, plot_snapshots

        figures = {"mean_m": plot_mean_m, "snapshots": plot_snapshots}
        record = self.to_dict()
        return write_report(out, "comparison.json", record, figures, self, formats)


def write_report(out, record_name, record, figures, results, formats):
    """Write a JSON record and figures into the folder ``out``.

    Parameters
    ----------
    out : str or pathlib.Path
        Folder (created if missing).
    record_name : str
        File name of the JSON record.
    record : dict
        JSON-serialisable results.
    figures : dict
        File stem -> function drawing ``results`` into a new figure.
    results : object
        What the figure functions draw.
    formats : str or sequence of str
        Figure formats (``"png"``, ``"pdf"``, ...), checked before anything is
        written.

    Returns
    -------
    list of pathlib.Path
        The files written, the record first.
    """
    import matplotlib.pyplot as plt

    formats = check_formats(formats)
    text = json_text(record)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / record_name]
    written[0].write_text(text, encoding="utf-8")
    for name, plot in figures.items():
        fig = plot(results)
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            fig.savefig(path, dpi=150)
            written.append(path)
        plt.close(fig)
    return written


def check_formats(formats):
    """Return figure ``formats`` as a tuple, each one Matplotlib writes.

    One string (``"pdf"``) is one format.

    Raises
    ------
    ValueError
        For a format Matplotlib cannot write, naming those it can.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    supported = FigureCanvasBase.get_supported_filetypes()
    bad = [f for f in formats if not isinstance(f, str) or f.lower() not in supported]
    if bad or not formats:
        raise ValueError(
            f"formats={formats!r}: give figure formats that Matplotlib writes, "
            f"from {sorted(supported)}."
        )
    return formats


def json_text(record):
    """Return ``record`` as strict JSON text: NaN and infinities as ``null``.

    Python's ``json`` writes bare ``NaN`` tokens, which other JSON readers
    (JavaScript, jq, dashboards) refuse.
    """

    def strict(value):
        if isinstance(value, dict):
            return {k: strict(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [strict(v) for v in value]
        if isinstance(value, float) and not np.isfinite(value):
            return None
        return value

    return json.dumps(strict(record), indent=2, allow_nan=False)


def _copy(system, name):
    """Return a system like ``system`` (same terms, a copy of m), renamed."""
    copy = mm.System(name=name, T=system.T)
    copy.energy = system.energy
    copy.dynamics = system.dynamics
    copy.m = df.Field(
        system.m.mesh, nvdim=3, value=system.m.array.copy(), valid=system.m.valid
    )
    return copy


def _read_drive(system, dirname, m0, n):
    """Return unit magnetisations of the drive just run (m0 first), and its path.

    Read by number: ``md.Data(...)[-1]`` counts the folders, and after an older
    drive folder was deleted it read another drive than the one just run.
    """
    drive = md.Drive(system.name, system.drive_number - 1, dirname=str(dirname))
    if drive.n != n:
        raise RuntimeError(
            f"The drive {str(drive.drive_path)!r} holds {drive.n} outputs, not the "
            f"{n} just asked for."
        )
    states = [m0] + [to_components(field.array) for field in drive]
    return np.stack(states), drive.drive_path


def compare(system, model, t, n, calculator="auto", dirname=".", verbose=1):
    """Run the surrogate and the full simulation from the same state and compare.

    ``system`` itself is not changed: two copies are driven, named
    ``<name>_surrogate`` and ``<name>_simulation``, and their drive folders are
    written under ``dirname``.

    Parameters
    ----------
    system : micromagneticmodel.System
        The request, as for ``SurrogateDriver.drive`` (with its Zeeman field).
    model : SurrogateModel or str or pathlib.Path
        The surrogate, or the path of a saved one.
    t : float
        Time (s).
    n : int
        Number of outputs.
    calculator : str or module, optional
        ``"auto"`` (oommfc if OOMMF is found, else embedded), ``"oommf"``,
        ``"embedded"``, or a calculator module with a ``TimeDriver``.
    dirname : str or pathlib.Path, optional
        Base directory of the drive folders.
    verbose : int, optional
        Passed to both drivers.

    Returns
    -------
    Comparison
    """
    driver = SurrogateDriver(model=model)
    if isinstance(calculator, str):
        calculator = choose_calculator(calculator, verbose=bool(verbose))
    elif not callable(getattr(calculator, "TimeDriver", None)):
        raise TypeError(
            f"calculator must be 'auto', 'oommf', 'embedded' or a calculator module "
            f"with a TimeDriver (e.g. oommfc), not {calculator!r}."
        )
    check_compatible(system, driver.model)  # before either drive
    dirname = pathlib.Path(dirname)
    m0 = to_components(system.m.array)

    surrogate = _copy(system, f"{system.name}_surrogate")
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        driver.drive(surrogate, t=t, n=n, dirname=dirname, verbose=verbose)
    surrogate_s = time.perf_counter() - start
    reissue_warnings(caught, stacklevel=2)  # at the caller's compare(...) line

    field = zeeman_field(system) * mm.consts.mu0
    predict_s = np.inf  # the prediction alone, without files: best of three
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the drive above has warned already
        for _ in range(3):
            start = time.perf_counter()
            prediction = driver.model.predict(field, m0=m0.reshape(-1), t=t, n=n)
            _ = prediction.m  # timed with its states decoded (Prediction.m is lazy)
            predict_s = min(predict_s, time.perf_counter() - start)
        sensitivity = driver.model.field_sensitivity(
            field, m0=m0.reshape(-1), t=t, n=n, prediction=prediction
        )[0]

    simulation = _copy(system, f"{system.name}_simulation")
    start = time.perf_counter()
    calculator.TimeDriver().drive(
        simulation, t=t, n=n, dirname=str(dirname), verbose=verbose
    )
    simulation_s = time.perf_counter() - start

    predicted, surrogate_path = _read_drive(surrogate, dirname, m0, n)
    simulated, simulation_path = _read_drive(simulation, dirname, m0, n)
    return Comparison(
        times=np.linspace(0, t, n + 1),
        simulated=simulated,
        predicted=predicted,
        mesh=system.m.mesh,
        field=field,
        simulation_s=simulation_s,
        surrogate_s=surrogate_s,
        predict_s=predict_s,
        calculator=getattr(calculator, "__name__", "?").rsplit(".", 1)[-1],
        drives={"surrogate": surrogate_path, "simulation": simulation_path},
        field_sensitivity=float(sensitivity),
        Ms=np.linalg.norm(system.m.array, axis=-1).reshape(-1),
    )
