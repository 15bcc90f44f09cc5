"""Problems: a user's system factory, its cached relaxed state, its training store."""

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np
import pytest
from helpers import two_regions

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


def _anisotropic(K, axis="field", boundary=50e-9):
    """A 100 x 50 x 5 nm element, anisotropy per cell (a Field) or per subregion."""

    def factory():
        mesh = df.Mesh(
            p1=(0, 0, 0),
            p2=(100e-9, 50e-9, 5e-9),
            cell=(10e-9, 10e-9, 5e-9),
            subregions={"left": df.Region(p1=(0, 0, 0), p2=(boundary, 50e-9, 5e-9))},
        )
        system = mm.System(name="aniso")
        if axis == "field":  # K in the left part, K / 2 in the rest
            K_value = df.Field(
                mesh, nvdim=1, value=lambda p: K if p[0] < boundary else K / 2
            )
        else:
            K_value = {"left": K, "default": 0.0}
        system.energy = (
            mm.Exchange(A=1.3e-11)
            + mm.Demag()  # the shape favours x, a strong anisotropy y
            + mm.UniaxialAnisotropy(K=K_value, u=(0, 1, 0))
        )
        system.dynamics = mm.Precession(gamma0=mm.consts.gamma0) + mm.Damping(alpha=0.5)
        system.m = df.Field(mesh, nvdim=3, value=(1, 0.1, 0), norm=8e5)
        return system

    return factory


def test_per_cell_parameters_are_described_by_their_values():
    # a Field's repr shows only its mesh and a dict's says nothing of where its
    # subregions lie: both were described alike for other values, so a cached
    # relaxed state and a store were shared between other materials
    materials = [(1e3, "field", 50e-9), (1e6, "field", 50e-9), (1e6, "dict", 50e-9)]
    materials.append((1e6, "dict", 30e-9))  # the same dict, another subregion

    def descriptions():  # each from factories made afresh
        return [
            Problem("aniso", _anisotropic(*args)).metadata()["material"]["energy"]
            for args in materials
        ]

    first = descriptions()
    assert len(set(first)) == 4
    assert "K='per-cell values 500 to 1000, sha256:" in first[0]
    assert descriptions() == first  # the same values: the same description


def test_the_cache_tells_materials_apart_and_keeps_subregions():
    weak = Problem("aniso", _anisotropic(1e3)).initial_state(embedded)
    strong = Problem("aniso", _anisotropic(1e6)).initial_state(embedded)
    mean = {k: m.orientation.mean() for k, m in (("weak", weak), ("strong", strong))}
    assert abs(mean["strong"][1]) > 0.9 > abs(mean["weak"][1])  # along the easy axis
    # from the cache: on the factory's mesh (subregions kept), no stray files
    problem = Problem("aniso", _anisotropic(1e6, axis="dict"))
    first, cached = problem.initial_state(embedded), problem.initial_state(embedded)
    np.testing.assert_array_equal(first.array, cached.array)
    assert set(cached.mesh.subregions) == {"left"}
    assert not list(cache_dir().glob("*.json")) + list(cache_dir().glob(".*"))


def test_a_damaged_cache_file_is_replaced():
    problem = Problem("element", _element((1, 0.5, 0), "bar"))
    state = problem.initial_state(embedded)
    (path,) = [
        p
        for p in cache_dir().glob("element-*.omf")
        if np.array_equal(df.Field.from_file(str(p)).array, state.array)
    ]
    path.write_bytes(path.read_bytes()[:700])  # cut short
    with pytest.warns(RuntimeWarning, match="cannot be read .* relaxing again"):
        again = problem.initial_state(embedded)
    np.testing.assert_allclose(again.array, state.array, atol=1e-6 * 8e5)
    np.testing.assert_array_equal(df.Field.from_file(str(path)).array, again.array)


def test_the_factory_is_described_as_it_is_now():
    settings = {"A": 1.3e-11}

    def factory():  # reads a notebook's variable, as notebooks do
        system = _element((1, 0, 0), "bar")()
        system.energy = mm.Exchange(A=settings["A"]) + mm.Demag()
        return system

    problem = Problem("element", factory)
    before = problem.metadata()
    settings["A"] = 3e-11  # changed after the problem was made
    assert "A=3e-11" in problem.metadata()["material"]["energy"]
    assert problem.metadata() != before
    assert problem._cache_key("embedded", factory()) != problem._cache_key(
        "embedded", _element((1, 0, 0), "bar")()
    )


def test_factories_that_cannot_give_trajectories_are_refused():
    def without_dynamics():
        system = _element((1, 0, 0), "disk")()
        system.dynamics = mm.Dynamics()
        return system

    def scalar_m():
        system = _element((1, 0, 0), "disk")()
        system.m = df.Field(system.m.mesh, nvdim=1, value=8e5)
        return system

    def unit_vectors():  # m without norm=Ms: |M| = 1 A/m
        system = _element((1, 0, 0), "disk")()
        system.m = df.Field(system.m.mesh, nvdim=3, value=(1, 0, 0))
        return system

    with pytest.raises(ValueError, match="no dynamics"):
        Problem("element", without_dynamics)
    with pytest.raises(ValueError, match="nvdim=1"):
        Problem("element", scalar_m)
    with pytest.warns(UserWarning, match="Ms is at most 1 A/m: .*norm=Ms"):
        Problem("element", unit_vectors)
    # what is no problem at all, said by name
    with pytest.raises(ValueError, match="non-empty name, got ''"):
        Problem("", without_dynamics)
    with pytest.raises(TypeError, match="system_factory must be callable"):
        Problem("element", _element((1, 0, 0), "disk")())
    with pytest.raises(TypeError, match=r"returned Mesh, not mm\.System"):
        Problem("element", lambda: _element((1, 0, 0), "disk")().m.mesh)
    system = _element((1, 0, 0), "disk")()
    system.m = None
    with pytest.raises(TypeError, match="must return an mm.System with m set"):
        Problem("element", lambda: system)


def test_a_model_of_per_cell_material_drives_its_own_system(tmp_path):
    from ubermag_surrogate import SurrogateDriver
    from ubermag_surrogate.material import UnreadableTermsError
    from ubermag_surrogate.models import KernelSurrogate

    problem = Problem("aniso", _anisotropic(1e6))
    fields = [[-0.03, 0.002 * i, 0.0] for i in range(6)]
    args = {"t": 2e-11, "n": 2, "calculator": "embedded", "progress": False}
    generate(problem, fields, store=tmp_path / "a.zarr", **args)
    model = KernelSurrogate(
        n_components=4,
        embedding_rank=12,
        preimage_rank=12,
        integrator_rank=10,
        integrator_segments=1,
    ).fit(tmp_path / "a.zarr")
    # its training system, from the factory: the same per-cell values
    system = problem.system_for(fields[2], problem.initial_state(embedded), "drive")
    SurrogateDriver(model=model).drive(system, t=2e-11, n=2, dirname=tmp_path)
    # another anisotropy per cell: refused, not answered for the trained one
    other = Problem("aniso", _anisotropic(2e6))
    system = other.system_for(fields[2], problem.initial_state(embedded), "other")
    with pytest.raises(ValueError, match="material differs .*UniaxialAnisotropy: K"):
        SurrogateDriver(model=model).drive(system, t=2e-11, n=2, dirname=tmp_path)
    # the record keeps a hash of the values only: the factory builds the system
    with pytest.raises(UnreadableTermsError, match="K varied per cell .*factory"):
        model.system()


def test_exchange_dicts_are_described_with_how_they_couple_subregions():
    # oommfc's pair keys are described (not refused), and the coupling between
    # subregions ("default", "r1:r2") tells dicts of equal per-cell values apart
    dicts = [
        {"r1": 1e-11, "r2": 1e-11},
        {"r1": 1e-11, "r2": 1e-11, "default": 1e-11},
        {"r1": 1e-11, "r2": 1e-11, "r1:r2": 5e-12},
    ]
    described = [
        Problem("paired", two_regions(A)).metadata()["material"]["energy"]
        for A in dicts
    ]
    assert len(set(described)) == 3


def test_a_factory_without_energy_terms_is_recorded_as_ubermag_writes_it():
    def macrospin():
        system = two_regions(1e-11)()
        system.energy = mm.Energy()  # the swept Zeeman field is its only energy
        return system

    assert Problem("m", macrospin).metadata()["material"]["energy"] == "Energy()"


def test_terms_of_one_type_are_each_checked_in_any_order():
    # two anisotropies were merged into one dict entry: a changed first term
    # passed the driver's check, and the system could not be rebuilt
    from ubermag_surrogate import material

    def energy(*terms):
        container = mm.Energy()
        for K, u, name in terms:
            container += mm.UniaxialAnisotropy(K=K, u=u, name=name)
        return material.describe(container)

    trained = energy((1e4, (1, 0, 0), "bulk"), (2e4, (0, 1, 0), "surface"))
    swapped = energy((2e4, (0, 1, 0), "surface"), (1e4, (1, 0, 0), "bulk"))
    assert material.differences(trained, swapped) == []
    changed = energy((5e5, (1, 0, 0), "bulk"), (2e4, (0, 1, 0), "surface"))
    assert material.differences(trained, changed) == [
        "UniaxialAnisotropy 1: K = 500000.0, the model was trained with 10000.0"
    ]
    assert material.differences(trained, energy((1e4, (1, 0, 0), "bulk"))) == [
        "1 UniaxialAnisotropy terms, the model was trained with 2"
    ]
    rebuilt = mm.Energy()
    for term in material.build(trained):  # one name per term, as a system needs
        rebuilt += term
    assert material.differences(trained, material.describe(rebuilt)) == []


def test_per_cell_parameters_describe_alike_when_their_values_agree():
    from ubermag_surrogate import material

    mesh = df.Mesh(
        p1=(0, 0, 0),
        p2=(40e-9, 10e-9, 5e-9),
        cell=(10e-9, 10e-9, 5e-9),
        subregions={"left": df.Region(p1=(0, 0, 0), p2=(20e-9, 10e-9, 5e-9))},
    )

    def damping(alpha):
        return material.describe(mm.Dynamics() + mm.Damping(alpha=alpha), mesh=mesh)

    # one value on every cell is that value, however it is given
    uniform = [0.5, df.Field(mesh, nvdim=1, value=0.5), {"left": 0.5, "default": 0.5}]
    assert {damping(alpha) for alpha in uniform} == {"Damping(alpha=0.5)"}
    # the same values per cell as a dict or a Field; the range is shown
    as_dict = damping({"left": 0.3, "default": 0.5})
    as_field = damping(
        df.Field(mesh, nvdim=1, value=lambda p: 0.3 if p[0] < 20e-9 else 0.5)
    )
    assert as_dict == as_field
    assert "alpha='per-cell values 0.3 to 0.5, sha256:" in as_dict
    assert material.differences(as_dict, damping(0.5)) == [
        f"Damping: alpha = 0.5, the model was trained with {as_dict[14:-1]}"
    ]


def test_anisotropies_of_equal_physics_are_the_same_material():
    # K1 for K, K2 = 0, or an axis of another length or sign were refused as
    # another material (by the driver, and when appending to a store), though
    # OOMMF and the embedded calculator compute the same energy for them
    from ubermag_surrogate import material

    def energy(**params):
        return material.describe(mm.Energy() + mm.UniaxialAnisotropy(**params))

    trained = energy(K=2e4, u=(1, 0, 0))
    for same in (
        energy(K1=2e4, u=(1, 0, 0)),
        energy(K1=2e4, K2=0, u=(1, 0, 0)),
        energy(K=2e4, u=(2, 0, 0)),
        energy(K=2e4, u=(-1, 0, 0)),
    ):
        assert material.differences(trained, same) == [], same
        assert material.same_material(
            {"energy": trained, "dynamics": ""}, {"energy": same, "dynamics": ""}
        )
    assert material.differences(trained, energy(K=2e4, u=(1, 1, 0))) == [
        "UniaxialAnisotropy: u = (0.7071067811865475, 0.7071067811865475, 0.0), "
        "the model was trained with (1.0, 0.0, 0.0)"
    ]
    assert material.differences(trained, energy(K1=2e4, K2=1e3, u=(1, 0, 0))) == [
        "UniaxialAnisotropy: K2 = 1000.0, the model was trained with None"
    ]
