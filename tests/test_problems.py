"""Problems: a user's system factory, its cached relaxed state, its training store."""

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np
import pytest

from ubermag_surrogate import embedded
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.data.store import StoreMismatchError, TrajectoryStore
from ubermag_surrogate.problems import Problem, cache_dir


def _element(value, shape):
    """A factory: 100 x 100 x 5 nm in 10 nm cells, a disk or a bar of 80 cells."""

    def inside(p):
        if shape == "disk":
            return (p[0] - 50e-9) ** 2 + (p[1] - 50e-9) ** 2 <= (50e-9) ** 2
        return p[0] < 80e-9

    def factory():
        p2, cell = (100e-9, 100e-9, 5e-9), (10e-9, 10e-9, 5e-9)
        mesh = df.Mesh(p1=(0, 0, 0), p2=p2, cell=cell)
        system = mm.System(name="element")
        system.energy = mm.Exchange(A=1.3e-11) + mm.Demag()
        system.dynamics = mm.Precession(gamma0=mm.consts.gamma0) + mm.Damping(alpha=0.5)
        system.m = df.Field(
            mesh,
            nvdim=3,
            value=value,
            norm=lambda p: 8e5 if inside(p) else 0,
            valid="norm",
        )
        return system

    return factory


def _magnetic(m):
    return np.linalg.norm(m.array, axis=-1) > 0


def test_relaxed_state_is_cached_per_starting_state_and_geometry():
    # same name, mesh, material and Ms range (0 and 8e5 A/m): only the starting
    # direction or where the magnet is differ, and each relaxes to its own state
    before = set(cache_dir().glob("element-*.omf"))
    cases = {
        "disk +x": _element((1, 0, 0), "disk"),
        "disk +y": _element((0, 1, 0), "disk"),
        "bar +x": _element((1, 0, 0), "bar"),
    }
    states = {}
    for label, factory in cases.items():
        problem = Problem("element", factory, relax=True)
        states[label] = problem.initial_state(embedded)
        # the relaxed state keeps the factory's geometry
        np.testing.assert_array_equal(_magnetic(states[label]), _magnetic(factory().m))
    assert len(set(cache_dir().glob("element-*.omf")) - before) == 3
    mean = {k: v.array[_magnetic(v)].mean(axis=0) / 8e5 for k, v in states.items()}
    assert mean["disk +x"][0] > 0.9 and mean["disk +y"][1] > 0.9
    assert not np.array_equal(_magnetic(states["disk +x"]), _magnetic(states["bar +x"]))
    # the same problem again: read from the cache, bit for bit
    again = Problem("element", cases["disk +y"], relax=True).initial_state(embedded)
    np.testing.assert_array_equal(again.array, states["disk +y"].array)
    assert len(set(cache_dir().glob("element-*.omf")) - before) == 3


def test_a_store_refuses_trajectories_of_another_geometry_or_start(tmp_path):
    store = tmp_path / "element.zarr"
    field = [[-0.03, 0.005, 0.0]]
    args = {"t": 2e-11, "n": 2, "calculator": "embedded", "progress": False}
    disk = Problem("element", _element((1, 0, 0), "disk"))
    assert generate(disk, field, store=store, **args).completed == 1
    # same name, mesh, material and Ms range: the metadata agree, the data do not
    turned = Problem("element", _element((0, 1, 0), "disk"))
    with pytest.raises(StoreMismatchError, match="start from another state"):
        generate(turned, [[-0.03, 0.0, 0.0]], store=store, **args)
    bar = Problem("element", _element((1, 0, 0), "bar"))
    with pytest.raises(StoreMismatchError, match=r"Ms differs in \d+ of 100 cells"):
        generate(bar, [[-0.03, 0.0, 0.0]], store=store, **args)
    assert TrajectoryStore(store).n_samples == 1
    # the same system appends
    more = generate(disk, [*field, [-0.03, 0.0, 0.0]], store=store, **args)
    assert (more.completed, more.skipped) == (1, 1)


def test_a_factory_with_its_own_zeeman_term_is_refused():
    def biased():
        system = _element((1, 0, 0), "disk")()
        system.energy += mm.Zeeman(H=(0, 0, 1e4), name="bias")
        return system

    with pytest.raises(ValueError, match="put a constant bias into the field domain"):
        Problem("element", biased)
