"""Figures of a comparison, after the seed paper's Fig. 2-5.

- :func:`plot_mean_m`: <m_x>, <m_y>, <m_z> against time, simulation solid and
  prediction dashed.
- :func:`plot_snapshots`: the film at four times, simulated beside predicted
  (colour m_x, arrows the in-plane direction) and the error |m_pred - m_sim| per
  cell.
- :func:`plot_field_errors`: an :class:`Evaluation` over many fields as a map of
  the field domain.

Each returns a ``matplotlib.figure.Figure`` made without pyplot: a notebook shows
it once, as the cell's result, and it is not left open in pyplot.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

_COLOURS = {"x": "tab:blue", "y": "tab:orange", "z": "tab:green"}


def plot_mean_m(comparison, ax=None):
    """Mean magnetisation against time: simulation solid, prediction dashed.

    Parameters
    ----------
    comparison : Comparison
        The results.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    with plt.style.context("default"):
        if ax is None:
            fig = Figure(figsize=(8, 4), layout="constrained")
            ax = fig.subplots()
        else:
            fig = ax.figure
        t_ns = comparison.times * 1e9
        sim, pred = comparison.mean_simulated, comparison.mean_predicted
        for i, c in enumerate("xyz"):
            ax.plot(t_ns, sim[:, i], "-", color=_COLOURS[c], lw=2, label=f"<m{c}>")
            ax.plot(t_ns, pred[:, i], "--", color=_COLOURS[c], lw=1.5)
        ax.plot([], [], "k-", lw=2, label=f"simulation ({comparison.calculator})")
        ax.plot([], [], "k--", lw=1.5, label="surrogate")
        b = comparison.field * 1e3
        ax.set_title(
            f"$\\mu_0 H$ = ({b[0]:.1f}, {b[1]:.1f}, {b[2]:.1f}) mT: max "
            f"|<m> error| = {comparison.max_mean_m_error:.3f}",
            fontsize=10,
        )
        ax.set_xlabel("t (ns)")
        ax.set_ylabel("mean magnetisation")
        ax.set_ylim(-1.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _column_mean(values, magnetic):
    """Mean over z of the magnetic cells, masked where a column has none (nx, ny).

    Parameters
    ----------
    values : numpy.ndarray
        Per cell, ``(nx, ny, nz)``.
    magnetic : numpy.ndarray
        Which cells have Ms > 0, ``(nx, ny, nz)`` bool.
    """
    count = magnetic.sum(axis=-1)
    total = np.where(magnetic, values, 0.0).sum(axis=-1)
    return np.ma.masked_array(total / np.maximum(count, 1), count == 0)


def _column_max(values, magnetic):
    """Largest value over z of the magnetic cells, masked where a column has none."""
    top = np.where(magnetic, values, -np.inf).max(axis=-1)
    return np.ma.masked_array(np.maximum(top, 0.0), ~magnetic.any(axis=-1))


def _check_indices(indices, n):
    """Return output ``indices`` as a list of ints in [0, n], or raise ValueError."""
    values = np.asarray(indices)
    if values.ndim != 1 or len(values) == 0 or values.dtype.kind not in "iu":
        raise ValueError(
            f"indices={indices!r} must be a non-empty list of output numbers "
            f"(integers from 0, the initial state, to {n})."
        )
    outside = [int(i) for i in values if not 0 <= i <= n]
    if outside:
        raise ValueError(
            f"indices {outside} are outside the comparison's outputs 0 to {n} "
            f"({n} outputs after the initial state)."
        )
    return [int(i) for i in values]


def _in_plane(states, mesh):
    """(m_x, m_y) averaged over the magnetic cells of each column, masked (nx, ny).

    Columns without magnetic cells (Ms = 0 hold zero vectors) are masked: no
    colour, no arrow.
    """
    cells = states.reshape(3, *mesh.n)
    magnetic = np.any(cells != 0, axis=0)
    return _column_mean(cells[0], magnetic), _column_mean(cells[1], magnetic)


def _colormap(name):
    """Return a copy of a Matplotlib colormap that draws masked cells light grey."""
    return plt.get_cmap(name).with_extremes(bad="0.9")


def plot_snapshots(comparison, indices=None):
    """Plot the film at four times: simulation, prediction and error map.

    Parameters
    ----------
    comparison : Comparison
        The results.
    indices : sequence of int, optional
        Outputs to show, 0 (the initial state) to n (default: four evenly spaced
        after t = 0).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The error map shows |m_pred - m_sim| per cell; on a mesh of several layers,
    the largest over z of each column (the m_x maps show the mean over z).
    """
    n = len(comparison.times) - 1
    if indices is None:
        indices = sorted({max(1, round(n * q)) for q in (0.25, 0.5, 0.75, 1.0)})
    indices = _check_indices(indices, n)
    mesh = comparison.mesh
    extent = (
        mesh.region.pmin[0] * 1e9,
        mesh.region.pmax[0] * 1e9,
        mesh.region.pmin[1] * 1e9,
        mesh.region.pmax[1] * 1e9,
    )
    errors = np.linalg.norm(comparison.predicted - comparison.simulated, axis=1)
    # the colour scale of the error maps: their largest magnetic cell
    magnetic_cells = np.any(comparison.simulated[indices] != 0, axis=1)
    vmax = max(float(np.where(magnetic_cells, errors[indices], 0.0).max()), 1e-3)
    aspect = (extent[3] - extent[2]) / (extent[1] - extent[0])
    step = max(1, int(mesh.n[0] // 20))
    xs = np.linspace(extent[0], extent[1], mesh.n[0] * 2 + 1)[1::2][::step]
    ys = np.linspace(extent[2], extent[3], mesh.n[1] * 2 + 1)[1::2][::step]
    with plt.style.context("default"):
        # rows of at most 5 inches: a tall film gets narrower images, not a
        # figure many pages high
        row_height = min(13 / 3 * aspect * 1.3, 5.0)
        height = 1.2 + len(indices) * row_height
        fig = Figure(figsize=(13, height), layout="constrained")
        axes = fig.subplots(len(indices), 3, squeeze=False, sharex=True, sharey=True)
        for k, (row, i) in enumerate(zip(axes, indices, strict=True)):
            t_ps = comparison.times[i] * 1e12
            for ax, states, label in (
                (row[0], comparison.simulated[i], "simulation"),
                (row[1], comparison.predicted[i], "surrogate"),
            ):
                mx, my = _in_plane(states, mesh)
                image = ax.imshow(
                    mx.T,
                    origin="lower",
                    extent=extent,
                    cmap=_colormap("RdBu_r"),
                    vmin=-1,
                    vmax=1,
                )
                ax.quiver(
                    xs,
                    ys,
                    mx[::step, ::step].T,
                    my[::step, ::step].T,
                    pivot="middle",
                    scale=25,
                    width=0.004,
                )
                ax.set_title(f"{label}, t = {t_ps:.0f} ps", fontsize=9)
            magnetic = magnetic_cells[k].reshape(*mesh.n)
            error = _column_max(errors[i].reshape(*mesh.n), magnetic)
            error_image = row[2].imshow(
                error.T,
                origin="lower",
                extent=extent,
                cmap=_colormap("magma"),
                vmin=0,
                vmax=vmax,
            )
            over_z = ", max over z" if mesh.n[2] > 1 else ""
            row[2].set_title(
                f"|m_pred - m_sim|{over_z}, t = {t_ps:.0f} ps (max {error.max():.2f})",
                fontsize=9,
            )
        for ax in axes[-1]:
            ax.set_xlabel("x (nm)")
        for ax in axes[:, 0]:
            ax.set_ylabel("y (nm)")
        fig.colorbar(
            image, ax=axes[:, :2], location="bottom", shrink=0.5, label="$m_x$"
        )
        fig.colorbar(
            error_image, ax=axes[:, 2], location="bottom", shrink=0.9, label="|error|"
        )
    return fig


def _map_coordinates(evaluation, frame):
    """Return the error map's axes: (x, y, x label, y label) of each field.

    An in-plane angle and the magnitude (polar domains and no domain), or the two
    Cartesian components (mT) that vary most over a box domain.
    """
    domain = evaluation.domain
    if domain is None or domain.kind == "polar":
        return (
            frame["angle_deg"].to_numpy(),
            frame["B_mT"].to_numpy(),
            "field angle (deg)",
            r"$|\mu_0 H|$ (mT)",
        )
    names = ("x", "y", "z")
    width = domain.bounds[:, 1] - domain.bounds[:, 0]
    first, second = np.argsort(-width, kind="stable")[:2]
    b = evaluation.fields * 1e3
    return (
        b[:, first],
        b[:, second],
        rf"$\mu_0 H_{names[first]}$ (mT)",
        rf"$\mu_0 H_{names[second]}$ (mT)",
    )


def plot_field_errors(evaluation, threshold=0.05):
    """Where in the field domain a surrogate errs: an :class:`Evaluation` as a map.

    Left: the fields, coloured by the largest error of <m>, over the in-plane angle
    and magnitude (a polar training domain, as SP4's) or the two field components
    that vary most (a Cartesian box domain). Right: that error against the first
    of those coordinates; with sensitivities, the fields the model flags
    (sensitivity above ``threshold``) drawn as open circles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    frame = evaluation.to_dataframe()
    x, y, x_label, y_label = _map_coordinates(evaluation, frame)
    errors = frame["mean_m_error"].to_numpy()
    with plt.style.context("default"):
        fig = Figure(figsize=(10, 4), layout="constrained")
        left, right = fig.subplots(1, 2)
        points = left.scatter(x, y, c=errors, cmap="viridis", s=25)
        fig.colorbar(points, ax=left, label="max |<m> error|")
        left.set_xlabel(x_label)
        left.set_ylabel(y_label)
        flagged = np.zeros(len(frame), dtype=bool)
        if evaluation.sensitivity is not None:
            flagged = frame["sensitivity"].to_numpy() > threshold
        right.scatter(
            x[~flagged],
            errors[~flagged],
            s=20,
            color="tab:blue",
            label="fields" if evaluation.sensitivity is None else "not flagged",
        )
        if flagged.any():
            right.scatter(
                x[flagged],
                errors[flagged],
                s=30,
                facecolors="none",
                edgecolors="tab:red",
                label=f"flagged (sensitivity > {threshold})",
            )
        right.set_xlabel(x_label)
        right.set_ylabel("max |<m> error|")
        right.grid(alpha=0.3)
        right.legend(fontsize=8)
        mean = evaluation.mean_m_error.mean()
        fig.suptitle(
            f"{evaluation.model}: {len(frame)} fields, mean <m> error {mean:.3f}",
            fontsize=10,
        )
    return fig
