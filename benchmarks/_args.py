"""Argument types of the benchmarks: a mistyped option is an argparse message.

The package's own (``ubermag_surrogate.cli.arguments``) where they fit, and lists
of integers and of JSON objects.
"""

import argparse
import json
import pathlib

from ubermag_surrogate.cli.arguments import json_object, positive_int

__all__ = ["existing_file", "int_list", "json_list", "json_object", "positive_int"]


def int_list(text):
    """Parse comma-separated integers, e.g. ``50,100,150``."""
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers, e.g. 50,100"
        ) from None


def json_list(text):
    """Parse a JSON list of objects, e.g. ``'[{}, {"integrator_rank": 1000}]'``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON: {exc}") from None
    if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON list of {{...}}")
    return value


def existing_file(text):
    """A path that names an existing file."""
    if not pathlib.Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: no such file")
    return text
