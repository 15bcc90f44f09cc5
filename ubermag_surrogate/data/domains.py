"""Field domains and sampling of the external fields that training data covers.

A :class:`FieldDomain` is either an in-plane polar box (magnitude of mu0 H in mT x
angle in the film plane in degrees, measured from +x towards +y), as in the seed
paper, or a Cartesian box in (Bx, By, Bz) (mT). Fields are returned as mu0 H in
tesla, shape ``(n, 3)``.

Examples
--------
>>> from ubermag_surrogate.data import sp4_field2_domain
>>> fields = sp4_field2_domain.sample(4, method="sobol", seed=1)
>>> fields.shape
(4, 3)
>>> bool(sp4_field2_domain.contains(fields).all())
True
"""

import numbers
import warnings

import numpy as np
from scipy.stats import qmc

from .._checks import check_seed

METHODS = ("uniform", "sobol", "lhs")


def in_plane_field(magnitude, angle):
    """Return mu0 H (T) of in-plane fields given in a polar domain's coordinates.

    Parameters
    ----------
    magnitude : float or array_like
        |mu0 H| (mT).
    angle : float or array_like
        Angle in the film plane (deg), from +x towards +y.

    Returns
    -------
    numpy.ndarray
        mu0 H (T), shape ``(..., 3)`` (the broadcast shape of the inputs, then 3).

    Examples
    --------
    >>> from ubermag_surrogate.data import in_plane_field
    >>> in_plane_field(36, 180).round(6).tolist()
    [-0.036, 0.0, 0.0]
    """
    magnitude, angle = np.broadcast_arrays(
        np.asarray(magnitude, dtype=float) * 1e-3, np.deg2rad(angle)
    )
    return np.stack(
        [magnitude * np.cos(angle), magnitude * np.sin(angle), 0 * magnitude],
        axis=-1,
    )


def in_plane_angle(fields, domain=None):
    """Return the in-plane angles (deg) of fields mu0 H (T), ``(k,)``.

    As ``domain`` counts them where it is polar (unwrapped around its centre: a
    domain across 0 deg runs from -10 to 10, not 350 to 10); in [0, 360) for a box
    domain or none.
    """
    fields = np.atleast_2d(np.asarray(fields, dtype=float))
    if domain is not None and domain.kind == "polar":
        return domain.coordinates(fields)[:, 1]
    return np.rad2deg(np.arctan2(fields[:, 1], fields[:, 0])) % 360


def _check_range(name, value, lower_bound=None):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a (low, high) pair of numbers, not {value!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name}={value!r} must be finite.")
    if low > high:
        raise ValueError(f"{name}=({low:g}, {high:g}) is reversed: low > high.")
    if lower_bound is not None and low < lower_bound:
        raise ValueError(f"{name}=({low:g}, {high:g}) must not go below {lower_bound}.")
    return (low, high)


class FieldDomain:
    """A box of external fields, polar in the film plane or Cartesian.

    Parameters
    ----------
    magnitude : tuple of float, optional
        Range of the in-plane |mu0 H| (mT) of a polar domain (with ``bz``, the
        magnitude of (Bx, By) only).
    angle : tuple of float, optional
        Range of the in-plane angle (deg) from +x towards +y.
    box : tuple of three tuples, optional
        Cartesian ranges ((Bx), (By), (Bz)) in mT, instead of magnitude and angle.
    bz : tuple of float, optional
        Range of the out-of-plane Bz (mT) of a polar domain (default (0, 0): in
        plane). A constant bias is a range of zero width, e.g. ``bz=(12.6, 12.6)``.
    name : str, optional
        A label stored with the data.

    Raises
    ------
    ValueError
        For reversed, non-finite or negative-magnitude ranges, or a domain given
        both ways or neither.
    """

    def __init__(self, magnitude=None, angle=None, *, box=None, bz=None, name=None):
        polar = magnitude is not None or angle is not None
        if polar == (box is not None):
            raise ValueError(
                "Give either magnitude and angle (polar, in-plane) or box (Cartesian)."
            )
        if bz is not None and not polar:
            raise ValueError(
                "bz is the out-of-plane range of a polar domain; a box gives Bz as "
                "its third range."
            )
        if polar:
            if magnitude is None or angle is None:
                raise ValueError("A polar domain needs both magnitude and angle.")
            self.kind = "polar"
            self.magnitude = _check_range("magnitude", magnitude, lower_bound=0)
            try:
                self.angle = _check_range("angle", angle)
            except ValueError as exc:
                if "reversed" in str(exc):  # e.g. (350, 10) for a range across 0
                    raise ValueError(
                        f"{exc} For a range across 0 deg give the upper end above "
                        f"360: angle=({float(angle[0]):g}, {float(angle[1]) + 360:g})."
                    ) from None
                raise
            if self.angle[1] - self.angle[0] > 360:
                raise ValueError(f"angle={angle!r} spans more than 360 deg.")
            self.bz = (0.0, 0.0) if bz is None else _check_range("bz", bz)
            # in plane: two coordinates (and the samples of domains without bz)
            ranges = [self.magnitude, self.angle]
            self.bounds = np.array(ranges + ([self.bz] if any(self.bz) else []))
        else:
            if not isinstance(box, list | tuple | np.ndarray) or len(box) != 3:
                raise ValueError(f"box needs three (low, high) ranges, got {box!r}.")
            self.kind = "box"
            self.box = tuple(_check_range(f"box[{i}]", r) for i, r in enumerate(box))
            self.bounds = np.array(self.box)
        self.name = name

    def __repr__(self):
        if self.kind == "polar":
            args = f"magnitude={self.magnitude}, angle={self.angle}"
            if any(self.bz):
                args += f", bz={self.bz}"
        else:
            args = f"box={self.box}"
        name = f", name={self.name!r}" if self.name else ""
        return f"FieldDomain({args}{name})"

    def __eq__(self, other):
        return isinstance(other, FieldDomain) and self.to_dict() == other.to_dict()

    def ranges_text(self, bounds=None, fmt="g"):
        """Return the ranges as text, in mT (and deg).

        Parameters
        ----------
        bounds : array_like, optional
            ``(low, high)`` per coordinate, in the domain's coordinates (default:
            the domain's own; e.g. the range some fields cover).
        fmt : str, optional
            Format of each number (default ``"g"``).

        Examples
        --------
        >>> from ubermag_surrogate.data import sp4_field2_domain
        >>> sp4_field2_domain.ranges_text()
        '|mu0 H| 30-40 mT at 180-200 deg'
        """
        b = self.bounds if bounds is None else np.asarray(bounds)
        if self.kind == "polar":
            text = (
                f"|mu0 H| {b[0, 0]:{fmt}}-{b[0, 1]:{fmt}} mT at "
                f"{b[1, 0]:{fmt}}-{b[1, 1]:{fmt}} deg"
            )
            if any(self.bz):  # the magnitude is (Bx, By)'s only
                text = f"in-plane {text}"
            if len(b) > 2 and any(self.bz):
                low, high = b[2]
                bz = f"{low:{fmt}}" if low == high else f"{low:{fmt}}-{high:{fmt}}"
                text += f", Bz {bz} mT"
            return text
        return " x ".join(f"[{low:{fmt}}, {high:{fmt}}]" for low, high in b) + " mT"

    def to_dict(self):
        """Return a JSON-serialisable description (see :meth:`from_dict`)."""
        data = {"kind": self.kind, "name": self.name, "units": "mT, deg"}
        if self.kind == "polar":
            data.update(magnitude=list(self.magnitude), angle=list(self.angle))
            if any(self.bz):  # in-plane domains are written as before
                data["bz"] = list(self.bz)
        else:
            data["box"] = [list(r) for r in self.box]
        return data

    @classmethod
    def from_dict(cls, data):
        """Rebuild a domain from :meth:`to_dict` output."""
        if data["kind"] == "polar":
            return cls(
                data["magnitude"],
                data["angle"],
                bz=data.get("bz"),
                name=data.get("name"),
            )
        return cls(box=data["box"], name=data.get("name"))

    def _from_unit(self, u):
        """Map points of the unit cube (n, d) into fields mu0 H (T), shape (n, 3)."""
        low, high = self.bounds[:, 0], self.bounds[:, 1]
        return self._to_fields(low + u * (high - low))

    def _to_fields(self, coords):
        """Fields mu0 H (T), ``(..., 3)``, of domain coordinates (:meth:`coordinates`).

        Polar coordinates may omit the third one (Bz, default 0).
        """
        if self.kind == "box":
            return coords * 1e-3
        fields = in_plane_field(coords[..., 0], coords[..., 1])
        if coords.shape[-1] > 2:
            fields[..., 2] = coords[..., 2] * 1e-3
        return fields

    def sample(self, n, method="uniform", seed=0):
        """Sample ``n`` fields.

        Parameters
        ----------
        n : int
            Number of fields (positive).
        method : str, optional
            ``"uniform"`` (independent uniform draws, as the seed paper),
            ``"sobol"`` (scrambled Sobol sequence) or ``"lhs"`` (Latin hypercube),
            the latter two from ``scipy.stats.qmc``.
        seed : int or None, optional
            Random seed (default 0); the same seed gives the same fields. None
            draws other fields on each call (from the operating system's entropy).

        Returns
        -------
        numpy.ndarray
            mu0 H (T), shape ``(n, 3)``.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"n must be an integer, not {type(n).__name__}.")
        if n <= 0:
            raise ValueError(f"Cannot sample n={n} fields: n must be positive.")
        if method not in METHODS:
            raise ValueError(
                f"Unknown sampling method {method!r}; use one of {METHODS}."
            )
        check_seed("seed", seed)
        d = len(self.bounds)
        if method == "uniform":
            u = np.random.default_rng(seed).random((n, d))
        elif method == "sobol":
            with warnings.catch_warnings():
                # Sobol's balance needs n = 2**k; other n are still low-discrepancy.
                warnings.filterwarnings("ignore", message=".*balance properties.*")
                u = qmc.Sobol(d, scramble=True, seed=seed).random(n)
        else:
            u = qmc.LatinHypercube(d, seed=seed).random(n)
        return self._from_unit(u)

    def coordinates(self, fields):
        """Return the domain coordinates of fields mu0 H (T).

        Polar: (magnitude in mT, angle in deg, out-of-plane Bz in mT); box: (Bx, By,
        Bz) in mT. The angle is unwrapped to lie nearest to the domain's centre.
        """
        fields = np.atleast_2d(np.asarray(fields, dtype=float))
        if fields.shape[-1] != 3:
            raise ValueError(f"Fields need 3 components, got shape {fields.shape}.")
        if self.kind == "box":
            return fields * 1e3
        magnitude = np.hypot(fields[:, 0], fields[:, 1]) * 1e3
        angle = np.rad2deg(np.arctan2(fields[:, 1], fields[:, 0]))
        centre = np.mean(self.angle)
        angle = centre + (angle - centre + 180) % 360 - 180
        return np.stack([magnitude, angle, fields[:, 2] * 1e3], axis=1)

    def neighbours(self, fields, step=0.005):
        """Return the fields moved by +-``step`` of the domain's range per coordinate.

        Parameters
        ----------
        fields : array_like
            mu0 H (T), ``(k, 3)``.
        step : float, optional
            Fraction of each coordinate's range (default 0.005: 0.05 mT and 0.1 deg
            in the seed paper's domain of 30-40 mT and 180-200 deg).

        Returns
        -------
        numpy.ndarray
            mu0 H (T), ``(k, 2 p, 3)``: for each of the ``p`` coordinates whose range
            is more than one value, the field moved down, then up. The moved fields
            may lie just outside the domain.

        Examples
        --------
        >>> from ubermag_surrogate.data import in_plane_field, sp4_field2_domain
        >>> moved = sp4_field2_domain.neighbours(in_plane_field(36, 190))
        >>> sp4_field2_domain.coordinates(moved[0])[:, :2].round(6).tolist()
        [[35.95, 190.0], [36.05, 190.0], [36.0, 189.9], [36.0, 190.1]]
        """
        if isinstance(step, bool) or not isinstance(step, numbers.Real):
            raise TypeError(f"step must be a number, not {step!r}.")
        if not 0 < step < 1:
            raise ValueError(
                f"step={step!r} must lie between 0 and 1 (a fraction of the range)."
            )
        coords = self.coordinates(fields)
        width = self.bounds[:, 1] - self.bounds[:, 0]
        varying = np.flatnonzero(width > 0)
        moves = np.zeros((2 * varying.size, coords.shape[1]))
        for i, j in enumerate(varying):
            moves[2 * i : 2 * i + 2, j] = (-step * width[j], step * width[j])
        return self._to_fields(coords[:, None, :] + moves)

    def distance_outside(self, fields):
        """How far each field lies outside the domain, per coordinate.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, 3)``: amount outside each range (mT or deg), 0 inside. For a
            polar domain the third entry is Bz's distance from its range ``bz``.
        """
        coords = self.coordinates(fields)
        low, high = self.bounds[:, 0], self.bounds[:, 1]
        d = len(low)
        below = np.clip(low - coords[:, :d], 0, None)
        above = np.clip(coords[:, :d] - high, 0, None)
        outside = below + above
        if self.kind == "polar":
            # a field without in-plane part has no angle: any angle is its own
            outside[coords[:, 0] == 0, 1] = 0
            if d == 2:  # in plane: Bz's range is (0, 0)
                outside = np.column_stack([outside, np.abs(coords[:, 2])])
        return outside

    def contains(self, fields, atol=1e-9):
        """Return a boolean array: which fields lie inside the domain."""
        return np.all(self.distance_outside(fields) <= atol, axis=1)

    def outside_text(self, fields, what="the domain", atol=1e-9):
        """Say how many fields lie outside the domain and how far at most.

        Parameters
        ----------
        fields : array_like
            mu0 H (T), ``(k, 3)``.
        what : str, optional
            How the text names the domain.
        atol : float, optional
            Distances (mT, deg) up to this count as inside.

        Returns
        -------
        outside : numpy.ndarray
            Boolean ``(k,)``: which fields lie outside.
        text : str or None
            None when all lie inside.

        Examples
        --------
        >>> from ubermag_surrogate.data import sp4_field2_domain
        >>> print(sp4_field2_domain.outside_text([[-0.035, 0, 0], [-35.0, 0, 0]])[1])
        ... # doctest: +NORMALIZE_WHITESPACE
        1 of 2 fields lie outside the domain 'sp4_field2' (|mu0 H| 30-40 mT at
        180-200 deg); furthest by (3.496e+04 mT, 0 deg, 0 mT).
        """
        distance = self.distance_outside(fields)
        outside = np.any(distance > atol, axis=1)
        if not outside.any():
            return outside, None
        units = ("mT", "deg", "mT") if self.kind == "polar" else ("mT",) * 3
        worst = distance[outside].max(axis=0)
        by = ", ".join(f"{v:.4g} {u}" for v, u in zip(worst, units, strict=True))
        name = f" {self.name!r}" if self.name else ""
        return outside, (
            f"{outside.sum()} of {len(distance)} fields lie outside {what}{name} "
            f"({self.ranges_text(fmt='.4g')}); furthest by ({by})."
        )


sp4_field1_domain = FieldDomain((20, 30), (160, 180), name="sp4_field1")
"""|mu0 H| in [20, 30] mT at [160, 180] deg, around SP4 field 1 (25 mT, 170.1 deg)."""

sp4_field2_domain = FieldDomain((30, 40), (180, 200), name="sp4_field2")
"""|mu0 H| in [30, 40] mT at [180, 200] deg: the seed paper's domain (SP4 field 2)."""

DOMAINS = {"sp4_field1": sp4_field1_domain, "sp4_field2": sp4_field2_domain}
"""Named domains, as the command line knows them."""
