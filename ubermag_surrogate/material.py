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
import hashlib
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


PER_CELL = "per-cell values sha256:"
"""How :func:`describe` writes a parameter given per cell (a ``discretisedfield``
field or a dict per subregion): this prefix and a hash of its values on the mesh."""


def _per_cell_hash(mesh, value, what):
    """Hash of a per-cell parameter on ``mesh``.

    A Field: its values on every cell. A dict per subregion: the dict itself (its
    "default" and any "r1:r2" pair keys say how oommfc couples subregions, which
    the per-cell values do not show) and which subregion each cell lies in.
    """
    from .parameters import cell_values, subregion_labels

    digest = hashlib.sha256()
    if isinstance(value, dict):
        names = list(mesh.subregions)
        labels = subregion_labels(mesh, names, what)
        digest.update(repr(sorted((str(k), v) for k, v in value.items())).encode())
        digest.update(repr(names).encode())
        digest.update(np.ascontiguousarray(labels).tobytes())
    else:
        digest.update(cell_values(mesh, value, value.nvdim, what).tobytes())
    return PER_CELL + digest.hexdigest()[:16]


def _term_repr(term, mesh):
    """``repr(term)``, per-cell parameters written as hashes of their values."""
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
        params[key] = _per_cell_hash(mesh, params[key], f"{type(term).__name__}.{key}")
    # as Ubermag's Term.__repr__: strings quoted, other values as str()
    args = ", ".join(
        f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
        for key, value in params.items()
    )
    return f"{type(term).__name__}({args})"


def describe(container, exclude=(), mesh=None):
    """Representation string of a system's energy or dynamics without some terms.

    Ubermag's own representation, except for parameters given per cell (a
    ``discretisedfield.Field``, or a dict of values per subregion): those are
    written as a literal ``"per-cell values sha256:..."``, a hash of their values
    on every cell of ``mesh``, so that two systems describe alike exactly when
    their parameters agree cell by cell (a Field's repr shows only its mesh, and a
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


def _same(a, b, rtol):
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(
            _same(x, y, rtol) for x, y in zip(a, b, strict=True)
        )
    return a == b


def differences(trained, actual, rtol=1e-9):
    """List how the terms ``actual`` differ from ``trained`` (both repr strings).

    Terms are matched by type; order does not matter. Numbers agree within
    ``rtol`` (relative).

    Returns
    -------
    list of str
        One sentence per difference; empty when the terms agree.
    """
    want = dict(parse_terms(trained))
    have = dict(parse_terms(actual))
    found = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            found.append(f"{name} is missing (the model was trained with {name})")
        elif name not in want:
            found.append(f"{name} was not in the training system")
        else:
            for key in sorted(set(want[name]) | set(have[name])):
                a, b = want[name].get(key), have[name].get(key)
                if not _same(a, b, rtol):
                    found.append(
                        f"{name}: {key} = {b!r}, the model was trained with {a!r}"
                    )
    return found


def build(text):
    """Rebuild ``micromagneticmodel`` terms from a representation string.

    Only classes of ``micromagneticmodel`` that are energy or dynamics terms are
    constructed, with literal arguments.

    Returns
    -------
    list of micromagneticmodel.abstract.Term
    """
    terms = []
    for name, params in parse_terms(text):
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
                "rebuilt: build the system with the training problem's factory "
                "(problem.system()) instead."
            )
        terms.append(cls(**params))
    return terms
