"""Stand-in for vtkmodules.util.numpy_support: any name raises ImportError."""


def __getattr__(name):
    raise ImportError(f"vtk is not installed on this machine ({name})")
