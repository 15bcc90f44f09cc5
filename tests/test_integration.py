"""The latent integrators: windows, time segments, the rollout, refusals."""

import numpy as np
import pytest
from helpers import damped_rotations

from ubermag_surrogate.integration import (
    FeatureSpaceIntegrator,
    LatentNetworkIntegrator,
)


@pytest.fixture(scope="module")
def trajectories():
    return damped_rotations()


def naive_rollout(integrator, c0, fields, n_steps):
    """The rollout written plainly with each segment's public predict()."""
    h = integrator.field_inputs(fields)
    scale = integrator.latent_scale_
    history = [np.broadcast_to(c0 / scale, (len(fields), len(c0)))] * integrator.nu_
    out = [np.broadcast_to(c0, (len(fields), len(c0)))]
    for i in range(n_steps):
        x = np.concatenate([h, *history], axis=1)
        new = integrator.segments_[integrator.segment_of(i)].predict(x)
        if integrator.target_ == "increment":
            new = new + history[-1]
        history = history[1:] + [new]
        out.append(new * scale)
    return np.stack(out, axis=1)


@pytest.mark.parametrize(
    ("n_segments", "target"), [(1, "state"), (4, "state"), (3, "increment")]
)
def test_fast_rollout_equals_the_plain_one(trajectories, n_segments, target):
    latent, fields = trajectories
    integrator = FeatureSpaceIntegrator(
        nu=3, rank=200, n_segments=n_segments, target=target, alpha=1e-6
    ).fit(latent, fields)
    assert len(integrator.segments_) == n_segments
    c0 = latent[0, 0]
    fast = integrator.rollout(c0, fields[:5], 50)  # beyond the 40 trained steps
    assert fast.shape == (5, 51, 3)
    assert np.allclose(fast, naive_rollout(integrator, c0, fields[:5], 50), atol=1e-12)


def test_set_params_after_fit_changes_the_next_fit_not_the_fitted_map(trajectories):
    # scikit-learn's convention: a fitted estimator predicts with what it was
    # fitted with (a rollout that read nu from set_params built wrong windows)
    latent, fields = trajectories
    integrator = FeatureSpaceIntegrator(nu=3, rank=200, n_segments=2).fit(
        latent, fields
    )
    before = integrator.rollout(latent[0, 0], fields[:5], 40)
    integrator.set_params(nu=5, field_weight=4.0, target="increment")
    np.testing.assert_array_equal(
        integrator.rollout(latent[0, 0], fields[:5], 40), before
    )
    refitted = integrator.fit(latent, fields)
    assert (refitted.nu_, refitted.field_weight_, refitted.target_) == (
        5,
        4.0,
        "increment",
    )
    assert refitted.segments_[0].features_.landmarks_.shape[1] == 2 + 5 * 3


@pytest.mark.parametrize("split", [1, 2, 7, 25])
def test_a_rollout_continued_from_its_history_equals_one_rollout(trajectories, split):
    latent, fields = trajectories
    integrator = FeatureSpaceIntegrator(nu=3, rank=200, n_segments=4).fit(
        latent, fields
    )
    c0 = latent[0, 0]
    whole = integrator.rollout(c0, fields[:5], 40)
    first = integrator.rollout(c0, fields[:5], split)
    # the last nu states (c0 repeated before t = 0) and the step index go on
    window = np.concatenate([np.repeat(first[:, :1], 2, axis=1), first], axis=1)
    second = integrator.rollout(
        window[:, -1], fields[:5], 40 - split, past=window[:, -3:-1], start=split
    )
    np.testing.assert_allclose(second, whole[:, split:], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"past must be \(k, nu - 1, d\)"):
        integrator.rollout(c0, fields[:5], 3, past=window[:, -2:-1])


def test_segments_split_the_horizon_and_each_learns_its_own_steps(trajectories):
    latent, fields = trajectories
    integrator = FeatureSpaceIntegrator(
        nu=3, rank=100, n_segments=4, segment_overlap=2
    ).fit(latent, fields)
    assert integrator.segment_starts_.tolist() == [0, 10, 20, 30]
    assert [integrator.segment_of(i) for i in (0, 9, 10, 29, 30, 39, 99)] == [
        0,
        0,
        1,
        2,
        3,
        3,
        3,
    ]
    # segment 1 was fitted on the windows of steps 8..21 (10..19 and 2 each side)
    inputs, _ = integrator.windows(latent, fields)
    assert integrator.segments_[1].features_.landmarks_.shape == (100, 2 + 9)
    rows = inputs.reshape(30, 40, -1)[:, 8:22].reshape(-1, inputs.shape[1])
    landmarks = integrator.segments_[1].features_.landmarks_
    distances = np.linalg.norm(landmarks[:, None] - rows[None], axis=2).min(axis=1)
    assert np.allclose(distances, 0)


def test_rollout_follows_the_training_trajectories(trajectories):
    latent, fields = trajectories
    for n_segments in (1, 4):
        integrator = FeatureSpaceIntegrator(
            nu=3, rank=400, n_segments=n_segments, alpha=1e-8
        ).fit(latent, fields)
        rollout = integrator.rollout(latent[0, 0], fields, 40)
        assert np.abs(rollout - latent).max() < 0.05, n_segments


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_segments": 0}, "n_segments must be a positive integer, not 0"),
        ({"n_segments": 41}, "exceeds the 40 trained steps"),
        ({"segment_overlap": -1}, "segment_overlap must be an integer >= 0, not -1"),
        ({"nu": 0}, "nu must be a positive integer, not 0"),
        ({"target": "velocity"}, "target='velocity'"),
    ],
)
def test_bad_hyperparameters(trajectories, params, match):
    latent, fields = trajectories
    with pytest.raises(ValueError, match=match):
        FeatureSpaceIntegrator(**params).fit(latent, fields)


@pytest.mark.parametrize("cls", [FeatureSpaceIntegrator, LatentNetworkIntegrator])
def test_bad_training_trajectories_are_refused(cls, trajectories):
    latent, fields = trajectories
    with pytest.raises(ValueError, match=r"latent must be \(n_fields, s\+1, d\)"):
        cls().fit(latent[:, :1], fields)  # no step to learn
    with pytest.raises(ValueError, match=r"shape \(k, 3\) .*got shape \(30, 2\)"):
        cls().fit(latent, fields[:, :2])
    with pytest.raises(ValueError, match=r"fields must be \(30, 3\)"):
        cls().fit(latent, fields[:29])
    bad = fields.copy()
    bad[3, 1] = np.nan  # all components would count as constant: fields ignored
    with pytest.raises(ValueError, match="fields .*finite"):
        cls().fit(latent, bad)
    bad = latent.copy()
    bad[2, 4, 0] = np.inf
    with pytest.raises(ValueError, match="latent contains NaN or infinite"):
        cls().fit(bad, fields)
