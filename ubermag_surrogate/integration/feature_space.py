"""Feature-space integration: a nu-step time stepper on latent (kPCA) trajectories.

The seed paper fits an l-kRR map from ``[h, c^{i-nu+1}, ..., c^i]`` (2 + nu d
inputs) to ``c^{i+1}``. Before the field is applied the film sits in its initial
state, so the history for t < 0 is the initial latent state repeated: windows are
padded with it in training, and a prediction needs only c^0 and the field.

Beyond the paper (both switchable): the map can predict the increment
``c^{i+1} - c^i`` (``target="increment"``) instead of the next state (its one-step
error is smaller on SP4, its rollouts drift more); inputs are standardised (fields
per component, latent states by one global scale so the kPCA ordering of variances
is kept) before the RBF kernel.
"""

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..lowrank import LowRankKernelRidge

TARGETS = ("increment", "state")


class FeatureSpaceIntegrator(BaseEstimator):
    """nu-step l-kRR integrator of latent trajectories under constant fields.

    Parameters
    ----------
    nu : int
        Number of past latent states in the input (paper: 5).
    rank : int
        Nystroem rank of the l-kRR map.
    gamma : float or "median"
        RBF width on the standardised inputs (paper: 1; default: median heuristic).
    alpha : float
        Ridge regularisation.
    target : str
        ``"state"`` (c^{i+1}, the paper, default) or ``"increment"`` (c^{i+1} - c^i).
    field_weight : float
        Factor on the standardised field inputs (their weight in the kernel
        distance relative to the latent history).
    landmarks : str
        Landmark choice of the l-kRR map (see ``NystroemFeatures``).
    random_state : int
        Seed.

    Attributes
    ----------
    krr_ : LowRankKernelRidge
        The fitted map.
    field_mean_, field_scale_ : numpy.ndarray
        Standardisation of the field components that vary in training.
    field_columns_ : numpy.ndarray
        Indices of those components.
    latent_scale_ : float
        Standard deviation of the latent coordinates (one global scale).
    """

    def __init__(
        self,
        nu=5,
        rank=1000,
        gamma="median",
        alpha=1e-4,
        target="state",
        field_weight=1.0,
        landmarks="random",
        random_state=0,
    ):
        self.nu = nu
        self.rank = rank
        self.gamma = gamma
        self.alpha = alpha
        self.target = target
        self.field_weight = field_weight
        self.landmarks = landmarks
        self.random_state = random_state

    def _check(self):
        if isinstance(self.nu, bool) or not isinstance(self.nu, numbers.Integral):
            raise ValueError(f"nu must be a positive integer, not {self.nu!r}.")
        if self.nu < 1:
            raise ValueError(f"nu must be a positive integer, not {self.nu!r}.")
        if self.target not in TARGETS:
            raise ValueError(f"target={self.target!r} must be one of {TARGETS}.")

    def set_scaling(self, latent, fields):
        """Set the input standardisation from training trajectories and fields.

        Field components that do not vary in training (e.g. Bz = 0 for in-plane
        domains) are left out of the inputs.
        """
        self._check()
        std = fields.std(axis=0)
        varying = std > 1e-12 * max(np.abs(fields).max(), 1e-30)
        self.field_columns_ = np.flatnonzero(varying)
        self.field_mean_ = fields[:, self.field_columns_].mean(axis=0)
        self.field_scale_ = std[self.field_columns_]
        self.latent_scale_ = float(latent.std()) or 1.0
        return self

    def field_inputs(self, fields):
        """Return standardised, weighted field inputs ``(k, n_field_inputs)``."""
        fields = np.asarray(fields, dtype=np.float64)[:, self.field_columns_]
        return (fields - self.field_mean_) / self.field_scale_ * self.field_weight

    def windows(self, latent, fields):
        """Training inputs and targets from latent trajectories.

        Parameters
        ----------
        latent : numpy.ndarray
            Shape ``(n_fields, s+1, d)``.
        fields : numpy.ndarray
            Shape ``(n_fields, 3)``, mu0 H (T).

        Returns
        -------
        inputs : numpy.ndarray
            ``(n_fields * s, n_field_inputs + nu d)``.
        targets : numpy.ndarray
            ``(n_fields * s, d)``, scaled like the latent inputs.
        """
        n_fields, n_times, d = latent.shape
        scaled = latent / self.latent_scale_
        padded = np.concatenate(
            [np.repeat(scaled[:, :1], self.nu - 1, axis=1), scaled], axis=1
        )
        history = sliding_window_view(padded, self.nu, axis=1)[:, : n_times - 1]
        history = history.transpose(0, 1, 3, 2).reshape(n_fields, n_times - 1, -1)
        h = np.repeat(self.field_inputs(fields)[:, None, :], n_times - 1, axis=1)
        inputs = np.concatenate([h, history], axis=2).reshape(
            -1, h.shape[2] + self.nu * d
        )
        if self.target == "increment":
            targets = scaled[:, 1:] - scaled[:, :-1]
        else:
            targets = scaled[:, 1:]
        return inputs, targets.reshape(-1, d)

    def fit(self, latent, fields):
        """Fit the step map on latent trajectories ``(n_fields, s+1, d)``."""
        self._check()
        latent = np.asarray(latent, dtype=np.float64)
        fields = np.asarray(fields, dtype=np.float64)
        if latent.ndim != 3 or latent.shape[1] < 2:
            raise ValueError(
                f"latent must be (n_fields, s+1, d) with s >= 1, got {latent.shape}."
            )
        if fields.shape != (latent.shape[0], 3):
            raise ValueError(
                f"fields must be ({latent.shape[0]}, 3), got {fields.shape}."
            )
        self.set_scaling(latent, fields)
        inputs, targets = self.windows(latent, fields)
        self.krr_ = LowRankKernelRidge(
            rank=min(self.rank, len(inputs)),
            gamma=self.gamma,
            alpha=self.alpha,
            landmarks=self.landmarks,
            random_state=self.random_state,
        ).fit(inputs, targets)
        self.n_latent_ = latent.shape[2]
        return self

    def rollout(self, c0, fields, n_steps):
        """Integrate from latent initial states.

        Parameters
        ----------
        c0 : numpy.ndarray
            Initial latent states, ``(k, d)`` (or ``(d,)`` for all fields).
        fields : numpy.ndarray
            mu0 H (T), ``(k, 3)``.
        n_steps : int
            Number of steps.

        Returns
        -------
        numpy.ndarray
            Latent trajectories ``(k, n_steps + 1, d)``, c^0 included.
        """
        check_is_fitted(self, "krr_")
        fields = np.atleast_2d(np.asarray(fields, dtype=np.float64))
        k, d = len(fields), self.n_latent_
        c0 = np.broadcast_to(np.asarray(c0, dtype=np.float64), (k, d))
        h = self.field_inputs(fields)
        history = np.repeat((c0 / self.latent_scale_)[:, None, :], self.nu, axis=1)
        out = np.empty((k, n_steps + 1, d))
        out[:, 0] = c0
        for i in range(1, n_steps + 1):
            step = self.krr_.predict(
                np.concatenate([h, history.reshape(k, -1)], axis=1)
            )
            new = history[:, -1] + step if self.target == "increment" else step
            history = np.concatenate([history[:, 1:], new[:, None, :]], axis=1)
            out[:, i] = new * self.latent_scale_
        return out
