"""Argument types of the command line: each turns a bad value into a clear message."""

import argparse
import json
import keyword
import os
import re

import numpy as np

from .._checks import MAX_FIELD
from ..data.domains import in_plane_field

MAX_FIELD_MT = MAX_FIELD * 1e3
"""Largest field component (or in-plane magnitude) ``--field`` takes, in mT."""

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_POLAR = re.compile(rf"^\s*({_NUMBER})\s*mT\s*@\s*({_NUMBER})\s*deg\s*$")
_CARTESIAN = re.compile(
    rf"^\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*(?:mT)?\s*$"
)


def _int_at_least(text, minimum, wanted):
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
    return value


def positive_int(text):
    """Parse a positive integer."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text):
    """Parse an integer >= 0 (a seed)."""
    return _int_at_least(text, 0, "an integer >= 0")


def positive_float(text):
    """Parse a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def cell_nm(text):
    """Parse a cell size ``"dx,dy,dz"`` in nm (returned in nm)."""
    try:
        cell = tuple(float(c) for c in text.split(","))
    except ValueError:
        cell = ()
    if len(cell) != 3 or not all(c > 0 for c in cell):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not three positive numbers in nm, e.g. 5,5,3"
        )
    return cell


def field(text):
    """Parse a field mu0 H: ``"36mT@190deg"`` (in-plane) or ``"-35.5,-6.3,0mT"``.

    Returns
    -------
    numpy.ndarray
        mu0 H (T), ``(3,)``.
    """
    polar = _POLAR.match(text)
    cartesian = _CARTESIAN.match(text)
    if not (polar or cartesian):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a field: write the in-plane magnitude and angle as "
            "36mT@190deg, or the components in mT as -35.5,-6.3,0"
        )
    numbers = [float(v) for v in (polar or cartesian).groups()]
    largest = abs(numbers[0]) if polar else float(np.linalg.norm(numbers))
    if not np.all(np.isfinite(numbers)) or largest > MAX_FIELD_MT:
        raise argparse.ArgumentTypeError(
            f"{text!r}: fields are given in mT here (35.5 mT as 35.5), up to "
            f"{MAX_FIELD_MT:g} mT in magnitude"
        )
    if polar:
        return in_plane_field(*numbers)
    return np.array(numbers) * 1e-3


def system_name(text):
    """Return a system name: a Python identifier, as micromagneticmodel requires.

    ``--name ""`` fell back to the model's problem without a word.
    """
    if not text.isidentifier() or keyword.iskeyword(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a system name: letters, digits and _, not starting "
            "with a digit and no Python keyword (micromagneticmodel's rule), e.g. "
            "sp4_run2"
        )
    return text


def json_object(text):
    """Parse a JSON object (model hyper-parameters)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON object {{...}}")
    return value


def user_path(value):
    """Return a path argument with ``~`` expanded, as a shell would outside quotes.

    ``--out=~/runs`` reaches the program unexpanded; without this it made a
    folder named ``~`` in the current one.
    """
    return os.path.expanduser(value)
