"""Training data: field domains, the data-tensor store, and generation."""

from .domains import DOMAINS as DOMAINS
from .domains import FieldDomain as FieldDomain
from .domains import in_plane_field as in_plane_field
from .domains import sp4_field1_domain as sp4_field1_domain
from .domains import sp4_field2_domain as sp4_field2_domain

__all__ = [
    "DOMAINS",
    "FieldDomain",
    "in_plane_field",
    "sp4_field1_domain",
    "sp4_field2_domain",
]
