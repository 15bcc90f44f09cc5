"""Progress bars that suit where the output goes: terminal, notebook or log file.

In a terminal and in Jupyter these are ``tqdm.auto`` bars. Written to a file or a
pipe (a batch job's log, ``nohup``, ``... 2>&1 | tee``) a redrawn bar becomes one
ever-longer line of carriage returns and cursor movements; there each bar writes
a plain line instead, at most every :data:`LOG_INTERVAL` seconds and when it
ends, e.g. ``simulations:  40% 120/300 [07:51<11:47, 3.93s/sim, failed=0]``.
"""

import re
import sys

import tqdm.auto
import tqdm.std

LOG_INTERVAL = 30.0
"""Seconds between two lines of a progress bar written to a log file."""

_LOG_FORMAT = (
    "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} "
    "[{elapsed}<{remaining}, {rate_fmt}{postfix}]"
)
_LOG_NO_ETA_FORMAT = (
    "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
)
_NO_ETA_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _LogLines:
    """A text stream for tqdm that turns each redraw into one plain line."""

    def __init__(self, stream):
        self.stream = stream
        self.last = None

    def write(self, text):
        for part in _ESCAPE.sub("", text).replace("\n", "\r").split("\r"):
            part = part.strip()
            if part and part != self.last:
                self.stream.write(part + "\n")
                self.last = part

    def flush(self):
        self.stream.flush()


class _LogBar(tqdm.std.tqdm):
    """A log bar: ``set_postfix`` values wait for its next line.

    A loss or a count set each epoch or simulation would write a line each;
    ``set_postfix_str`` (a new stage) still writes one at once.
    """

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):  # noqa: ARG002
        super().set_postfix(ordered_dict, refresh=False, **kwargs)


def _interactive(stream):
    """Whether ``stream`` is a terminal or a Jupyter / IPython kernel's output."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def progress_bar(*, desc="", eta=True, **kwargs):
    """Return a tqdm bar: ``tqdm.auto`` where it is seen live, plain lines in a log.

    Parameters
    ----------
    desc : str
        What is counted (shown before the count).
    eta : bool
        Show the estimated time left and the rate (default). ``False`` for steps
        of very unequal length (a fit's stages), where both mislead.
    **kwargs
        As for ``tqdm.tqdm`` (``total``, ``unit``, ``disable``, ``leave``, ...).
        Written to a log, a bar always leaves its last line and is redrawn at
        most every :data:`LOG_INTERVAL` seconds.
    """
    if not eta and kwargs.get("total"):
        kwargs.setdefault("bar_format", _NO_ETA_FORMAT)
    if _interactive(sys.stderr):
        return tqdm.auto.tqdm(desc=desc, **kwargs)
    kwargs.update(
        file=_LogLines(sys.stderr),
        mininterval=LOG_INTERVAL,
        maxinterval=LOG_INTERVAL,  # tqdm's monitor would force a line every 10 s
        leave=True,
        ascii=True,
        dynamic_ncols=False,
    )
    if kwargs.get("total"):
        kwargs.setdefault("bar_format", _LOG_FORMAT)
        if kwargs["bar_format"] == _NO_ETA_FORMAT:
            kwargs["bar_format"] = _LOG_NO_ETA_FORMAT
    return _LogBar(desc=desc or "progress", **kwargs)


def fit_stages_bar(verbose, total=3):
    """Return the bar over a model fit's stages, shown with ``verbose``.

    Without a time left: the stages take very unequal times. Gone when done.
    """
    return progress_bar(
        total=total,
        desc="fit",
        unit="stage",
        disable=not verbose,
        leave=False,
        eta=False,
    )
