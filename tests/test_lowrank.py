"""Low-rank kernel estimators against scikit-learn and the paper's formulas."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import KernelPCA
from sklearn.kernel_approximation import Nystroem
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.utils.estimator_checks import parametrize_with_checks

from ubermag_surrogate.lowrank import (
    LowRankKernelPCA,
    LowRankKernelRidge,
    NystroemFeatures,
    rbf_block,
    select_landmarks,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    Y = np.column_stack([np.sin(X[:, 0]) + X[:, 1] ** 2, np.cos(X[:, 2] * X[:, 3])])
    return X, Y


def test_rbf_block_matches_sklearn(data):
    X, _ = data
    assert np.allclose(rbf_block(X, X[:7], 0.3), rbf_kernel(X, X[:7], gamma=0.3))
    assert np.allclose(
        rbf_block(X.astype(np.float32), X[:7], 0.3),
        rbf_kernel(X.astype(np.float32), X[:7], gamma=0.3),
        atol=1e-6,
    )


def test_nystroem_features_equal_sklearn(data):
    X, _ = data
    reference = Nystroem(gamma=0.2, n_components=30, random_state=3).fit(X)
    ours = NystroemFeatures(
        n_components=30, gamma=0.2, landmarks=reference.component_indices_
    ).fit(X)
    assert np.max(np.abs(ours.transform(X) - reference.transform(X))) < 1e-10
    assert ours.rank_ == 30


def test_nystroem_relative_floor_drops_duplicate_landmarks(data):
    X, _ = data
    X = np.vstack([X, X[:5]])  # duplicates make K[x_r] singular
    landmarks = np.r_[0:5, 120:125]
    ours = NystroemFeatures(n_components=10, gamma=0.2, landmarks=landmarks).fit(X)
    assert ours.rank_ == 5
    Phi = ours.transform(X)
    assert np.all(np.isfinite(Phi))
    # the kept subspace still reproduces the kernel on the landmarks exactly
    K = rbf_kernel(X[:5], X[:5], gamma=0.2)
    assert np.allclose(Phi[:5] @ Phi[:5].T, K, atol=1e-8)


def test_full_rank_lkpca_scores_equal_kernel_pca_up_to_sign(data):
    X, _ = data
    m = len(X)
    ours = LowRankKernelPCA(n_components=8, rank=m, gamma=0.1, eigen_floor=1e-14)
    scores = ours.fit_transform(X)
    reference = KernelPCA(n_components=8, kernel="rbf", gamma=0.1).fit_transform(X)
    signs = np.sign(np.sum(scores * reference, axis=0))
    assert np.max(np.abs(scores * signs - reference)) < 1e-8
    assert np.allclose(ours.transform(X), scores, atol=1e-8)


def test_low_rank_kernel_ridge_equals_kernel_ridge_on_the_nystroem_kernel(data):
    X, Y = data
    ours = LowRankKernelRidge(rank=40, gamma=0.15, alpha=1e-3, random_state=1).fit(X, Y)
    Phi = ours.features_.transform(X)
    Xt = X[:10] + 0.05
    Phi_t = ours.features_.transform(Xt)
    reference = KernelRidge(alpha=1e-3, kernel="precomputed").fit(Phi @ Phi.T, Y)
    assert np.allclose(ours.predict(Xt), reference.predict(Phi_t @ Phi.T), atol=1e-9)
    # Lemma 1 both ways: push-through form == m x m form (eq. 13)
    m = len(X)
    dense = Phi_t @ Phi.T @ np.linalg.solve(Phi @ Phi.T + 1e-3 * np.eye(m), Y)
    assert np.allclose(ours.predict(Xt), dense, atol=1e-9)


def test_kernel_ridge_learns_a_smooth_function(data):
    X, Y = data
    model = LowRankKernelRidge(rank=100, gamma=0.1, alpha=1e-6).fit(X, Y)
    assert model.score(X, Y) > 0.99
    assert model.predict(X).shape == Y.shape


def test_float32_targets_are_used_in_float64(data):
    X, Y = data
    a = LowRankKernelRidge(rank=30, gamma=0.1).fit(X, Y.astype(np.float32))
    b = LowRankKernelRidge(rank=30, gamma=0.1).fit(
        X, Y.astype(np.float32).astype(float)
    )
    assert np.array_equal(a.coef_, b.coef_)
    assert a.coef_.dtype == np.float64


def test_preimage_reconstructs_training_states():
    rng = np.random.default_rng(1)
    angles = rng.uniform(0, np.pi, size=(200, 1))
    # a closed curve in 4D: (cos t, cos 2t, sin t, sin 2t)
    X = np.hstack(
        [np.cos(angles * k) for k in (1, 2)] + [np.sin(angles * k) for k in (1, 2)]
    )
    model = LowRankKernelPCA(
        n_components=4,
        rank=100,
        gamma=0.5,
        fit_inverse_transform=True,
        inverse_rank=150,
        inverse_alpha=1e-8,
    ).fit(X)
    reconstructed = model.inverse_transform(model.transform(X))
    assert np.max(np.abs(reconstructed - X)) < 1e-3


@pytest.mark.parametrize("method", ["random", "kmeans++", "greedy"])
def test_landmark_methods(data, method):
    X, _ = data
    indices = select_landmarks(X, 20, method, gamma=0.2, seed=4)
    assert len(np.unique(indices)) == 20
    assert np.array_equal(indices, select_landmarks(X, 20, method, gamma=0.2, seed=4))
    # fewer distinct rows than landmarks: still distinct indices (round-off left
    # ~1e-14 of D^2 on chosen rows, and kmeans++ picked one row up to 3 times)
    repeated = np.repeat(X[:5], 10, axis=0)
    same = np.ones((5, 3), dtype=np.float32)  # all rows alike (float32 round-off)
    for seed in range(20):
        chosen = select_landmarks(repeated, 8, method, gamma=0.2, seed=seed)
        assert len(np.unique(chosen)) == 8
        chosen = select_landmarks(same, 2, method, gamma=0.2, seed=seed)
        assert len(np.unique(chosen)) == 2


def test_spread_landmarks_beat_random_on_repeated_states():
    # like training trajectories: every field case starts from the same state
    rng = np.random.default_rng(0)
    X = np.vstack(
        [np.repeat(rng.normal(size=(1, 6)), 100, axis=0), rng.normal(size=(40, 6))]
    )
    K = rbf_kernel(X, X, gamma=0.3)

    def error(method):
        Phi = NystroemFeatures(15, gamma=0.3, landmarks=method).fit(X).transform(X)
        return np.trace(K - Phi @ Phi.T)

    assert error("greedy") < 0.7 * error("random")
    assert error("kmeans++") < 0.7 * error("random")


def test_sklearn_conventions(data):
    X, Y = data
    model = LowRankKernelRidge(rank=10, gamma=0.3)
    assert model.get_params()["rank"] == 10
    clone(model).fit(X, Y)
    with pytest.raises(Exception, match="not fitted"):
        model.predict(X)


@pytest.mark.parametrize(
    ("estimator", "match"),
    [
        (NystroemFeatures(n_components=500), "exceeds"),
        (NystroemFeatures(n_components=0), "positive integer"),
        (NystroemFeatures(gamma=-1.0, n_components=5), "gamma"),
        (NystroemFeatures(n_components=5, landmarks="best"), "Unknown landmark"),
        (LowRankKernelPCA(n_components=50, rank=20), "exceeds rank"),
        (LowRankKernelPCA(n_components=5, rank=500), "rank=500 exceeds the"),
        (LowRankKernelPCA(n_components=5, rank="20"), "rank must be a positive"),
        (NystroemFeatures(n_components=5, eigen_floor=-1), "eigen_floor=-1"),
    ],
)
def test_bad_hyperparameters(data, estimator, match):
    X, _ = data
    with pytest.raises(ValueError, match=match):
        estimator.fit(X)


def test_bad_data(data):
    import scipy.sparse

    X, Y = data
    with pytest.raises(ValueError, match="2D"):
        NystroemFeatures(n_components=2).fit(np.zeros(5))
    with pytest.raises(ValueError, match="rank=200 exceeds the 4 samples"):
        LowRankKernelRidge().fit(np.eye(4), np.zeros((4, 1)))  # the default rank
    with pytest.raises(ValueError, match="needs targets Y"):
        LowRankKernelRidge(rank=2).fit(np.eye(4), None)
    with pytest.raises(ValueError, match="no features"):
        NystroemFeatures(n_components=2).fit(np.zeros((4, 0)))
    with pytest.raises(TypeError, match="sparse"):
        NystroemFeatures(n_components=2).fit(scipy.sparse.eye(4).tocsr())
    with pytest.raises(ValueError, match="Complex data not supported"):
        NystroemFeatures(n_components=2).fit(np.eye(4) * 1j)
    with pytest.raises(TypeError, match="integers"):
        NystroemFeatures(n_components=2, landmarks=[0.2, 1.7]).fit(X)
    with pytest.raises(ValueError, match="must lie in"):
        NystroemFeatures(n_components=2, landmarks=[-1, 3]).fit(X)
    nan = X.copy()
    nan[5, 2] = np.nan
    for fit in (
        lambda: NystroemFeatures(n_components=5).fit(nan),
        lambda: LowRankKernelRidge(rank=5).fit(nan, Y),
        lambda: LowRankKernelRidge(rank=5).fit(X, np.where(nan[:, :1] > 0, np.inf, Y)),
        lambda: LowRankKernelRidge(rank=5, gamma=0.3).fit(X, Y).predict(nan),
    ):
        with pytest.raises(ValueError, match="NaN or infinite"):
            fit()
    with pytest.raises(ValueError, match="samples"):
        LowRankKernelRidge(rank=2).fit(np.zeros((4, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="alpha"):
        LowRankKernelRidge(rank=2, alpha=0).fit(np.eye(4), np.zeros((4, 1)))


def test_one_dimensional_targets_give_one_dimensional_predictions(data):
    X, Y = data
    model = LowRankKernelRidge(rank=10, gamma=0.3).fit(X, Y[:, 0])
    assert model.predict(X).shape == (len(X),)  # as y, not (n, 1): no broadcasting
    two_d = LowRankKernelRidge(rank=10, gamma=0.3).fit(X, Y[:, :1])
    assert np.array_equal(model.predict(X), two_d.predict(X)[:, 0])


def test_a_refit_without_the_preimage_map_drops_the_old_one(data):
    X, _ = data
    pca = LowRankKernelPCA(n_components=3, rank=20, fit_inverse_transform=True)
    pca.fit(X).inverse_transform(pca.transform(X))
    pca.set_params(fit_inverse_transform=False).fit(X[::-1] * 2)
    with pytest.raises(ValueError, match="fit_inverse_transform=True"):
        pca.inverse_transform(pca.transform(X))


def test_predicting_with_other_features_is_refused(data):
    X, Y = data
    model = LowRankKernelRidge(rank=10, gamma=0.3).fit(X, Y)
    with pytest.raises(ValueError, match="X has 5 features, but .* expecting 6"):
        model.predict(X[:, :5])


def test_dataframe_columns_must_come_back_in_the_fitted_order(data):
    # as scikit-learn's estimators: another column order predicted wrongly (by up
    # to 2.0 here) without a word
    pd = pytest.importorskip("pandas")
    X, Y = data
    frame = pd.DataFrame(X, columns=[f"h{i}" for i in range(X.shape[1])])
    swapped = frame[list(frame.columns[::-1])]
    for estimator, call in (
        (LowRankKernelRidge(rank=10, gamma=0.3), "predict"),
        (LowRankKernelPCA(n_components=3, rank=10, gamma=0.3), "transform"),
        (NystroemFeatures(n_components=10, gamma=0.3), "transform"),
    ):
        fitted = estimator.fit(frame, Y)
        assert list(fitted.feature_names_in_) == list(frame.columns)
        same = getattr(fitted, call)(frame)
        with pytest.warns(UserWarning, match="does not have valid feature names"):
            by_position = getattr(fitted, call)(X)  # an array: as sklearn, a warning
        assert np.allclose(same, by_position, rtol=1e-12, atol=1e-12)
        with pytest.raises(ValueError, match="feature names should match"):
            getattr(fitted, call)(swapped)


def test_output_rank_keeps_the_principal_directions_of_the_predictions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 4))
    Y = np.column_stack([np.sin(X @ rng.normal(size=4)) for _ in range(12)])
    full = LowRankKernelRidge(rank=60, gamma=0.3, alpha=1e-6).fit(X, Y)
    P = full.predict(X)
    _, singular, Vt = np.linalg.svd(P, full_matrices=False)
    for q in (3, 7):
        reduced = LowRankKernelRidge(rank=60, gamma=0.3, alpha=1e-6, output_rank=q)
        reduced.fit(X, Y)
        assert reduced.coef_.shape == (60, q)
        assert reduced.output_basis_.shape == (q, 12)
        # the best rank-q approximation of the training predictions (Eckart-Young)
        best = P @ Vt[:q].T @ Vt[:q]
        assert np.allclose(reduced.predict(X), best, atol=1e-8)
        energy = (singular[:q] ** 2).sum() / (singular**2).sum()
        assert reduced.output_energy_ == pytest.approx(energy)
        X_new = rng.normal(size=(5, 4))
        assert np.allclose(
            reduced.predict(X_new), full.predict(X_new) @ Vt[:q].T @ Vt[:q], atol=1e-8
        )
    # a rank that keeps every output changes nothing
    same = LowRankKernelRidge(rank=60, gamma=0.3, alpha=1e-6, output_rank=12)
    assert same.fit(X, Y).output_basis_ is None
    assert np.allclose(same.predict(X), P)
    with pytest.raises(ValueError, match="output_rank must be a positive integer"):
        LowRankKernelRidge(rank=60, output_rank=0).fit(X, Y)


def test_a_too_small_alpha_is_named_and_a_failed_refit_keeps_the_model():
    # duplicate rows (every SP4 trajectory starts in the s-state) make Phi^T Phi
    # singular: alpha=1e-16 failed 8 frames deep in scipy; and the refit had
    # replaced features_ first, so predict mixed new features with old weights
    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(10, 4)), 3, axis=0)
    Y = rng.normal(size=(30, 2))
    ridge = LowRankKernelRidge(rank=8, gamma=0.5, alpha=1e-3).fit(X, Y)
    before = ridge.predict(X)
    ridge.set_params(alpha=1e-16, gamma=0.01)
    with pytest.raises(ValueError, match="alpha=1e-16 is too small"):
        ridge.fit(X, Y)
    assert np.array_equal(ridge.predict(X), before)

    features = NystroemFeatures(n_components=5, gamma=0.5).fit(X)
    mapped = features.transform(X)
    features.set_params(gamma=0.01, landmarks=np.array([0, 1]))
    with pytest.raises(ValueError, match="Expected 5 landmark indices"):
        features.fit(X)
    assert features.gamma_ == 0.5
    assert np.array_equal(features.transform(X), mapped)


# ranks small enough for the checks' data sets (10 to 20 samples); rank r above the
# sample count is refused by design, not capped as by sklearn's Nystroem
@parametrize_with_checks(
    [
        NystroemFeatures(n_components=5),
        LowRankKernelPCA(n_components=2, rank=5),
        LowRankKernelPCA(
            n_components=2, rank=5, fit_inverse_transform=True, inverse_rank=5
        ),
        LowRankKernelRidge(rank=10, gamma="median"),
        LowRankKernelRidge(rank=10, gamma="median", output_rank=1),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    # scikit-learn's own conventions: messages code looks for, pickling, dtypes,
    # clone, pandas input, multi-output targets, n_features_in_, ...
    check(estimator)


def test_transformers_name_their_output_features(data):
    pd = pytest.importorskip("pandas")
    X, _ = data
    features = NystroemFeatures(n_components=4, gamma=0.3).fit(X)
    assert list(features.get_feature_names_out()) == [
        f"nystroemfeatures{i}" for i in range(4)
    ]
    pca = LowRankKernelPCA(n_components=3, rank=10, gamma=0.3).set_output(
        transform="pandas"
    )
    scores = pca.fit(X).transform(X)
    assert isinstance(scores, pd.DataFrame)
    assert list(scores.columns) == [f"lowrankkernelpca{i}" for i in range(3)]
    assert np.array_equal(
        scores.to_numpy(), pca.set_output(transform="default").transform(X)
    )
