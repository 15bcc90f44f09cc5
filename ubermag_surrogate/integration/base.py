"""What the nu-step latent integrators share: their inputs and their rollout.

Both integrators map ``[h | c^{i-nu+1} ... c^i]`` (standardised field inputs and
the last nu latent states, divided by one global scale) to ``c^{i+1}``. Before the
field is applied the film sits in its initial state, so the history for t < 0 is
c^0 repeated: a prediction needs only c^0 and the field.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.utils.validation import check_is_fitted

from .._checks import check_fields, check_int
from .scaling import field_scaling, scale_fields


class WindowIntegrator:
    """Mixin: field inputs, padded history windows and the rollout loop.

    Subclasses (``class MyStep(WindowIntegrator, BaseEstimator)``: scikit-learn
    estimators too) set ``nu``, call :meth:`set_scaling` and set ``n_latent_`` in
    their fit, name an attribute that exists once fitted in ``_fitted``, and
    implement :meth:`_stepper`.
    A fitted integrator steps with the ``nu_`` it was fitted with: ``set_params``
    after ``fit`` changes the next fit, not the fitted map.
    """

    _fitted = None

    def set_scaling(self, latent, fields):
        """Set the input standardisation from training trajectories and fields.

        Field components that do not vary in training (e.g. Bz = 0 for in-plane
        domains) are left out of the inputs; the latent coordinates get one global
        scale, their standard deviation. Records ``nu_``, the history length of
        the map being fitted.
        """
        self.nu_ = self.nu
        self.field_columns_, self.field_mean_, self.field_scale_ = field_scaling(fields)
        self.latent_scale_ = float(latent.std()) or 1.0
        return self

    def field_inputs(self, fields):
        """Return standardised field inputs ``(k, n_field_inputs)``."""
        return scale_fields(
            fields, self.field_columns_, self.field_mean_, self.field_scale_
        )

    @staticmethod
    def _check_trajectories(latent, fields):
        """Training trajectories ``(n_fields, s+1, d)`` and fields ``(n_fields, 3)``.

        As float64 arrays, or a ValueError saying which shape was expected.
        """
        latent = np.asarray(latent, dtype=np.float64)
        fields = check_fields(fields)  # (k, 3), finite, mu0 H in T
        if latent.ndim != 3 or latent.shape[1] < 2:
            raise ValueError(
                f"latent must be (n_fields, s+1, d) with s >= 1, got {latent.shape}."
            )
        if not np.all(np.isfinite(latent)):
            raise ValueError("latent contains NaN or infinite values.")
        if fields.shape != (latent.shape[0], 3):
            raise ValueError(
                f"fields must be ({latent.shape[0]}, 3), got {fields.shape}."
            )
        return latent, fields

    def _history(self, latent):
        """Scaled trajectories and the nu-state history ending at each state.

        Returns
        -------
        scaled : numpy.ndarray
            ``latent / latent_scale_``, ``(n_fields, s+1, d)``.
        history : numpy.ndarray
            ``(n_fields, s+1, nu, d)`` (a view): entry ``[j, i]`` holds
            c^{i-nu+1} ... c^i of field j, scaled, c^0 standing in before t = 0.
        """
        scaled = latent / self.latent_scale_
        padded = np.concatenate(
            [np.repeat(scaled[:, :1], self.nu_ - 1, axis=1), scaled], axis=1
        )
        history = sliding_window_view(padded, self.nu_, axis=1)
        return scaled, history.transpose(0, 1, 3, 2)

    def _stepper(self, n_steps):
        """Return ``step(x, i)``: c^{i+1} (scaled, ``(k, d)``) from inputs ``x``.

        ``x`` is ``(k, n_field_inputs + nu d)``, ``[h | c^{i-nu+1} ... c^i]``.
        """
        raise NotImplementedError

    def rollout(self, c0, fields, n_steps, past=None, start=0):
        """Integrate from latent initial states.

        Parameters
        ----------
        c0 : numpy.ndarray
            Initial latent states, ``(k, d)`` (or ``(d,)`` for all fields).
        fields : numpy.ndarray
            mu0 H (T), ``(k, 3)``.
        n_steps : int
            Number of steps.
        past : numpy.ndarray, optional
            The ``nu - 1`` latent states before ``c0``, oldest first, ``(k, nu - 1,
            d)``: to continue a rollout. Default: ``c0`` repeated (the film at rest
            in its initial state before the field is applied).
        start : int, optional
            Step index of ``c0`` on the trained time line (default 0; it selects
            the time segment of each step): to continue a rollout.

        Returns
        -------
        numpy.ndarray
            Latent trajectories ``(k, n_steps + 1, d)``, c^0 included (float64).
        """
        check_is_fitted(self, self._fitted)
        fields = check_fields(fields)
        n_steps = check_int("n_steps", n_steps, minimum=0)
        start = check_int("start", start, minimum=0)
        k, d = len(fields), self.n_latent_
        c0 = np.asarray(c0, dtype=np.float64)
        if c0.shape not in ((d,), (k, d)):
            raise ValueError(f"c0 must be (k, d) = {(k, d)} or (d,), got {c0.shape}.")
        c0 = np.broadcast_to(c0, (k, d))
        if past is None:
            window = np.repeat(c0[:, None], self.nu_, axis=1)
        else:
            past = np.asarray(past, dtype=np.float64)
            if past.shape != (k, self.nu_ - 1, d):
                raise ValueError(
                    f"past must be (k, nu - 1, d) = {(k, self.nu_ - 1, d)}, got "
                    f"{past.shape}."
                )
            window = np.concatenate([past, c0[:, None]], axis=1)
        h = self.field_inputs(fields)
        n_h = h.shape[1]
        # The input rows [h | c^{i-nu+1} ... c^i] live in one buffer whose history
        # shifts left by d each step (no concatenation per step).
        x = np.empty((k, n_h + self.nu_ * d))
        x[:, :n_h] = h
        x[:, n_h:] = window.reshape(k, -1) / self.latent_scale_
        step = self._stepper(start + n_steps)
        out = np.empty((k, n_steps + 1, d))
        out[:, 0] = c0
        for i in range(n_steps):
            new = step(x, start + i)
            x[:, n_h:-d] = x[:, n_h + d :]
            x[:, -d:] = new
            out[:, i + 1] = new
        out[:, 1:] *= self.latent_scale_
        return out
