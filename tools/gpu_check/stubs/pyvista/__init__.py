"""Device-check stand-in for pyvista (3D plotting and VTK files, never used there).

vtk's wheel (140 MB) cannot travel to the GPU machine; discretisedfield and
magnum.np import pyvista/vtk at import time only for plotting and VTK export.
"""


def __getattr__(name):
    raise ImportError(f"pyvista.{name}: pyvista is not installed on this machine")
