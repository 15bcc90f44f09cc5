"""Mistakes a user makes at the Python API, found by feeding each entry point them:
each is refused (or flagged) by name, not answered from deep inside numpy, or with
a nonsense result."""

import copy
import warnings

import micromagneticmodel as mm
import numpy as np
import pytest
from helpers import SP4_TEST_DOMAIN, small_system

import ubermag_surrogate as us
from ubermag_surrogate.comparison import compare, evaluate
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.driver import SurrogateDriver
from ubermag_surrogate.lowrank import rbf_block
from ubermag_surrogate.models import (
    ExtrapolationWarning,
    KernelSurrogate,
    mean_m_errors,
    select_hyperparameters,
    split_samples,
)
from ubermag_surrogate.problems import sp4


def test_a_time_drive_of_a_time_not_in_seconds_is_refused(tmp_path):
    # t=1 (meant as 1 ns) started a second of LLG dynamics that never ended
    system = small_system(name="ns")
    with pytest.raises(ValueError, match=r"t=1.0 s is more than 0.001 s.*1 ns is 1e-9"):
        us.embedded.TimeDriver().drive(system, t=1, n=10, dirname=tmp_path)
    assert not (tmp_path / "ns").exists()  # before any folder


def test_a_zeeman_field_given_in_tesla_says_h_is_in_a_per_m(sp4_model, tmp_path):
    system = sp4_model.system(name="tesla")
    system.energy += mm.Zeeman(H=SP4_TEST_DOMAIN.sample(1, seed=1)[0])  # T, not A/m
    with pytest.warns(ExtrapolationWarning, match="Zeeman H given in T") as caught:
        SurrogateDriver(model=sp4_model).drive(system, t=1e-10, n=10, dirname=tmp_path)
    assert "where A/m is due" in str(caught[0].message)
    in_mt = SP4_TEST_DOMAIN.sample(1, seed=1) * 1e3  # mT, as a number of A/m
    with pytest.warns(ExtrapolationWarning, match="Zeeman H given in T"):
        sp4_model.predict(in_mt * mm.consts.mu0)  # B of H = that number of A/m
    # a small field that is no such mistake gets no such hint
    with pytest.warns(ExtrapolationWarning) as caught:
        sp4_model.predict([[0.0, 0.0, 0.0]])
    assert "A/m is due" not in str(caught[0].message)
    # a field in the domain has no such hint (nor any warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sp4_model.predict(SP4_TEST_DOMAIN.sample(1, seed=2))


def test_states_to_encode_and_decode_are_checked(sp4_model, sp4_store):
    states = sp4_store.tensor(field_components=())[3]  # (8, 1500) unit vectors
    assert sp4_model.encode(states).shape == (8, 12)
    with pytest.raises(ValueError, match=r"unit vectors in the store's layout"):
        sp4_model.encode(states * 8e5)  # M in A/m
    with pytest.raises(ValueError, match=r"m must be unit magnetisations \(k, 1500\)"):
        sp4_model.encode(states[:, :-3])
    with pytest.raises(ValueError, match=r"latent must be \(k, 12\)"):
        sp4_model.decode(np.zeros((2, 11)))
    # a model that keeps its states' lengths encodes what it decodes
    free = copy.deepcopy(sp4_model).set_params(normalize=False)
    free._params_at_fit = free._hyperparameters()  # as if fitted so
    own = free.decode(free.encode(states))
    assert not np.allclose(np.linalg.norm(own.reshape(8, 3, -1), axis=1), 1)
    assert free.encode(own).shape == (8, 12)
    # a flat m0 in cells-first order is the trained state read the wrong way
    system = sp4_model.system()
    cells_first = system.m.array.reshape(-1)
    field = SP4_TEST_DOMAIN.sample(1, seed=3)
    with pytest.warns(ExtrapolationWarning, match="Read cells first it is the"):
        sp4_model.predict(field, m0=cells_first)
    with pytest.warns(ExtrapolationWarning) as caught:  # reversed: no layout hint
        sp4_model.predict(field, m0=-system.m.array)
    assert "cells first" not in str(caught[0].message)


def test_snapshots_and_states_are_asked_for_by_index_and_shape(sp4_store, sp4_model):
    assert sp4_store.field(0, -1).mesh.n.tolist() == [50, 10, 1]
    with pytest.raises(IndexError, match=r"time_index=1e-10 .* not a time in s"):
        sp4_store.field(0, 1e-10)
    with pytest.raises(IndexError, match=r"time_index=21 .* in \[0, 20\]"):
        sp4_store.field(0, 21)
    prediction = sp4_model.predict(sp4_store.fields[:1])
    assert sp4_model.to_field(prediction.m[0, -1]).mesh.n.tolist() == [50, 10, 1]
    with pytest.raises(ValueError, match=r"one state of 1500 .* \(1, 21, 1500\)"):
        sp4_model.to_field(prediction.m)


def test_a_system_where_a_problem_is_due_is_refused(tmp_path):
    fields = SP4_TEST_DOMAIN.sample(1, seed=0)
    for wrong in (sp4.system(), sp4.problem):
        with pytest.raises(TypeError, match=r"problem must be a Problem .*sp4.problem"):
            generate(wrong, fields, store=tmp_path / "s.zarr", progress=False)
    assert not (tmp_path / "s.zarr").exists()
    # a calculator name is taken where the module is (as everywhere else)
    problem = sp4.problem(cell=(25e-9, 25e-9, 3e-9))
    m = problem.initial_state("embedded")
    assert m.mesh.n.tolist() == [20, 5, 1]


def test_systems_and_calculators_are_checked_before_any_drive(sp4_model, tmp_path):
    driver = SurrogateDriver(model=sp4_model)
    with pytest.raises(ValueError, match="no magnetisation: set system.m"):
        fields = SP4_TEST_DOMAIN.sample(2, seed=0)
        driver.sweep(mm.System(name="empty"), B=fields, t=1e-10, n=10)
    system = sp4_model.system(name="cmp")
    system.energy += mm.Zeeman(H=SP4_TEST_DOMAIN.sample(1, seed=0)[0] / mm.consts.mu0)
    with pytest.raises(TypeError, match="calculator must be 'auto'.*not None"):
        compare(system, sp4_model, t=1e-10, n=10, calculator=None, dirname=tmp_path)
    with pytest.raises(ValueError, match="no magnetisation"):
        compare(mm.System(name="cmp2"), sp4_model, t=1e-10, n=10, dirname=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no drive folder of either kind


def test_samples_seeds_and_templates_are_checked(sp4_model, sp4_store):
    with pytest.raises(TypeError, match="samples must be a sequence of integer"):
        evaluate(sp4_model, sp4_store, samples=0, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # its training fields
        errors = mean_m_errors(sp4_model, sp4_store, None)  # None: all complete
    assert errors.shape == (8,)
    with pytest.raises(ValueError, match=r"seed must be None or an integer"):
        split_samples(sp4_store, seed=-1)
    with pytest.raises(TypeError, match=r"e\.g\. KernelSurrogate\(\), not Kernel"):
        select_hyperparameters(KernelSurrogate, sp4_store, {"nu": [2]})


def test_rbf_block_checks_its_arguments():
    X = [[0.0, 1.0], [1.0, 0.0]]  # array_like, as documented
    assert np.allclose(rbf_block(X, X, 0.5), [[1, np.exp(-1)], [np.exp(-1), 1]])
    with pytest.raises(TypeError, match="gamma must be a positive number"):
        rbf_block(X, X, "median")
    with pytest.raises(ValueError, match=r"gamma=-1.0 must be positive"):
        rbf_block(X, X, -1.0)
    with pytest.raises(ValueError, match=r"same number of col.*\(2, 2\) and \(1, 3\)"):
        rbf_block(X, [[0.0, 1.0, 2.0]], 0.5)


def test_sp4_zeeman_and_tensor_components_say_what_they_take(sp4_store):
    H = sp4.zeeman((-0.0355, -0.0063, 0)).H  # SP4 field 2, mu0 H in T
    assert np.allclose(H, np.array([-0.0355, -0.0063, 0]) / mm.consts.mu0)
    with pytest.warns(UserWarning, match=r"35.5 T, above 1 T: mu0 H is in T"):
        sp4.zeeman((-35.5, -6.3, 0))  # mT given as T
    with pytest.raises(ValueError, match="b_field has non-finite values"):
        sp4.zeeman((np.nan, 0, 0))
    with pytest.raises(ValueError, match=r"b_field must be an array of shape"):
        sp4.zeeman((1e-3, 2e-3))
    D = sp4_store.tensor(field_components=1)  # one component, as (1,)
    assert D.shape == (21, 8, 1501)
    assert np.array_equal(D[0, :, 0], sp4_store.fields[:, 1].astype(np.float32))
