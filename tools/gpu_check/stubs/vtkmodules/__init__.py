"""Device-check stand-in for vtk (see pyvista/__init__.py beside it)."""
