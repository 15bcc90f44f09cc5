"""Stand-in for vtkmodules.util (see pyvista/__init__.py beside it)."""
