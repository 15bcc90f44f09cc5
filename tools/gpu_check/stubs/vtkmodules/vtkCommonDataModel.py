"""Stand-in for vtkmodules.vtkCommonDataModel: its classes raise ImportError."""


class _Missing:
    def __init__(self, *args, **kwargs):
        raise ImportError("vtk is not installed on this machine")


def __getattr__(name):
    return _Missing
