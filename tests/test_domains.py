import numpy as np
import pytest

from ubermag_surrogate.data import (
    FieldDomain,
    in_plane_field,
    sp4_field1_domain,
    sp4_field2_domain,
)
from ubermag_surrogate.problems import sp4


def test_named_domains_hold_their_sp4_field():
    assert sp4_field1_domain.contains(np.array(sp4.FIELD1)).item()
    assert sp4_field2_domain.contains(np.array(sp4.FIELD2)).item()
    assert not sp4_field1_domain.contains(np.array(sp4.FIELD2)).item()
    magnitude, angle, bz = sp4_field1_domain.coordinates(np.array(sp4.FIELD1))[0]
    assert magnitude == pytest.approx(24.973, abs=1e-3)
    assert angle == pytest.approx(170.085, abs=1e-3)
    assert bz == 0


@pytest.mark.parametrize("method", ["uniform", "sobol", "lhs"])
def test_samples_lie_in_the_domain_and_are_seeded(method):
    fields = sp4_field2_domain.sample(64, method=method, seed=3)
    assert fields.shape == (64, 3)
    assert sp4_field2_domain.contains(fields).all()
    assert np.all(fields[:, 2] == 0)
    coords = sp4_field2_domain.coordinates(fields)
    # samples spread over the whole box, not a corner of it
    assert coords[:, 0].min() < 32 and coords[:, 0].max() > 38
    assert coords[:, 1].min() < 184 and coords[:, 1].max() > 196
    assert np.array_equal(fields, sp4_field2_domain.sample(64, method=method, seed=3))
    assert not np.array_equal(
        fields, sp4_field2_domain.sample(64, method=method, seed=4)
    )


def test_uniform_prefix_is_stable_so_larger_runs_append():
    small = sp4_field2_domain.sample(10, seed=0)
    large = sp4_field2_domain.sample(25, seed=0)
    assert np.array_equal(small, large[:10])


def test_sobol_is_more_even_than_uniform():
    def largest_gap(fields):
        coords = sp4_field2_domain.coordinates(fields)[:, 0]
        return np.max(np.diff(np.sort(np.r_[30, coords, 40])))

    assert largest_gap(sp4_field2_domain.sample(32, "sobol", seed=0)) < largest_gap(
        sp4_field2_domain.sample(32, "uniform", seed=0)
    )


def test_box_domain():
    domain = FieldDomain(box=((-40, -30), (-5, 5), (0, 0)), name="box")
    fields = domain.sample(20, seed=1)
    assert domain.contains(fields).all()
    assert np.all((fields[:, 0] >= -0.040) & (fields[:, 0] <= -0.030))
    assert FieldDomain.from_dict(domain.to_dict()) == domain


def test_distance_outside_says_by_how_much():
    outside = sp4_field2_domain.distance_outside(np.array([[-0.045, 0, 0.001]]))
    assert outside[0] == pytest.approx([5.0, 0.0, 1.0])


def test_a_zero_field_has_no_angle_to_be_outside_of():
    from_zero = FieldDomain((0, 50), (30, 60))
    fields = np.array([[0, 0, 0], [0.01 * np.cos(0.8), 0.01 * np.sin(0.8), 0]])
    assert from_zero.contains(fields).tolist() == [True, True]
    assert from_zero.outside_text(fields)[1] is None
    # outside by its magnitude only, where the magnitude range excludes 0
    assert sp4_field2_domain.distance_outside([[0, 0, 0]])[0] == pytest.approx(
        [30, 0, 0]
    )


def test_in_plane_field_inverts_coordinates():
    fields = sp4_field2_domain.sample(16, seed=4)
    magnitude, angle, _ = sp4_field2_domain.coordinates(fields).T
    assert np.allclose(in_plane_field(magnitude, angle), fields, rtol=0, atol=1e-15)
    assert in_plane_field(35.0, 90.0) == pytest.approx([0, 0.035, 0], abs=1e-15)
    # broadcasting: one magnitude, several angles
    assert in_plane_field(30, [180, 190, 200]).shape == (3, 3)


def test_neighbours_move_one_coordinate_by_a_fraction_of_its_range():
    fields = in_plane_field([31, 36], [181, 199.5])
    moved = sp4_field2_domain.neighbours(fields, step=0.01)
    assert moved.shape == (2, 4, 3)
    coords = sp4_field2_domain.coordinates(moved.reshape(-1, 3)).reshape(2, 4, 3)
    # 1 % of 10 mT, then 1 % of 20 deg; in the plane
    expected = np.array([[-0.1, 0, 0], [0.1, 0, 0], [0, -0.2, 0], [0, 0.2, 0]])
    original = sp4_field2_domain.coordinates(fields)
    np.testing.assert_allclose(
        coords - original[:, None], np.stack([expected] * 2), atol=1e-12
    )
    # a box with a single Bz: Bz is not moved, Bx and By by 0.5 % of their ranges
    box = FieldDomain(box=[(-40, -30), (-10, 10), (0, 0)])
    moved = box.neighbours([[-0.035, 0.002, 0]])
    np.testing.assert_allclose(
        moved[0] * 1e3 - [-35, 2, 0],
        [[-0.05, 0, 0], [0.05, 0, 0], [0, -0.1, 0], [0, 0.1, 0]],
        atol=1e-12,
    )


@pytest.mark.parametrize(
    ("step", "error"), [(0, ValueError), (1.5, ValueError), ("1%", TypeError)]
)
def test_neighbours_refuse_bad_steps(step, error):
    with pytest.raises(error, match="step"):
        sp4_field2_domain.neighbours([[-0.035, 0, 0]], step=step)


def test_round_trip_through_dict():
    assert FieldDomain.from_dict(sp4_field1_domain.to_dict()) == sp4_field1_domain


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"magnitude": (40, 30), "angle": (180, 200)}, ValueError, "reversed"),
        ({"magnitude": (30, 40), "angle": (200, 180)}, ValueError, "reversed"),
        (
            {"magnitude": (30, 40), "angle": (350, 10)},
            ValueError,
            r"across 0 deg .* angle=\(350, 370\)",
        ),
        ({"box": 5}, ValueError, "box needs three"),
        ({"magnitude": (-5, 40), "angle": (180, 200)}, ValueError, "below 0"),
        ({"magnitude": (30, 40), "angle": (0, 720)}, ValueError, "360"),
        ({"magnitude": (30, 40)}, ValueError, "both magnitude and angle"),
        ({}, ValueError, "either magnitude and angle"),
        ({"magnitude": 30, "angle": (180, 200)}, TypeError, "pair of numbers"),
        ({"box": ((0, 1), (0, 1))}, ValueError, "three"),
        ({"magnitude": (30, float("nan")), "angle": (0, 1)}, ValueError, "finite"),
    ],
)
def test_bad_domains(kwargs, error, match):
    with pytest.raises(error, match=match):
        FieldDomain(**kwargs)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0,), ValueError, "n must be positive"),
        ((-3,), ValueError, "n must be positive"),
        ((2.5,), TypeError, "integer"),
        ((4, "random"), ValueError, "Unknown sampling method"),
        ((4, "uniform", -1), ValueError, "seed must be None or an integer"),
        ((4, "sobol", 1.5), ValueError, "seed must be None or an integer"),
    ],
)
def test_bad_sampling(args, error, match):
    with pytest.raises(error, match=match):
        sp4_field2_domain.sample(*args)


def test_a_polar_domain_holds_an_out_of_plane_bias(tmp_path):
    # a polar sweep with a fixed Bz, as the refusal of a factory's own Zeeman term
    # advises, could not be expressed: every biased field lay "outside"
    from helpers import two_regions

    from ubermag_surrogate.data.generate import generate
    from ubermag_surrogate.problems import Problem

    plain = FieldDomain((30, 40), (170, 190))
    biased = FieldDomain((30, 40), (170, 190), bz=(12.6, 12.6), name="biased")
    fields = biased.sample(5, method="sobol", seed=1)
    np.testing.assert_allclose(fields[:, 2], 12.6e-3)
    # in plane (bz (0, 0)): the samples of before
    in_plane = FieldDomain((30, 40), (170, 190), bz=(0, 0))
    assert np.array_equal(in_plane.sample(5, "sobol", 1), plain.sample(5, "sobol", 1))
    assert FieldDomain((30, 40), (170, 190), bz=(0, 0)).to_dict() == plain.to_dict()
    assert biased.contains(fields).all() and not plain.contains(fields).any()
    assert FieldDomain.from_dict(biased.to_dict()) == biased
    assert biased.ranges_text() == (
        "in-plane |mu0 H| 30-40 mT at 170-190 deg, Bz 12.6 mT"
    )
    assert biased.coordinates(fields)[:, 2] == pytest.approx(12.6)
    moved = biased.neighbours(fields[:1])[0]  # Bz, of zero width, is not moved
    assert len(moved) == 4 and np.allclose(moved[:, 2], 12.6e-3)
    swept = FieldDomain((30, 40), (170, 190), bz=(-5, 5))
    assert len(swept.neighbours(fields[:1])[0]) == 6
    assert swept.distance_outside([[0.035, 0, 0.008]])[0, 2] == pytest.approx(3)
    # generate refuses fields outside by how far, without the mT-as-T hint of
    # fields that are far too strong
    problem = Problem("bias", two_regions(1.3e-11), relax=False)
    with pytest.raises(ValueError, match=r"furthest by \(0 mT, 0 deg, 12.6 mT\)\.$"):
        generate(problem, fields, t=1e-12, n=1, store=tmp_path / "s.zarr", domain=plain)
    with pytest.raises(ValueError, match="bz is the out-of-plane range"):
        FieldDomain(box=((0, 1), (0, 1), (0, 1)), bz=(1, 1))
