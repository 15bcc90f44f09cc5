"""Low-rank kernel estimators (seed paper, section 2.2), scikit-learn style.

- :class:`NystroemFeatures`: Phi_r[x] = K[x, x_r] K[x_r]^{-1/2} (eq. 9), with
  K[x_r]^{-1/2} from a symmetric eigendecomposition and a *relative* eigenvalue floor.
- :class:`LowRankKernelPCA` (l-kPCA): PCA of the centred features (an r x r
  eigenproblem), optionally with a learned pre-image map (eq. 15-16).
- :class:`LowRankKernelRidge` (l-kRR, Lemma 1): W = (Phi^T Phi + alpha I)^{-1}
  Phi^T Y, prediction Phi[y] W. No m x m matrix is ever formed.

Memory stays O(m r + r D) for m samples of dimension D: kernel blocks and
products with the (possibly float32) data are computed in row chunks.
"""

import numbers

import numpy as np
import scipy.linalg
import scipy.sparse
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from .._checks import check_int
from .kernels import (
    _chunk_rows,
    _rbf_block,
    check_gamma,
    select_landmarks,
    squared_norms,
)


def _output_basis(gram, coef, q):
    """Return the top-q principal directions of P = Phi W and their energy share.

    P^T P = W^T (Phi^T Phi) W = M^T M with M = S^{1/2} U^T W (Phi^T Phi = U S U^T):
    the right singular vectors of the r x n_outputs matrix M are those of P,
    without forming P.
    """
    w, U = np.linalg.eigh(gram)
    M = (U * np.sqrt(np.maximum(w, 0.0))).T @ coef
    _, singular, Vt = np.linalg.svd(M, full_matrices=False)
    energy = float((singular[:q] ** 2).sum() / (singular**2).sum())
    return Vt[:q].copy(), energy


def _named(estimator, X, reset):
    """Return ``X`` checked by :func:`_as_2d`, and check its column names.

    As scikit-learn's estimators: ``fit`` (``reset=True``) remembers a DataFrame's
    columns in ``feature_names_in_``; later calls must give them in the same order
    (another order predicted wrongly without a word).
    """
    array = _as_2d(X)
    named = X if hasattr(X, "columns") else array
    validate_data(estimator, named, reset=reset, skip_check_array=True)
    return array


def _as_2d(X, name="X"):
    """Return ``X`` as a dense 2D float array (float32 kept), checked.

    Raises
    ------
    TypeError
        For sparse input, or values that are not numbers.
    ValueError
        For complex values, another number of dimensions, no samples or features,
        or non-finite values (checked in row chunks: memory maps of gigabytes stay
        on disk). The messages contain scikit-learn's, for code that looks for
        them.
    """
    if scipy.sparse.issparse(X):
        raise TypeError(f"{name} is sparse; these estimators need a dense array.")
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        X = np.asarray(X)
    if np.iscomplexobj(X):
        raise ValueError(
            f"Complex data not supported: {name} is complex; these estimators need "
            "real values."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2D (samples x features), got shape {X.shape}. Reshape "
            "your data: array.reshape(-1, 1) for one feature, array.reshape(1, -1) "
            "for one sample."
        )
    for axis, what in enumerate(("sample", "feature")):
        if X.shape[axis] == 0:
            raise ValueError(
                f"{name} has no samples or no features: found array with 0 "
                f"{what}(s) (shape={X.shape}) while a minimum of 1 is required."
            )
    if not np.issubdtype(X.dtype, np.floating):
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold numbers: {exc}") from None
    step = _chunk_rows(*X.shape)
    for start in range(0, X.shape[0], step):
        if not np.all(np.isfinite(X[start : start + step])):
            raise ValueError(f"{name} contains NaN or infinite values.")
    return X


def _check_rank(rank, n_samples):
    """Return the Nystroem ``rank`` as an int, refused above the sample count."""
    r = check_int("rank", rank)
    if r > n_samples:
        raise ValueError(f"rank={r} exceeds the {n_samples} samples.")
    return r


def median_gamma(X, max_samples=2000, seed=0):
    """Median heuristic: 1 / median of squared pairwise distances (on a subset)."""
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if len(X) > max_samples:
        X = X[rng.choice(len(X), max_samples, replace=False)]
    sq = np.einsum("ij,ij->i", X, X)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0)
    median = np.median(d2[np.triu_indices(len(X), k=1)])
    return 1.0 / median if median > 0 else 1.0


class NystroemFeatures(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Nystroem feature map Phi_r[x] = K[x, x_r] K[x_r]^{-1/2} of an RBF kernel.

    Parameters
    ----------
    n_components : int
        Number of landmarks r.
    gamma : float, optional
        RBF width; ``None`` means 1 / n_features (the paper's 1/(3N) for
        magnetisations).
    landmarks : str or array_like of int, optional
        ``"random"`` (default, the paper), ``"kmeans++"``, ``"greedy"`` (pivoted
        Cholesky), or explicit row indices of the training data.
    eigen_floor : float, optional
        Eigenvalues of K[x_r] below ``eigen_floor * max eigenvalue`` are dropped
        (their directions carry round-off only).
    random_state : int, optional
        Seed of the landmark choice.

    Attributes
    ----------
    landmark_indices_ : numpy.ndarray
        Rows of the training data used as landmarks.
    landmarks_ : numpy.ndarray
        The landmarks, float64, ``(r, n_features)``.
    landmark_sq_norms_ : numpy.ndarray
        Their squared norms, ``(r,)``.
    normalization_ : numpy.ndarray
        K[x_r]^{-1/2} (pseudo-inverse square root), ``(r, r)``.
    eigenvalues_ : numpy.ndarray
        Eigenvalues of K[x_r], descending.
    rank_ : int
        Number of eigenvalues kept.
    gamma_ : float
        The width used.
    """

    def __init__(
        self,
        n_components=100,
        gamma=None,
        landmarks="random",
        eigen_floor=1e-10,
        random_state=0,
    ):
        self.n_components = n_components
        self.gamma = gamma
        self.landmarks = landmarks
        self.eigen_floor = eigen_floor
        self.random_state = random_state

    def fit(self, X, y=None):
        """Choose landmarks in ``X`` and compute K[x_r]^{-1/2}."""
        X = _named(self, X, reset=True)
        r = check_int("n_components", self.n_components)
        if r > X.shape[0]:
            raise ValueError(f"n_components={r} exceeds the {X.shape[0]} samples.")
        if not (
            isinstance(self.eigen_floor, numbers.Real) and 0 <= self.eigen_floor < 1
        ):
            raise ValueError(
                f"eigen_floor={self.eigen_floor!r} must be a number in [0, 1) (a "
                "fraction of the largest eigenvalue)."
            )
        # everything in locals, set at the end: a refused refit leaves the fitted
        # attributes as they were, not half of each
        gamma = check_gamma(1.0 / X.shape[1] if self.gamma is None else self.gamma)
        if isinstance(self.landmarks, str):
            indices = select_landmarks(
                X, r, self.landmarks, gamma=gamma, seed=self.random_state
            )
        else:
            indices = np.asarray(self.landmarks)
            if indices.shape != (r,):
                raise ValueError(f"Expected {r} landmark indices, got {indices.shape}.")
            if indices.dtype.kind not in "iu":
                raise TypeError(
                    f"Landmark indices must be integers, not {indices.dtype} values."
                )
            if indices.min() < 0 or indices.max() >= X.shape[0]:
                raise ValueError(
                    f"Landmark indices must lie in [0, {X.shape[0]}) (rows of X)."
                )
            indices = indices.astype(np.int64)
        landmarks = np.asarray(X[indices], dtype=np.float64)
        K = _rbf_block(landmarks, landmarks, gamma)
        w, V = np.linalg.eigh(K)
        w, V = w[::-1], V[:, ::-1]
        keep = w > self.eigen_floor * w[0]
        self.gamma_ = gamma
        self.landmark_indices_ = indices
        self.landmarks_ = landmarks
        self.landmark_sq_norms_ = squared_norms(landmarks)
        self.eigenvalues_ = w
        self.rank_ = int(keep.sum())
        self.normalization_ = (V[:, keep] / np.sqrt(w[keep])) @ V[:, keep].T
        self.n_features_in_ = X.shape[1]
        return self

    @property
    def _n_features_out(self):
        """Number of output features, r (names from ``get_feature_names_out``)."""
        return self.landmarks_.shape[0]

    def landmark_kernel(self, X):
        """Return K[X, x_r], float64, shape ``(len(X), r)``."""
        check_is_fitted(self, "normalization_")
        X = _named(self, X, reset=False)  # also the feature count, as sklearn's
        return _rbf_block(X, self.landmarks_, self.gamma_, Y_sq=self.landmark_sq_norms_)

    def transform(self, X):
        """Return Phi_r[X], float64, shape ``(len(X), r)``."""
        K = self.landmark_kernel(X)
        if self.normalization_ is None:
            raise ValueError(
                "This feature map was loaded for prediction only (a model file keeps "
                "K[x_r]^{-1/2} W, not K[x_r]^{-1/2}); refit it to transform."
            )
        return K @ self.normalization_


class LowRankKernelRidge(RegressorMixin, BaseEstimator):
    """Low-rank kernel ridge regression (l-kRR, Lemma 1), multi-output.

    Parameters
    ----------
    rank : int
        Nystroem rank r.
    gamma : float or "median", optional
        RBF width on the inputs; ``None``: 1 / n_features; ``"median"``: median
        heuristic.
    alpha : float
        Ridge regularisation (> 0).
    landmarks, eigen_floor, random_state
        As :class:`NystroemFeatures`.
    output_rank : int, optional
        Keep only this many principal directions of the fitted training outputs
        Phi W (reduced-rank prediction: the best rank-``output_rank`` approximation
        of the training predictions). Prediction then costs ``r output_rank +
        output_rank n_outputs`` per sample instead of ``r n_outputs``. ``None``
        (default): all.

    Attributes
    ----------
    features_ : NystroemFeatures
        The fitted feature map.
    coef_ : numpy.ndarray
        W = (Phi^T Phi + alpha I)^{-1} Phi^T Y, shape ``(r, n_outputs)``; with
        ``output_rank``, W V in the reduced output coordinates, ``(r, output_rank)``.
    output_basis_ : numpy.ndarray or None
        V^T, ``(output_rank, n_outputs)``: orthonormal rows, the principal
        directions of the training predictions (``None`` without ``output_rank``).
    output_energy_ : float
        Fraction of the training predictions' squared norm that V keeps (1.0
        without ``output_rank``).
    landmark_coef_ : numpy.ndarray
        K[x_r]^{-1/2} coef_: prediction is K[x, x_r] landmark_coef_ (@ V^T).
    """

    def __init__(
        self,
        rank=200,
        gamma=None,
        alpha=1e-6,
        landmarks="random",
        eigen_floor=1e-10,
        random_state=0,
        output_rank=None,
    ):
        self.rank = rank
        self.gamma = gamma
        self.alpha = alpha
        self.landmarks = landmarks
        self.eigen_floor = eigen_floor
        self.random_state = random_state
        self.output_rank = output_rank

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # Y of many outputs, like KernelRidge
        return tags

    def fit(self, X, Y):
        """Fit W; ``Y`` (samples x outputs) may be float32 or a memory map."""
        X = _named(self, X, reset=True)
        if Y is None:
            raise ValueError(
                f"{type(self).__name__} needs targets Y to fit: it requires y to be "
                "passed, but the target y is None."
            )
        if not hasattr(Y, "shape") or not hasattr(Y, "dtype"):
            Y = np.asarray(Y)
        y_ndim = Y.ndim
        if y_ndim not in (1, 2):
            raise ValueError(
                f"Y must be 1D (one output) or 2D (samples x outputs), got shape "
                f"{Y.shape}."
            )
        Y = _as_2d(np.asarray(Y)[:, None] if y_ndim == 1 else Y, "Y")
        if len(Y) != len(X):
            raise ValueError(f"X has {len(X)} samples, Y has {len(Y)}.")
        _check_rank(self.rank, len(X))
        if not (isinstance(self.alpha, numbers.Real) and self.alpha > 0):
            raise ValueError(f"alpha={self.alpha!r} must be positive.")
        gamma = (
            median_gamma(X, seed=self.random_state)
            if self.gamma == "median"
            else (self.gamma)
        )
        # fitted attributes set at the end: a failed refit leaves the old model
        features = NystroemFeatures(
            n_components=self.rank,
            gamma=gamma,
            landmarks=self.landmarks,
            eigen_floor=self.eigen_floor,
            random_state=self.random_state,
        ).fit(X)
        Phi = features.transform(X)
        A = Phi.T @ Phi
        A[np.diag_indices_from(A)] += self.alpha
        B = np.zeros((Phi.shape[1], Y.shape[1]))
        step = _chunk_rows(*Y.shape)
        for start in range(0, len(Y), step):
            chunk = np.asarray(Y[start : start + step], dtype=np.float64)
            B += Phi[start : start + step].T @ chunk
        try:
            coef = scipy.linalg.solve(A, B, assume_a="pos")
        except np.linalg.LinAlgError as exc:  # scipy's LinAlgError is numpy's
            raise ValueError(
                f"alpha={self.alpha!r} is too small for these data: Phi^T Phi + "
                "alpha I is singular to working precision (repeated samples make "
                "Phi^T Phi singular). Use a larger alpha, e.g. 1e-10 or more."
            ) from exc
        basis, energy = None, 1.0
        if self.output_rank is not None:
            q = check_int("output_rank", self.output_rank)
            if q < Y.shape[1]:
                A[np.diag_indices_from(A)] -= self.alpha  # Phi^T Phi
                basis, energy = _output_basis(A, coef, q)
                coef = coef @ basis.T
        self.features_ = features
        self.coef_ = coef
        self.output_basis_, self.output_energy_ = basis, energy
        self.n_features_in_ = X.shape[1]
        self.n_outputs_ = Y.shape[1]
        self.y_ndim_ = y_ndim  # 1: predictions are 1D too, as Y was
        self.set_landmark_coef()
        return self

    def set_landmark_coef(self):
        """Precompute K[x_r]^{-1/2} W so prediction is one product K[x, x_r] @ it.

        Phi_r[x] W = K[x, x_r] (K[x_r]^{-1/2} W): an r x n_outputs matrix instead of
        an r x r product per prediction (the rollout's hot path).
        """
        self.landmark_coef_ = self.features_.normalization_ @ self.coef_
        return self

    def predict(self, X):
        """Return Phi_r[X] W, shape ``(len(X), n_outputs)`` (``(len(X),)`` for 1D Y)."""
        check_is_fitted(self, "coef_")
        X = _named(self, X, reset=False)
        reduced = self.features_.landmark_kernel(X) @ self.landmark_coef_
        if getattr(self, "output_basis_", None) is not None:
            reduced = reduced @ self.output_basis_
        return reduced[:, 0] if getattr(self, "y_ndim_", 2) == 1 else reduced


class LowRankKernelPCA(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Low-rank kernel PCA (l-kPCA) with an optional learned pre-image map.

    Parameters
    ----------
    n_components : int
        Number of principal components d kept (paper: 40).
    rank : int
        Nystroem rank r of the embedding (paper: 50).
    gamma : float, optional
        RBF width; ``None``: 1 / n_features (paper: 1/(3N)).
    landmarks, eigen_floor, random_state
        As :class:`NystroemFeatures`.
    fit_inverse_transform : bool, optional
        Learn the pre-image map Gamma (l-kRR from scores to data, eq. 16).
    inverse_rank : int, optional
        Nystroem rank of the pre-image map.
    inverse_gamma : float or "median", optional
        Its RBF width on the scores (its own, unlike scikit-learn's KernelPCA).
    inverse_alpha : float, optional
        Its ridge regularisation.
    inverse_output_rank : int, optional
        Its ``output_rank`` (see :class:`LowRankKernelRidge`): reduced-rank
        pre-images, cheaper to predict; ``None`` (default): full rank.

    Attributes
    ----------
    features_ : NystroemFeatures
    mean_ : numpy.ndarray
        Mean feature vector, ``(r,)``.
    components_ : numpy.ndarray
        Principal axes in feature coordinates, ``(r, d)``.
    eigenvalues_ : numpy.ndarray
        Variances along them (eigenvalues of the centred low-rank Gram matrix).
    preimage_ : LowRankKernelRidge
        The pre-image map, if fitted.
    """

    def __init__(
        self,
        n_components=40,
        rank=200,
        gamma=None,
        landmarks="random",
        eigen_floor=1e-10,
        fit_inverse_transform=False,
        inverse_rank=600,
        inverse_gamma="median",
        inverse_alpha=1e-6,
        inverse_output_rank=None,
        random_state=0,
    ):
        self.n_components = n_components
        self.rank = rank
        self.gamma = gamma
        self.landmarks = landmarks
        self.eigen_floor = eigen_floor
        self.fit_inverse_transform = fit_inverse_transform
        self.inverse_rank = inverse_rank
        self.inverse_gamma = inverse_gamma
        self.inverse_alpha = inverse_alpha
        self.inverse_output_rank = inverse_output_rank
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit the embedding (and the pre-image map) on ``X``."""
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit and return the training scores, ``(len(X), d)``."""
        return self._fit(X)

    def _fit(self, X):
        X = _named(self, X, reset=True)
        d = check_int("n_components", self.n_components)
        rank = _check_rank(self.rank, len(X))
        if d > rank:
            raise ValueError(f"n_components={d} exceeds rank={rank}.")
        self.__dict__.pop("preimage_", None)  # a refit's map, if any, is its own
        self.features_ = NystroemFeatures(
            n_components=self.rank,
            gamma=self.gamma,
            landmarks=self.landmarks,
            eigen_floor=self.eigen_floor,
            random_state=self.random_state,
        ).fit(X)
        Phi = self.features_.transform(X)
        self.mean_ = Phi.mean(axis=0)
        Phi -= self.mean_
        w, V = np.linalg.eigh(Phi.T @ Phi)
        order = np.argsort(w)[::-1][:d]
        self.eigenvalues_ = np.maximum(w[order], 0.0)
        self.components_ = V[:, order]
        scores = Phi @ self.components_
        self.n_features_in_ = X.shape[1]
        if self.fit_inverse_transform:
            self.preimage_ = LowRankKernelRidge(
                rank=min(self.inverse_rank, len(X)),
                gamma=self.inverse_gamma,
                alpha=self.inverse_alpha,
                landmarks=self.landmarks
                if isinstance(self.landmarks, str)
                else "random",
                eigen_floor=self.eigen_floor,
                random_state=self.random_state,
                output_rank=self.inverse_output_rank,
            ).fit(scores, X)
        return scores

    @property
    def _n_features_out(self):
        """Number of output features, d (names from ``get_feature_names_out``)."""
        return self.components_.shape[1]

    def transform(self, X):
        """Return the kPCA scores P_d phi(X), ``(len(X), d)``."""
        check_is_fitted(self, "components_")
        X = _named(self, X, reset=False)
        return (self.features_.transform(X) - self.mean_) @ self.components_

    def inverse_transform(self, Z):
        """Map scores back to data space with the learned pre-image map."""
        check_is_fitted(self, "components_")
        if not hasattr(self, "preimage_"):
            raise ValueError("Fit with fit_inverse_transform=True to map scores back.")
        return self.preimage_.predict(Z)
