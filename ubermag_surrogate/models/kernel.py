"""The low-rank kernel surrogate: l-kPCA embedding, l-kRR pre-image and integrator.

Seed paper, section 2.2: magnetisation states are embedded by low-rank kernel PCA
(RBF, gamma = 1/(3N)), a nu-step l-kRR map integrates the latent state in time
under a constant field, and an l-kRR pre-image map brings latent states back to
magnetisations. Each of the three kernel maps has its own rank, width and ridge.
"""

import numpy as np
from sklearn.base import BaseEstimator

from .._checks import (
    as_float_array,
    check_bool,
    check_int,
    check_positive,
    check_seed,
    check_verbosity,
)
from .._progress import fit_stages_bar
from ..data.layout import fix_cells
from ..integration import FeatureSpaceIntegrator
from ..integration.feature_space import TARGETS
from ..lowrank import LowRankKernelPCA, LowRankKernelRidge, NystroemFeatures
from ..lowrank.kernels import LANDMARK_METHODS, check_gamma, squared_norms
from .base import SurrogateModel, register


def _export_features(features, prefix, normalization=True):
    arrays = {
        f"{prefix}.landmarks": features.landmarks_,
        f"{prefix}.gamma": np.array(features.gamma_),
    }
    if normalization:
        arrays[f"{prefix}.normalization"] = features.normalization_
    return arrays


def _import_features(arrays, prefix):
    features = NystroemFeatures(n_components=len(arrays[f"{prefix}.landmarks"]))
    features.landmarks_ = arrays[f"{prefix}.landmarks"]
    features.normalization_ = arrays.get(f"{prefix}.normalization")
    features.gamma_ = float(arrays[f"{prefix}.gamma"])
    features.landmark_sq_norms_ = squared_norms(features.landmarks_)
    features.n_features_in_ = features.landmarks_.shape[1]
    return features


def _export_ridge(ridge, prefix):
    """Return the arrays of an l-kRR map for prediction: landmarks, K[x_r]^{-1/2} W.

    The r x r normalisation K[x_r]^{-1/2} is not kept (for the integrator's ten
    maps of rank 2000 it would be 320 MB of the file).
    """
    arrays = _export_features(ridge.features_, prefix, normalization=False)
    arrays[f"{prefix}.coef"] = ridge.coef_
    arrays[f"{prefix}.landmark_coef"] = ridge.landmark_coef_
    if ridge.output_basis_ is not None:
        arrays[f"{prefix}.output_basis"] = ridge.output_basis_
    return arrays


def _import_ridge(arrays, prefix):
    ridge = LowRankKernelRidge(rank=len(arrays[f"{prefix}.landmarks"]))
    ridge.features_ = _import_features(arrays, prefix)
    ridge.coef_ = arrays[f"{prefix}.coef"]
    ridge.landmark_coef_ = arrays[f"{prefix}.landmark_coef"]
    ridge.output_basis_ = arrays.get(f"{prefix}.output_basis")
    ridge.n_features_in_ = ridge.features_.n_features_in_
    ridge.n_outputs_ = (
        ridge.coef_.shape[1]
        if ridge.output_basis_ is None
        else ridge.output_basis_.shape[1]
    )
    return ridge


@register
class KernelSurrogate(SurrogateModel, BaseEstimator):
    """Low-rank kernel surrogate of magnetisation dynamics (seed paper, sec. 2.2).

    Parameters
    ----------
    n_components : int
        Latent dimension d (kPCA components; paper: 40, default 60: same mean
        error on SP4 domain 2, lower worst case).
    embedding_rank : int
        Nystroem rank of the kPCA embedding (paper: 50). Each map's rank is capped
        at its number of training rows.
    embedding_gamma : float, optional
        RBF width on magnetisations; ``None``: 1/(3N) (paper).
    preimage_rank : int
        Nystroem rank of the pre-image map.
    preimage_gamma : float or "median"
        RBF width of the pre-image map on the latent scores.
    preimage_alpha : float
        Ridge of the pre-image map.
    preimage_output_rank : int, optional
        Keep this many principal directions of the pre-image map's training
        outputs (reduced-rank decoding, see ``LowRankKernelRidge.output_rank``;
        default 150: on SP4 it keeps 99.98 % of their energy, the encode-decode
        floor of <m> moves from 0.0110 to 0.0113, and decoding a state costs
        600 x 150 + 150 x 3N instead of 600 x 3N); ``None``: full rank.
    nu : int
        Steps of history in the integrator (paper: 5).
    integrator_rank : int
        Nystroem rank of each time segment's integrator map (default 2000).
    integrator_segments : int
        Time segments of the integrator, each with its own map (1: the paper's
        single map; default 10, see ``FeatureSpaceIntegrator``; at most one per
        trained step).
    integrator_segment_overlap : int
        Steps of the neighbouring segments each map also learns (default 5).
    integrator_gamma : float or "median"
        RBF width on the integrator's standardised inputs. The paper's 1 makes
        kernel values of exp(-400) between 202-dimensional standardised windows;
        the default is the median heuristic (about 0.003 on SP4).
    integrator_alpha : float
        Ridge of the integrator (default 1e-4: smaller values interpolate the
        windows and the rollout drifts).
    integrator_target : str
        ``"state"`` (c^{i+1}, the paper; default) or ``"increment"``.
    field_weight : float
        Weight of the field inputs of the integrator.
    landmarks : str
        Landmark choice for all three maps: ``"random"`` (paper), ``"kmeans++"``,
        ``"greedy"``.
    normalize : bool
        Scale predicted cell vectors to unit length (default ``True``).
    random_state : int or None
        Seed of the landmark choices and of the median heuristics' subsamples
        (None: a seed drawn for each fit, kept as ``random_state_``).
    verbose : int
        1: a progress bar over the fitting stages; 0: silent (default).

    Examples
    --------
    >>> from ubermag_surrogate.models import KernelSurrogate
    >>> model = KernelSurrogate(n_components=40, embedding_rank=200)
    >>> model.get_params()["nu"]
    5
    """

    kind = "kernel"

    def __init__(
        self,
        n_components=60,
        embedding_rank=200,
        embedding_gamma=None,
        preimage_rank=600,
        preimage_gamma="median",
        preimage_alpha=1e-8,
        preimage_output_rank=150,
        nu=5,
        integrator_rank=2000,
        integrator_segments=10,
        integrator_segment_overlap=5,
        integrator_gamma="median",
        integrator_alpha=1e-4,
        integrator_target="state",
        field_weight=1.0,
        landmarks="random",
        normalize=True,
        random_state=0,
        verbose=0,
    ):
        self.n_components = n_components
        self.embedding_rank = embedding_rank
        self.embedding_gamma = embedding_gamma
        self.preimage_rank = preimage_rank
        self.preimage_gamma = preimage_gamma
        self.preimage_alpha = preimage_alpha
        self.preimage_output_rank = preimage_output_rank
        self.nu = nu
        self.integrator_rank = integrator_rank
        self.integrator_segments = integrator_segments
        self.integrator_segment_overlap = integrator_segment_overlap
        self.integrator_gamma = integrator_gamma
        self.integrator_alpha = integrator_alpha
        self.integrator_target = integrator_target
        self.field_weight = field_weight
        self.landmarks = landmarks
        self.normalize = normalize
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, dataset, samples=None):
        """Fit on the complete samples of a store (or the given ``samples``).

        Parameters
        ----------
        dataset : TrajectoryStore or str or pathlib.Path
            Training data.
        samples : array_like of int, optional
            Which samples (field cases) to train on; split train/validation by
            sample, never by time step.

        Raises
        ------
        TypeError, ValueError
            For a bad hyper-parameter (named as this model names it), before the
            data are read.
        """
        store, samples = self._training_samples(dataset, samples)
        self._check_params()  # before reading gigabytes and fitting for a minute
        self._check_data_size(len(samples), len(store.times))
        seed = self._fit_seed()
        stages = fit_stages_bar(self.verbose)
        stages.set_postfix_str("reading the data tensor")
        states = store.tensor(samples, field_components=())  # (s+1, n, 3N) float32
        n_times, n_fields, three_n = states.shape
        X = states.reshape(-1, three_n)  # rows: time-major, a view
        gamma = (
            self.embedding_gamma if self.embedding_gamma is not None else 1 / three_n
        )
        stages.update()
        stages.set_postfix_str(f"l-kPCA embedding and pre-image of {len(X)} states")
        self.embedding_ = LowRankKernelPCA(
            n_components=self.n_components,
            rank=min(self.embedding_rank, len(X)),
            gamma=gamma,
            landmarks=self.landmarks,
            fit_inverse_transform=True,
            inverse_rank=self.preimage_rank,
            inverse_gamma=self.preimage_gamma,
            inverse_alpha=self.preimage_alpha,
            inverse_output_rank=self.preimage_output_rank,
            random_state=seed,
        )
        scores = self.embedding_.fit_transform(X)
        latent = scores.reshape(n_times, n_fields, -1).transpose(1, 0, 2)
        fields = store.fields[samples]
        stages.update()
        stages.set_postfix_str("feature-space integrator")
        self.integrator_ = FeatureSpaceIntegrator(
            nu=self.nu,
            rank=self.integrator_rank,
            gamma=self.integrator_gamma,
            alpha=self.integrator_alpha,
            target=self.integrator_target,
            field_weight=self.field_weight,
            n_segments=min(self.integrator_segments, n_times - 1),
            segment_overlap=self.integrator_segment_overlap,
            landmarks=self.landmarks,
            random_state=seed,
        ).fit(latent, fields)
        stages.update()
        stages.close()
        self.c0_ = latent[:, 0].mean(axis=0)
        self._set_training_info(store, samples, states[0], seed)
        return self

    def _check_params(self):
        """Refuse bad hyper-parameters by the names this model gives them."""
        for name in (
            "n_components",
            "embedding_rank",
            "preimage_rank",
            "nu",
            "integrator_rank",
            "integrator_segments",
        ):
            check_int(name, getattr(self, name))
        check_int("integrator_segment_overlap", self.integrator_segment_overlap, 0)
        if self.preimage_output_rank is not None:
            check_int("preimage_output_rank", self.preimage_output_rank)
        if self.embedding_gamma is not None:
            check_gamma(self.embedding_gamma, "embedding_gamma")
        for name in ("preimage_gamma", "integrator_gamma"):
            value = getattr(self, name)
            if isinstance(value, str):
                if value != "median":
                    raise ValueError(f'{name}={value!r}: give a number or "median".')
            else:
                check_gamma(value, name)
        for name in ("preimage_alpha", "integrator_alpha", "field_weight"):
            check_positive(name, getattr(self, name))
        if self.integrator_target not in TARGETS:
            raise ValueError(
                f"integrator_target={self.integrator_target!r} must be one of "
                f"{TARGETS}."
            )
        if self.landmarks not in LANDMARK_METHODS:
            raise ValueError(
                f"landmarks={self.landmarks!r} must be one of {LANDMARK_METHODS}."
            )
        check_seed("random_state", self.random_state)
        check_bool("normalize", self.normalize)
        check_verbosity("verbose", self.verbose)
        if self.n_components > self.embedding_rank:
            raise ValueError(
                f"n_components={self.n_components} exceeds embedding_rank="
                f"{self.embedding_rank}: the principal components are taken from "
                "that many features."
            )

    def capped_params(self):
        """Return the ranks (and segments) the training data made smaller, as used.

        See :meth:`SurrogateModel.capped_params`: each map's rank is at most its
        number of training rows, and ``integrator_segments`` at most the number of
        trained steps.
        """
        self._check_fitted()
        segments = self.integrator_.segments_
        used = {
            "embedding_rank": len(self.embedding_.features_.landmarks_),
            "preimage_rank": len(self.embedding_.preimage_.features_.landmarks_),
            "integrator_rank": max(len(s.features_.landmarks_) for s in segments),
            "integrator_segments": len(segments),
        }
        return {k: v for k, v in used.items() if v < getattr(self, k)}

    def _check_data_size(self, n_fields, n_times):
        """Refuse training data with fewer states than ``n_components``."""
        n_states = n_fields * n_times
        if self.n_components > n_states:
            raise ValueError(
                f"The training data hold {n_states} states ({n_fields} fields x "
                f"{n_times} outputs, t = 0 included), fewer than n_components="
                f"{self.n_components}: lower n_components or simulate more fields."
            )

    def encode(self, m):
        """Return the latent coordinates of unit magnetisations ``(k, 3N)``."""
        self._check_fitted()
        return self.embedding_.transform(self._check_states(m))

    def decode(self, latent):
        """Return the unit magnetisations ``(k, 3N)`` of latent states ``(k, d)``.

        The pre-image map's coordinates (in its reduced output basis) are computed
        in float64, where its large coefficients need it; the product with the
        orthonormal basis and the normalisation run in float32, like the
        training data (errors of order 1e-7).
        """
        self._check_fitted()
        preimage = self.embedding_.preimage_
        latent = np.atleast_2d(as_float_array(latent, "latent"))
        d = self.embedding_.components_.shape[1]
        if latent.ndim != 2 or latent.shape[1] != d:
            raise ValueError(
                f"latent must be (k, {d}): {d} latent coordinates per state, not "
                f"shape {latent.shape}."
            )
        coords = preimage.features_.landmark_kernel(latent) @ preimage.landmark_coef_
        if preimage.output_basis_ is None:
            m = coords.astype(np.float32)
        else:
            m = coords.astype(np.float32) @ self._output_basis32()
        return fix_cells(m, self.Ms_ > 0, self.normalize)

    def _output_basis32(self):
        basis = self.embedding_.preimage_.output_basis_
        cached = self.__dict__.get("_basis32")
        if cached is None or cached[0] is not basis:
            self._basis32 = (basis, basis.astype(np.float32))
        return self._basis32[1]

    def _initial_latent(self, fields, m0):
        return self.c0_ if m0 is None else self.encode(m0)[0]

    def _state(self):
        emb, inv, step = self.embedding_, self.embedding_.preimage_, self.integrator_
        arrays = {
            **_export_features(emb.features_, "embedding"),
            "embedding.mean": emb.mean_,
            "embedding.components": emb.components_,
            "embedding.eigenvalues": emb.eigenvalues_,
            **_export_ridge(inv, "preimage"),
            "integrator.segment_starts": step.segment_starts_,
            "integrator.field_columns": step.field_columns_,
            "integrator.field_mean": step.field_mean_,
            "integrator.field_scale": step.field_scale_,
            "integrator.latent_scale": np.array(step.latent_scale_),
            "c0": self.c0_,
        }
        for i, segment in enumerate(step.segments_):
            arrays.update(_export_ridge(segment, f"integrator.{i}"))
        return self.get_params(), arrays

    @classmethod
    def _from_state(cls, params, arrays):
        model = cls(**params)
        emb = LowRankKernelPCA(
            n_components=model.n_components, rank=len(arrays["embedding.landmarks"])
        )
        emb.features_ = _import_features(arrays, "embedding")
        emb.mean_ = arrays["embedding.mean"]
        emb.components_ = arrays["embedding.components"]
        emb.eigenvalues_ = arrays["embedding.eigenvalues"]
        emb.n_features_in_ = emb.features_.n_features_in_
        emb.preimage_ = _import_ridge(arrays, "preimage")
        model.embedding_ = emb
        step = FeatureSpaceIntegrator(
            nu=model.nu,
            target=model.integrator_target,
            field_weight=model.field_weight,
            n_segments=len(arrays["integrator.segment_starts"]),
            segment_overlap=model.integrator_segment_overlap,
        )
        step.segment_starts_ = arrays["integrator.segment_starts"]
        step.segments_ = [
            _import_ridge(arrays, f"integrator.{i}")
            for i in range(len(step.segment_starts_))
        ]
        step.field_columns_ = arrays["integrator.field_columns"]
        step.field_mean_ = arrays["integrator.field_mean"]
        step.field_scale_ = arrays["integrator.field_scale"]
        step.latent_scale_ = float(arrays["integrator.latent_scale"])
        step.n_latent_ = emb.components_.shape[1]
        step.nu_, step.target_ = step.nu, step.target
        step.field_weight_ = float(step.field_weight)
        model.integrator_ = step
        model.c0_ = arrays["c0"]
        return model
