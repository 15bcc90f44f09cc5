"""What a system asks of a surrogate, checked against what the model was trained on.

A ``SurrogateDriver`` reads the constant external field from ``system.energy``,
and refuses, with a message that says what differs, any system the model cannot
answer: another mesh, another Ms, other energy or dynamics terms, a temperature, a
time-dependent or non-uniform field (:func:`check_same_system` also serves
``evaluate`` for stores). An initial state far from the trained one is allowed;
the model's prediction warns about it.
"""

import dataclasses

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np

from .._checks import check_fields
from ..data.layout import to_components
from ..material import UnreadableTermsError, describe, differences
from ..parameters import TIME_DEPENDENT_ZEEMAN, cell_values


@dataclasses.dataclass
class DriveRequest:
    """A prediction request read from a system.

    Attributes
    ----------
    field : numpy.ndarray
        mu0 H (T), ``(3,)``.
    m0 : numpy.ndarray
        Unit initial magnetisation in the store layout, ``(3N,)``.
    """

    field: np.ndarray
    m0: np.ndarray


def zeeman_field(system):
    """Return the constant, uniform external field H (A/m) of a system, ``(3,)``.

    Several Zeeman terms add up.

    Raises
    ------
    ValueError
        Without a Zeeman term, with a time-dependent or non-uniform one, or a
        total field that is not finite or above 100 T in mu0 H (``check_fields``).
    """
    terms = [t for t in system.energy if isinstance(t, mm.Zeeman)]
    if not terms:
        raise ValueError(
            "The system has no Zeeman term: a surrogate predicts the response to a "
            "constant external field; add one, e.g. "
            "system.energy += mm.Zeeman(H=(Hx, Hy, Hz)) with H in A/m."
        )
    magnetic = system.m.norm.array[..., 0] > 0
    total = np.zeros(3)
    for term in terms:
        label = f"Zeeman term {term.name!r}"
        timed = [k for k in TIME_DEPENDENT_ZEEMAN if k in vars(term)]
        if timed:
            raise ValueError(
                f"{label} is time-dependent ({', '.join(timed)}); the surrogate was "
                "trained on constant fields."
            )
        if isinstance(term.H, df.Field | dict):
            if isinstance(term.H, df.Field) and term.H.nvdim != 3:
                raise ValueError(
                    f"{label}: H must be a vector field, not nvdim={term.H.nvdim}."
                )
            # per cell as oommfc writes it (a dict: zero outside its subregions)
            values = cell_values(system.m.mesh, term.H, 3, f"{label}: H")[magnetic]
            if not np.allclose(values, values[0], rtol=1e-9, atol=0):
                raise ValueError(
                    f"{label}: H varies in space over the magnet; the surrogate was "
                    "trained on uniform fields."
                )
            value = values[0]
        else:
            value = np.asarray(term.H, dtype=float)
            if value.shape != (3,):
                raise ValueError(
                    f"{label}: H must be a 3-vector in A/m, got {term.H!r}."
                )
        total += value
    return check_fields(total, "The Zeeman terms' H", unit="A/m")[0]


def _mesh_text(pmin, pmax, n):
    return (
        f"{' x '.join(str(int(v)) for v in n)} cells over "
        f"{tuple(float(v) for v in pmin)} - {tuple(float(v) for v in pmax)} m"
    )


def check_compatible(system, model):
    """Raise ``ValueError`` if the model cannot answer for this system.

    Compares mesh, saturation magnetisation, energy terms other than Zeeman,
    dynamics terms and temperature with what the model was trained on.
    """
    if not isinstance(system, mm.System):
        raise TypeError(f"Expected a micromagneticmodel.System, not {type(system)}.")
    if not isinstance(getattr(system, "m", None), df.Field):
        raise ValueError("The system has no magnetisation: set system.m first.")
    mesh = system.m.mesh
    if system.T:
        raise ValueError(
            f"The system has a temperature T = {system.T} K; the model was trained "
            "without thermal fluctuations."
        )
    if len(system.dynamics) == 0:
        raise ValueError("The system has no dynamics (Precession, Damping).")
    material = {}
    for key, container, exclude in (
        ("energy", system.energy, (mm.Zeeman,)),
        ("dynamics", system.dynamics, ()),
    ):
        try:
            material[key] = describe(container, exclude, mesh=mesh)
        except UnreadableTermsError as exc:
            material[key] = exc
    check_same_system(
        model,
        {
            "pmin": mesh.region.pmin,
            "pmax": mesh.region.pmax,
            "n": mesh.n,
            "bc": str(mesh.bc or ""),
        },
        system.m.norm.array.reshape(-1),
        material,
        what="The system",
    )


def check_same_system(model, mesh, Ms, material, what):
    """Raise ``ValueError`` unless mesh, Ms and material are those of the training.

    Parameters
    ----------
    model : SurrogateModel
        The fitted model (``mesh_``, ``Ms_``, ``material_``).
    mesh : dict
        ``pmin``, ``pmax`` (m), ``n`` and, if periodic, ``bc`` (e.g. ``"x"``).
    Ms : numpy.ndarray
        Saturation magnetisation per cell (A/m), ``(N,)``.
    material : dict
        ``energy`` (without Zeeman terms) and ``dynamics``: Ubermag representation
        strings, or the ``UnreadableTermsError`` that reading them raised.
    what : str
        How messages name the compared system, e.g. ``"The store"``.
    """
    trained = model.mesh_
    size = np.max(np.abs(np.subtract(trained["pmax"], trained["pmin"])))
    if not (
        np.array_equal(mesh["n"], trained["n"])
        and np.allclose(mesh["pmin"], trained["pmin"], rtol=0, atol=1e-9 * size)
        and np.allclose(mesh["pmax"], trained["pmax"], rtol=0, atol=1e-9 * size)
    ):
        have = _mesh_text(mesh["pmin"], mesh["pmax"], mesh["n"])
        want = _mesh_text(trained["pmin"], trained["pmax"], trained["n"])
        raise ValueError(f"{what}'s mesh ({have}) is not the model's ({want}).")
    have_bc, want_bc = str(mesh.get("bc") or ""), str(trained.get("bc") or "")
    if have_bc != want_bc:
        raise ValueError(
            f"{what}'s mesh has periodic boundary conditions "
            f"{have_bc or 'none'!r}, the model's {want_bc or 'none'!r}: the model "
            "predicts the dynamics of the boundaries it was trained with."
        )
    if not np.allclose(Ms, model.Ms_, rtol=1e-5, atol=1e-5 * np.max(model.Ms_)):
        worst = np.max(np.abs(Ms - model.Ms_))
        raise ValueError(
            f"{what}'s saturation magnetisation differs from the model's by up "
            f"to {worst:.4g} A/m (trained with Ms in [{model.Ms_.min():.6g}, "
            f"{model.Ms_.max():.6g}] A/m)."
        )
    problems = []
    for key in ("energy", "dynamics"):
        expected = model.material_.get(key)
        if expected is None:  # a model file without the record: nothing to compare
            continue
        actual = material.get(key, "")
        if isinstance(actual, UnreadableTermsError):
            problems.append(f"{key}: cannot compare ({actual})")
            continue
        try:
            problems += differences(expected, actual)
        except UnreadableTermsError as exc:
            problems.append(f"{key}: cannot compare ({exc})")
    if problems:
        raise ValueError(
            f"{what}'s material differs from the model's training system: "
            + "; ".join(problems)
            + "."
        )


def initial_state(system):
    """Return the system's unit magnetisation ``(3N,)``, store layout."""
    return to_components(system.m.array).reshape(-1)


def read_request(system, model):
    """Read and check a drive request: field (mu0 H in T) and initial state.

    Whether the initial state is far from the trained one is the model's check
    (``SurrogateModel.predict`` warns).

    Raises
    ------
    ValueError
        For a system the model cannot answer (see :func:`check_compatible`) or
        without a constant uniform Zeeman field.
    """
    check_compatible(system, model)
    field = zeeman_field(system) * mm.consts.mu0
    return DriveRequest(field=field, m0=initial_state(system))
