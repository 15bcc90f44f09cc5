"""Translate a ``micromagneticmodel.System`` into input files for the embedded solver.

The embedded calculator runs magnum.np in a child process (as oommfc runs OOMMF).
This module is the parent's side of that contract: it checks that the system only
uses what the embedded solver supports and writes

- ``<name>.json``: the problem description (mesh, terms, driver settings) and
- ``<name>-input.npz``: per-cell material parameters (SI units), read with
  ``allow_pickle=False``.

Supported: energy terms ``Exchange(A)``, ``Demag()``, ``Zeeman(H)`` (constant in
time; tuple, dict of subregions or ``discretisedfield.Field``, in A/m) and
``UniaxialAnisotropy(K, u)`` (or ``K1``/``K2``, J/m^3), dynamics terms
``Precession(gamma0)`` (m/(A s)) and ``Damping(alpha)``, zero-temperature systems on
3D meshes without periodic boundary conditions. Cells with ``Ms = 0`` are empty.
"""

import json
import numbers
import pathlib

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np

from ..parameters import TIME_DEPENDENT_ZEEMAN, cell_values, subregion_labels

SUPPORTED_ENERGY = ("Exchange", "Demag", "Zeeman", "UniaxialAnisotropy")
SUPPORTED_DYNAMICS = ("Precession", "Damping")

# The parameters of each supported term, as (name, number of vector dimensions).
_TERM_PARAMETERS = {
    "Exchange": {"A": 1},
    "Demag": {},
    "Zeeman": {"H": 3},
    "UniaxialAnisotropy": {"K": 1, "K1": 1, "K2": 1, "u": 3},
    "Precession": {"gamma0": 1},
    "Damping": {"alpha": 1},
}


def _supported_message():
    return (
        "The embedded calculator supports the energy terms "
        f"{', '.join(SUPPORTED_ENERGY)} and the dynamics terms "
        f"{', '.join(SUPPORTED_DYNAMICS)}; use oommfc for anything else."
    )


def check_system(system, needs_dynamics):
    """Check that the embedded solver can run ``system``; return its inputs.

    Parameters
    ----------
    system : micromagneticmodel.System
        System to check.
    needs_dynamics : bool
        ``True`` for time drives, which need at least one dynamics term.
        ``False`` for energy minimisation, which ignores the dynamics and the
        temperature, as oommfc's ``MinDriver`` does (a system set up for a later
        spin-transfer or thermal drive relaxes first).

    Returns
    -------
    tuple
        ``(terms, dynamics, arrays)`` of :func:`system_arrays`: the parameters
        are evaluated on the cells here, so bad values are found before a drive
        creates its folder.

    Raises
    ------
    TypeError
        If ``system`` is not an ``mm.System`` or ``system.m`` is not a
        ``discretisedfield.Field``.
    ValueError
        If the system uses a term, option or mesh that is not supported, or a
        parameter value that cannot be evaluated on the mesh.
    RuntimeError
        If energy (or, for time drives, dynamics) is not defined, with the same
        messages as oommfc.
    """
    if not isinstance(system, mm.System):
        raise TypeError(
            f"Expected a micromagneticmodel.System, got {type(system).__name__}."
        )
    m = getattr(system, "m", None)
    if not isinstance(m, df.Field):
        raise TypeError(
            f"System {system.name!r} has no magnetisation: set system.m to a "
            f"discretisedfield.Field (got {type(m).__name__})."
        )
    if m.nvdim != 3:
        raise ValueError(f"system.m must be a vector field (nvdim=3), not {m.nvdim=}.")
    mesh = m.mesh
    if mesh.region.ndim != 3:
        raise ValueError(
            f"The embedded calculator needs a 3D mesh; {mesh.region.ndim=}."
        )
    if mesh.bc:
        raise ValueError(
            f"Periodic boundary conditions ({mesh.bc=!r}) are not supported by the "
            "embedded calculator."
        )
    if needs_dynamics and len(system.dynamics) == 0:
        raise RuntimeError("System's dynamics is not defined")
    if len(system.energy) == 0:
        raise RuntimeError("System's energy is not defined")
    if needs_dynamics and system.T not in (0, 0.0, None):
        raise ValueError(
            f"Finite temperature ({system.T=}) is not supported by the embedded "
            "calculator."
        )
    for term in system.energy:
        if isinstance(term, mm.Zeeman):
            given = sorted(set(vars(term)) & set(TIME_DEPENDENT_ZEEMAN))
            if given:
                raise ValueError(
                    f"Zeeman term {term.name!r} is time dependent ({', '.join(given)}"
                    "); the embedded calculator supports constant fields only."
                )
        _check_term(term, SUPPORTED_ENERGY)
    if needs_dynamics:  # a minimisation ignores them, as oommfc's MinDriver
        for term in system.dynamics:
            _check_term(term, SUPPORTED_DYNAMICS)
    return system_arrays(system, dynamics=needs_dynamics)


def _check_term(term, supported):
    kind = type(term).__name__
    if kind not in supported:
        raise ValueError(
            f"Unsupported term {kind} ({term.name!r}). " + _supported_message()
        )
    allowed = set(_TERM_PARAMETERS[kind])
    given = set(vars(term)) - {"name", "_name"}
    extra = sorted(given - allowed)
    if extra:
        raise ValueError(
            f"{kind} option(s) {', '.join(extra)} of term {term.name!r} are not "
            "supported by the embedded calculator."
        )


OOMMF_GAMMA0 = 2.211e5
"""m/(A s): OOMMF's default gamma_G, which it uses without a Precession term."""


def _check_exchange_between_subregions(mesh, value, A, magnetic):
    """Refuse an exchange A per subregion that OOMMF would couple otherwise.

    oommfc writes such a dict as OOMMF's ``Oxs_Exchange6Ngbr``: neighbouring
    cells of different subregions (or of a subregion and the rest) couple with
    ``A["default"]`` (0 without it). magnum.np couples every pair of neighbours
    with the harmonic mean of their A; where that differs from the default for a
    pair of magnetic neighbours in different regions, the physics would differ.
    """
    labels = subregion_labels(mesh, [k for k in value if k != "default"], "A")
    default = float(value.get("default", 0.0))
    for axis in range(3):
        if A.shape[axis] < 2:
            continue
        first = [slice(None)] * 3
        second = [slice(None)] * 3
        first[axis], second[axis] = slice(None, -1), slice(1, None)
        a, b = A[tuple(first)], A[tuple(second)]
        across = (
            (labels[tuple(first)] != labels[tuple(second)])
            & magnetic[tuple(first)]
            & magnetic[tuple(second)]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(a + b > 0, 2 * a * b / (a + b), 0.0)
        if not np.allclose(mean[across], default, rtol=1e-9, atol=0):
            raise ValueError(
                f"Exchange A per subregion ({value!r}): OOMMF (oommfc's "
                "Oxs_Exchange6Ngbr) couples neighbouring cells of different "
                f"subregions with A['default'] = {default:g} J/m, the embedded "
                "calculator with the harmonic mean of their A, and here the two "
                "differ. Give A as one number, or per cell as a discretisedfield "
                "Field, or drive this system with OOMMF."
            )


def system_arrays(system, dynamics=True):
    """Collect the per-cell arrays the solver needs.

    Parameters
    ----------
    system : micromagneticmodel.System
        Checked system.
    dynamics : bool, optional
        Read ``system.dynamics`` (default); with ``False`` (energy minimisation)
        it is ignored, and ``gamma0`` and ``alpha`` are OOMMF's defaults.

    Returns
    -------
    terms : list of dict
        One entry per energy term: ``type``, ``name`` and the keys of its arrays.
    arrays : dict of numpy.ndarray
        ``Ms`` (A/m), ``m0`` (unit vectors, zero in empty cells), ``gamma0``
        (m/(A s)), ``alpha`` and each term's parameters, named ``<term>.<param>``.
    """
    mesh = system.m.mesh
    M = np.asarray(system.m.array, dtype=np.float64)
    Ms = np.linalg.norm(M, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m0 = np.where(Ms[..., None] > 0, M / Ms[..., None], 0.0)
    arrays = {"Ms": Ms, "m0": m0}
    magnetic = Ms > 0

    terms = []
    for term in system.energy:
        kind = type(term).__name__
        entry = {"type": kind, "name": term.name, "arrays": {}}
        for param, nvdim in _TERM_PARAMETERS[kind].items():
            if param not in vars(term):
                continue
            value = getattr(term, param)
            if isinstance(value, dict) and any(":" in str(key) for key in value):
                raise ValueError(
                    f"{kind}.{param} between subregions ({value!r}) is not supported "
                    "by the embedded calculator; give one value per subregion."
                )
            values = cell_values(mesh, value, nvdim, f"{kind}.{param}")
            if param == "u":
                norm = np.linalg.norm(values, axis=-1, keepdims=True)
                if np.any(norm[magnetic] == 0):
                    raise ValueError("UniaxialAnisotropy axis u must be non-zero.")
                values = np.divide(
                    values, norm, out=np.zeros_like(values), where=norm > 0
                )
            if param == "A":
                # Empty cells must not couple by exchange (magnum.np takes the
                # harmonic mean of A across each cell face, as OOMMF's
                # Oxs_ExchangePtwise, which oommfc writes for a Field A).
                values = np.where(magnetic, values, 0.0)
                if isinstance(value, dict):
                    _check_exchange_between_subregions(mesh, value, values, magnetic)
            key = f"{term.name}.{param}"
            arrays[key] = values
            entry["arrays"][param] = key
        if kind == "UniaxialAnisotropy":
            if "u" not in entry["arrays"] or not ({"K", "K1"} & set(entry["arrays"])):
                raise ValueError("UniaxialAnisotropy needs K (or K1) and u.")
        terms.append(entry)

    dynamics_terms = list(system.dynamics) if dynamics else []
    precession = [t for t in dynamics_terms if isinstance(t, mm.Precession)]
    damping = [t for t in dynamics_terms if isinstance(t, mm.Damping)]
    if len(precession) > 1:  # oommfc cannot script it either
        raise ValueError(
            f"The system has {len(precession)} Precession terms; give one."
        )
    # without Precession, OOMMF relaxes with its default gamma_G
    gamma0 = precession[0].gamma0 if precession else OOMMF_GAMMA0
    alpha = damping[0].alpha if damping else 0.0
    arrays["gamma0"] = cell_values(mesh, gamma0, 1, "Precession.gamma0")
    if np.any(arrays["gamma0"][magnetic] < 0):  # OOMMF takes |gamma|
        raise ValueError(
            "Precession gamma0 must not be negative (m/(A s)), e.g. mm.consts.gamma0."
        )
    arrays["alpha"] = cell_values(mesh, alpha, 1, "Damping.alpha")
    if np.any(arrays["alpha"] < 0):
        raise ValueError("Damping alpha must be non-negative.")
    dynamics = {"precession": bool(precession), "damping": bool(damping)}
    return terms, dynamics, arrays


def write_input(system, inputs, driver, settings, dirname="."):
    """Write ``<name>.json`` and ``<name>-input.npz`` for the child solver.

    Parameters
    ----------
    system : micromagneticmodel.System
        The system.
    inputs : tuple
        What :func:`check_system` returned for it.
    driver : str
        ``"TimeDriver"`` or ``"MinDriver"``.
    settings : dict
        Driver settings (JSON serialisable): e.g. ``t`` (s), ``n``, ``n_threads``.
    dirname : str or pathlib.Path
        Drive directory.

    Returns
    -------
    pathlib.Path
        Path of the JSON problem description.
    """
    dirname = pathlib.Path(dirname)
    terms, dynamics, arrays = inputs
    mesh = system.m.mesh
    spec = {
        "format": "ubermag-surrogate-embedded/1",
        "name": system.name,
        "driver": driver,
        "mesh": {
            "n": [int(v) for v in mesh.n],
            "cell": [float(v) for v in mesh.cell],
            "pmin": [float(v) for v in mesh.region.pmin],
        },
        "terms": terms,
        "dynamics": dynamics,
        "arrays": f"{system.name}-input.npz",
        "settings": {k: _jsonable(v) for k, v in settings.items()},
    }
    np.savez(dirname / spec["arrays"], **arrays)
    path = dirname / f"{system.name}.json"
    path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return path


def _jsonable(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value
