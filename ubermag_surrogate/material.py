"""The energy and dynamics terms a model was trained with, read without ``eval``.

Training stores keep the system's energy (without the swept Zeeman field) and
dynamics as Ubermag representation strings, e.g. ``"Exchange(A=1.3e-11) +
Demag()"``. This module parses such strings into ``(term type, parameters)`` pairs
with :mod:`ast` (literals only: nothing in a string is ever executed), compares
them with the terms of a user's system, and rebuilds ``micromagneticmodel`` terms
from them.

Examples
--------
>>> from ubermag_surrogate import material
>>> material.parse_terms("Exchange(A=1.3e-11) + Demag()")
[('Exchange', {'A': 1.3e-11}), ('Demag', {})]
>>> material.differences("Damping(alpha=0.02)", "Damping(alpha=0.5)")
['Damping: alpha = 0.5, the model was trained with 0.02']
"""

import ast
import collections
import hashlib
import itertools
import math

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np
import ubermagutil.typesystem as ts

_NUMPY_SCALARS = {"float64", "float32", "int64", "int32", "float_", "int_"}


class UnreadableTermsError(ValueError):
    """A representation string that is not a sum of terms with literal arguments."""


def _literal(node, text):
    """Value of a literal argument; numpy scalar wrappers like np.float64(x) too."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _NUMPY_SCALARS
        and len(node.args) == 1
        and not node.keywords
    ):
        node = node.args[0]
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise UnreadableTermsError(
            f"{text!r} has an argument that is not a literal: {ast.unparse(node)!r}."
        ) from None


def _summands(node):
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _summands(node.left) + _summands(node.right)
    return [node]


def parse_terms(text):
    """Parse an Ubermag energy or dynamics representation string.

    Parameters
    ----------
    text : str
        E.g. ``"Exchange(A=1.3e-11) + Demag()"``; ``""`` means no terms.

    Returns
    -------
    list of (str, dict)
        Term type names and their keyword arguments (literals).

    Raises
    ------
    UnreadableTermsError
        If the string is anything but a sum of calls with literal keyword arguments.
    """
    text = (text or "").strip()
    if not text or text in EMPTY:
        return []
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise UnreadableTermsError(f"{text!r} is not a sum of terms.") from None
    terms = []
    for node in _summands(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            raise UnreadableTermsError(f"{text!r} is not a sum of terms.")
        if node.args:
            raise UnreadableTermsError(f"{text!r}: terms take keyword arguments only.")
        params = {kw.arg: _literal(kw.value, text) for kw in node.keywords}
        terms.append((node.func.id, params))
    return terms


PER_CELL = "per-cell values"
"""How :func:`describe` starts a parameter that varies per cell (a
``discretisedfield`` field or a dict per subregion): this prefix, the range of its
values and a hash of its values on the mesh."""


def _per_cell(mesh, term, key, value):
    """Describe a parameter given per cell: its value if uniform, else a hash.

    A Field or dict with one value on every cell is that value (as a number or a
    tuple), so it describes alike with the same value given plainly. Otherwise
    ``"per-cell values <min> to <max>, sha256:<hash of the values on every
    cell>"``. An exchange ``A`` given as a dict is hashed with the dict and the
    cells' subregions too: its ``"default"`` and ``"r1:r2"`` entries say how
    oommfc couples subregions, which the per-cell values do not show; it is the
    plain value only when every entry, ``"default"`` included, has that value.
    """
    from .parameters import cell_values, subregion_labels

    what = f"{type(term).__name__}.{key}"
    coupling = isinstance(term, mm.Exchange) and isinstance(value, dict)
    if isinstance(value, df.Field):
        nvdim, per_region = value.nvdim, value
    else:  # a dict: numbers or vectors per subregion, and oommfc's pair keys
        nvdim = max((np.size(v) for v in value.values()), default=1)
        per_region = {k: v for k, v in value.items() if ":" not in str(k)}
    values = np.ascontiguousarray(cell_values(mesh, per_region, nvdim, what))
    flat = values.reshape(-1, nvdim)
    if coupling:  # uniform only if every subregion pair couples with that A too
        given = np.array([np.asarray(v, dtype=float) for v in value.values()])
        coupling = "default" not in value or not np.all(given == flat[0])
    if not coupling and np.all(flat == flat[0]):
        first = [float(v) for v in flat[0]]
        return first[0] if nvdim == 1 else tuple(first)
    digest = hashlib.sha256(values.tobytes())
    if coupling:
        names = list(mesh.subregions)
        labels = subregion_labels(mesh, names, what)
        digest.update(repr(sorted((str(k), v) for k, v in value.items())).encode())
        digest.update(repr(names).encode())
        digest.update(np.ascontiguousarray(labels).tobytes())
    return (
        f"{PER_CELL} {flat.min():.6g} to {flat.max():.6g}, "
        f"sha256:{digest.hexdigest()[:16]}"
    )


def _term_repr(term, mesh):
    """``repr(term)``, per-cell parameters as values (uniform) or described."""
    # the parameters Ubermag's repr shows, in its order (unset ones are descriptors)
    params = {k: v for k, v in term if not isinstance(v, ts.Descriptor)}
    per_cell = [k for k, v in params.items() if isinstance(v, dict | df.Field)]
    if not per_cell:
        return repr(term)
    if mesh is None:
        raise UnreadableTermsError(
            f"{type(term).__name__} has per-cell parameters ({', '.join(per_cell)}); "
            "describing them needs the mesh."
        )
    for key in per_cell:
        params[key] = _per_cell(mesh, term, key, params[key])
    # as Ubermag's Term.__repr__: strings quoted, other values as str()
    args = ", ".join(
        f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
        for key, value in params.items()
    )
    return f"{type(term).__name__}({args})"


def describe(container, exclude=(), mesh=None):
    """Representation string of a system's energy or dynamics without some terms.

    Ubermag's own representation, except for parameters given per cell (a
    ``discretisedfield.Field``, or a dict of values per subregion): one value on
    every cell of ``mesh`` is written as that value; others as a literal
    ``"per-cell values <min> to <max>, sha256:..."``, with a hash of their values
    on every cell, so that two systems describe alike exactly when their
    parameters agree cell by cell (a Field's repr shows only its mesh, and a
    dict's says nothing of where its subregions lie).

    Parameters
    ----------
    container : micromagneticmodel.Energy or micromagneticmodel.Dynamics
        The terms.
    exclude : tuple of type, optional
        Term classes to leave out (e.g. ``(mm.Zeeman,)``: the swept field).
    mesh : discretisedfield.Mesh, optional
        The system's mesh; needed when a term has per-cell parameters.
    """
    return " + ".join(
        _term_repr(t, mesh) for t in container if not isinstance(t, exclude)
    )


EMPTY = ("Energy()", "Dynamics()")
"""Ubermag's representation of no terms (as records written by ``repr`` hold it)."""


def _hash_of(value):
    """Return the hash of a per-cell description (either version's), else None."""
    if isinstance(value, str) and value.startswith(PER_CELL) and "sha256:" in value:
        return value.rsplit("sha256:", 1)[1]
    return None


_EARLIER_PER_CELL = "per-cell values sha256:"
"""How records of the previous version (0.1 before per-cell values were described
by value) begin a per-cell parameter: a hash of the values, no range."""


def _same(a, b, rtol):
    if _hash_of(a) is not None and _hash_of(b) is not None:
        return _hash_of(a) == _hash_of(b)  # the values on every cell
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(
            _same(x, y, rtol) for x, y in zip(a, b, strict=True)
        )
    return a == b


def _term_differences(name, want, have, rtol):
    """Sentences for each parameter in which term ``have`` differs from ``want``."""
    found = []
    for key in sorted(set(want) | set(have)):
        a, b = want.get(key), have.get(key)
        if _same(a, b, rtol):
            continue
        sentence = f"{name}: {key} = {b!r}, the model was trained with {a!r}"
        if isinstance(a, str) and a.startswith(_EARLIER_PER_CELL):
            sentence += (
                " (recorded by an earlier version, which described per-cell values "
                "otherwise: where they are the same, refit the model or make the "
                "store again)"
            )
        found.append(sentence)
    return found


def _canonical(name, params):
    """Return a term's parameters in one form for equal physics.

    A uniaxial anisotropy's ``K1`` is its ``K`` (OOMMF and the embedded
    calculator read them alike), a ``K2`` of 0 is none, and its axis ``u`` is the
    unit vector with its first non-zero component positive (the energy depends on
    (m . u)^2 only). Per-cell values (described by a hash) are left as they are.
    """
    if name != "UniaxialAnisotropy":
        return params
    params = dict(params)
    if "K1" in params and "K" not in params:
        params["K"] = params.pop("K1")
    if params.get("K2") == 0:
        del params["K2"]
    u = params.get("u")
    if isinstance(u, tuple | list) and all(isinstance(c, int | float) for c in u):
        norm = math.sqrt(sum(c * c for c in u))
        if norm > 0:
            first = next(c for c in u if c != 0)
            sign = 1.0 if first > 0 else -1.0
            params["u"] = tuple(sign * c / norm for c in u)
    return params


def differences(trained, actual, rtol=1e-9):
    """List how the terms ``actual`` differ from ``trained`` (both repr strings).

    Terms are matched by type; order does not matter, also among several terms of
    one type (e.g. two anisotropies: each must match one trained term). Numbers
    agree within ``rtol`` (relative). Forms of equal physics are equal (a uniaxial
    anisotropy's ``K1`` and ``K``, a ``K2`` of 0 and none, ``u`` up to its length
    and sign).

    Returns
    -------
    list of str
        One sentence per difference; empty when the terms agree.
    """
    want, have = collections.defaultdict(list), collections.defaultdict(list)
    for name, params in parse_terms(trained):
        want[name].append(_canonical(name, params))
    for name, params in parse_terms(actual):
        have[name].append(_canonical(name, params))
    found = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            found.append(f"{name} is missing (the model was trained with {name})")
        elif name not in want:
            found.append(f"{name} was not in the training system")
        elif len(want[name]) != len(have[name]):
            found.append(
                f"{len(have[name])} {name} terms, the model was trained with "
                f"{len(want[name])}"
            )
        elif len(want[name]) == 1:
            found += _term_differences(name, want[name][0], have[name][0], rtol)
        else:  # several terms of one type: the closest pairing, in any order
            pairings = [
                [
                    sentence
                    for i, (a, b) in enumerate(zip(want[name], order, strict=True))
                    for sentence in _term_differences(f"{name} {i + 1}", a, b, rtol)
                ]
                for order in itertools.permutations(have[name])
            ]
            found += min(pairings, key=len)
    return found


def same_material(recorded, wanted):
    """Whether two recorded materials (dicts of store metadata) are the same.

    ``energy`` and ``dynamics`` compare as :func:`differences` does (numbers to
    1e-9 relative, terms in any order); other entries (``T``, ``bc``) exactly.
    """
    if not (isinstance(recorded, dict) and isinstance(wanted, dict)):
        return recorded == wanted
    if set(recorded) != set(wanted):
        return False
    for key in recorded:
        if key in ("energy", "dynamics"):
            try:
                if differences(recorded[key], wanted[key]):
                    return False
            except UnreadableTermsError:
                if recorded[key] != wanted[key]:
                    return False
        elif recorded[key] != wanted[key]:
            return False
    return True


def build(text):
    """Rebuild ``micromagneticmodel`` terms from a representation string.

    Only classes of ``micromagneticmodel`` that are energy or dynamics terms are
    constructed, with literal arguments.

    Returns
    -------
    list of micromagneticmodel.abstract.Term
    """
    terms = []
    parsed = parse_terms(text)
    counts = collections.Counter(name for name, _ in parsed)
    seen = collections.Counter()
    for name, params in parsed:
        seen[name] += 1
        cls = getattr(mm, name, None)
        if not (isinstance(cls, type) and issubclass(cls, mm.abstract.Term)):
            raise UnreadableTermsError(f"{name!r} is not a micromagneticmodel term.")
        per_cell = [
            key
            for key, value in params.items()
            if isinstance(value, str) and value.startswith(PER_CELL)
        ]
        if per_cell:
            raise UnreadableTermsError(
                f"{name}'s {', '.join(per_cell)} varied per cell in training; the "
                "record keeps only a hash of the values, so the term cannot be "
                "rebuilt: build the system in Python with the training problem's "
                "factory (problem.system_for(field, m0)) and drive it with a "
                "SurrogateDriver (the command line's predict and compare cannot)."
            )
        if counts[name] > 1 and "name" not in params:
            # Ubermag's repr leaves names out; a system takes one term per name
            params = {**params, "name": f"{name.lower()}{seen[name]}"}
        terms.append(cls(**params))
    return terms
