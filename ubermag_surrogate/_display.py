"""How result objects show themselves: their report in Jupyter, one line in repr."""


class ReportDisplay:
    """Mixin for results whose ``str`` is a report of several lines.

    IPython and Jupyter show ``str(self)`` for a result left at the end of a cell
    (not the arrays it holds); ``repr`` is the one line of :meth:`_one_line`, for
    logs and containers. Subclasses define ``__str__`` and ``_one_line`` (and no
    ``__repr__``: IPython would prefer a class's own ``__repr__`` to this mixin's
    ``_repr_pretty_``).
    """

    def _one_line(self):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self._one_line()})"

    def _repr_pretty_(self, printer, cycle):
        if cycle:
            printer.text(f"{type(self).__name__}(...)")
        elif printer.indentation:  # inside a list or dict shown by IPython
            printer.text(repr(self))
        else:
            printer.text(str(self))
