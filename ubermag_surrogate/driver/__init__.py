"""The drop-in Ubermag driver: predictions of a surrogate as ``TimeDriver`` drives."""

from .request import DriveRequest as DriveRequest
from .request import read_request as read_request
from .request import zeeman_field as zeeman_field
from .surrogate_driver import SurrogateDriver as SurrogateDriver

__all__ = ["DriveRequest", "SurrogateDriver", "read_request", "zeeman_field"]
