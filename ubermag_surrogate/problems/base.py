"""A problem: a system factory plus how an external field is applied to it.

Training data are trajectories of one system under many constant external fields,
all starting from the same initial state (for SP4 the relaxed s-state). A
:class:`Problem` holds what is needed to build each of those systems, so the
generator works for any user system, not only SP4.
"""

import hashlib
import json
import os
import pathlib
import tempfile
import warnings

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np

from ..material import describe

SMALL_MS = 1e3
"""A/m: a factory whose Ms stays below this everywhere warns (``m`` set without
``norm=Ms``: unit vectors read as Ms = 1 A/m)."""


def cache_dir():
    """Directory of cached initial states.

    ``$UBERMAG_SURROGATE_CACHE`` if set, else the user cache directory
    (e.g. ``~/.cache/ubermag-surrogate``).
    """
    env = os.environ.get("UBERMAG_SURROGATE_CACHE")
    if env:
        return pathlib.Path(env)
    import platformdirs

    return pathlib.Path(platformdirs.user_cache_dir("ubermag-surrogate"))


class Problem:
    """Systems that differ only by a constant external field.

    Parameters
    ----------
    name : str
        Name of the problem (used for system names and cache files).
    system_factory : callable
        ``system_factory()`` returns a fresh ``mm.System`` with energy (without a
        Zeeman term: each sample adds the swept field, and a constant bias belongs
        in the field domain), dynamics and the magnetisation to start from.
        It must be picklable by cloudpickle (any function, lambda or
        ``functools.partial`` works).
    relax : bool, optional
        Minimise the energy before applying the field (``True``, SP4's s-state);
        ``False`` starts from the factory's ``m``.

    Raises
    ------
    ValueError
        For a factory whose system has a Zeeman term, no dynamics or a
        magnetisation that is not a vector field.

    Warns
    -----
    UserWarning
        When Ms is below 1000 A/m everywhere (``m`` set without ``norm=Ms``).

    Notes
    -----
    What the problem is (:meth:`metadata`: mesh, Ms, energy and dynamics terms,
    temperature) is read from a fresh ``system_factory()`` each time it is needed,
    so a factory that reads a notebook's variables is described as it is now, not
    as it was when the problem was made. Parameters given per cell (a
    ``discretisedfield.Field`` or a dict per subregion) are described by their
    value where it is one on every cell, else by their range and a hash of their
    values on every cell.

    Examples
    --------
    >>> from ubermag_surrogate.problems import sp4
    >>> problem = sp4.problem(cell=(10e-9, 12.5e-9, 3e-9))
    >>> problem.mesh.n.tolist()
    [50, 10, 1]
    """

    def __init__(self, name, system_factory, relax=True):
        if not isinstance(name, str) or not name:
            raise ValueError(f"A problem needs a non-empty name, got {name!r}.")
        if not callable(system_factory):
            raise TypeError("system_factory must be callable.")
        self.name = name
        self.system_factory = system_factory
        self.relax = relax
        system = self.system()
        if not isinstance(getattr(system, "m", None), df.Field):
            raise TypeError("system_factory() must return an mm.System with m set.")
        if system.m.nvdim != 3:
            raise ValueError(
                f"The factory's system.m has nvdim={system.m.nvdim}; a magnetisation "
                "is a vector field (nvdim=3)."
            )
        if len(system.dynamics) == 0:
            raise ValueError(
                "The factory's system has no dynamics: trajectories need them, e.g. "
                "system.dynamics = mm.Precession(gamma0=mm.consts.gamma0) + "
                "mm.Damping(alpha=0.02)."
            )
        Ms = system.m.norm.array
        if 0 < Ms.max() < SMALL_MS:
            warnings.warn(
                f"Ms is at most {Ms.max():.3g} A/m: was system.m set without "
                "norm=Ms (A/m), e.g. df.Field(mesh, nvdim=3, value=(1, 0, 0), "
                "norm=8e5)? Go on only if so weak a magnet is meant.",
                UserWarning,
                stacklevel=2,
            )
        fixed = [term for term in system.energy if isinstance(term, mm.Zeeman)]
        if fixed:
            raise ValueError(
                f"The factory's system has a Zeeman term ({fixed[0]!r}): each sample "
                "adds the swept field itself, and a surrogate answers for the total "
                "external field. Leave it out and put a constant bias into the field "
                "domain instead, as a coordinate of zero width, e.g. "
                "FieldDomain(box=((-40, -20), (-10, 10), (12.6, 12.6))) or "
                "FieldDomain((30, 40), (170, 190), bz=(12.6, 12.6)) for Bz = "
                "12.6 mT."
            )
        self._describe(system)  # per-cell parameters it cannot read: refused now

    @property
    def mesh(self):
        """The factory's mesh (``discretisedfield.Mesh``)."""
        return self.system().m.mesh

    @property
    def Ms(self):
        """Saturation magnetisation per cell (A/m), an array of the mesh's shape."""
        return np.asarray(self.system().m.norm.array, dtype=np.float64)[..., 0]

    def __repr__(self):
        return f"Problem(name={self.name!r}, mesh n={self.mesh.n.tolist()})"

    def system(self, name=None):
        """Return a fresh system from the factory (no sweep field yet)."""
        system = self.system_factory()
        if not isinstance(system, mm.System):
            raise TypeError(
                f"system_factory() returned {type(system).__name__}, not mm.System."
            )
        name = name or self.name
        if system.name != name:  # mm.System names cannot change: copy the system
            renamed = mm.System(name=name, T=system.T)
            renamed.energy = system.energy
            renamed.dynamics = system.dynamics
            renamed.m = system.m
            system = renamed
        return system

    def metadata(self):
        """Return JSON-serialisable mesh and material description.

        Of a fresh ``system_factory()`` (see the class notes).
        """
        return self._describe(self.system())

    def _describe(self, system):
        mesh = system.m.mesh
        Ms = system.m.norm.array
        description = {
            "problem": self.name,
            "mesh": {
                "pmin": mesh.region.pmin.tolist(),
                "pmax": mesh.region.pmax.tolist(),
                "n": mesh.n.tolist(),
                "cell": mesh.cell.tolist(),
            },
            "material": {
                "Ms_min": float(Ms.min()),
                "Ms_max": float(Ms.max()),
                # no terms: Ubermag's "Energy()", as stores have recorded it
                "energy": describe(system.energy, mesh=mesh) or repr(system.energy),
                "dynamics": describe(system.dynamics, mesh=mesh)
                or repr(system.dynamics),
            },
            "relax": self.relax,
        }
        if mesh.bc:  # only when set: stores of meshes without keep their record
            description["mesh"]["bc"] = str(mesh.bc)
        if system.T:
            description["material"]["T"] = float(system.T)
        return description

    def _cache_key(self, calculator_name, system):
        """Return a hash of what a relaxation of ``system`` depends on.

        Its description (mesh, material per cell, temperature), the calculator and
        the state it starts from (``m``, A/m: its direction and, through its norm,
        where the magnet is; two geometries can share a mesh and an Ms range).
        """
        m = system.m
        text = json.dumps([self._describe(system), calculator_name], sort_keys=True)
        digest = hashlib.sha256(text.encode())
        digest.update(np.ascontiguousarray(m.array, dtype=np.float64).tobytes())
        return digest.hexdigest()[:16]

    def initial_state(self, calculator, use_cache=True):
        """Return the magnetisation every trajectory starts from (A/m).

        With ``relax=True`` the factory's state is minimised with the calculator's
        ``MinDriver`` once per mesh, material, calculator and starting state (the
        factory's ``m``, which also says where the magnet is); the result is cached
        on disk (:func:`cache_dir`).

        Parameters
        ----------
        calculator : module or str
            ``oommfc`` or ``ubermag_surrogate.embedded``, or a name as for
            :func:`ubermag_surrogate.calculator` (``"auto"``, ``"oommf"``,
            ``"embedded"``).
        use_cache : bool, optional
            Read and write the on-disk cache (default ``True``).

        Returns
        -------
        discretisedfield.Field
        """
        if isinstance(calculator, str):  # a name, as everywhere else
            from ..calculators import calculator as get_calculator

            calculator = get_calculator(calculator, verbose=False)
        system = self.system()
        if not self.relax:
            return system.m
        key = self._cache_key(calculator.__name__, system)
        path = cache_dir() / f"{self.name}-{key}.omf"
        if use_cache and path.exists():
            try:
                cached = df.Field.from_file(str(path)).array
                system.m.array = cached  # the factory's mesh: its subregions kept
                return system.m
            except Exception as exc:  # noqa: BLE001 - any unreadable file
                warnings.warn(
                    f"The cached initial state {str(path)!r} cannot be read ({exc}); "
                    "relaxing again and replacing it.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                system = self.system()
        with tempfile.TemporaryDirectory() as tmp:
            calculator.MinDriver().drive(system, dirname=tmp, verbose=0)
        if use_cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            # written beside it under a name of this process, then renamed: no
            # half-written cache file, and two processes relaxing the same problem
            # do not write into one file; on a mesh without subregions, so no
            # subregion file is left beside it
            partial = path.with_name(f".{path.stem}.{os.getpid()}.omf")
            plain = df.Mesh(region=system.m.mesh.region, n=system.m.mesh.n)
            df.Field(plain, nvdim=3, value=system.m.array).to_file(str(partial))
            partial.replace(path)
        return system.m

    def system_for(self, field, m0, name=None):
        """Return the system at state ``m0`` with a constant field mu0 H (T).

        Parameters
        ----------
        field : array_like
            mu0 H (T), three components.
        m0 : discretisedfield.Field or numpy.ndarray
            Initial magnetisation (A/m) on the problem's mesh.
        name : str, optional
            System name.
        """
        field = np.asarray(field, dtype=float)
        if field.shape != (3,):
            raise ValueError(
                f"A field needs three components, got shape {field.shape}."
            )
        system = self.system(name)
        system.m.array = m0.array if isinstance(m0, df.Field) else np.asarray(m0)
        system.energy += mm.Zeeman(
            H=tuple(float(v) for v in field / mm.consts.mu0), name="sweep_field"
        )
        return system
