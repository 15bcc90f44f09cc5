"""Feature-space integration with a feed-forward network (seed paper, sec. 2.1).

A network maps ``[h, c^{i-nu+1}, ..., c^i]`` (field inputs and nu latent states)
to ``c^{i+1}`` (Table 2: 400-300-300-200-100 elu units, dropout after each,
linear output of size d). A one-step fit drifts in rollouts, so the paper trains
with a forward-looking objective (eq. 4): from each window the network is rolled
out ``horizon`` (f_t = 15) steps on its own predictions and the squared errors
of all of them are summed. As in :class:`FeatureSpaceIntegrator`, the history
for t < 0 is the initial state repeated, so a prediction needs only c^0 and the
field.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator

from .._checks import (
    check_fraction,
    check_hidden,
    check_int,
    check_positive,
    check_seed,
)
from ..neural.dense import (
    DenseStack,
    dense_layers,
    import_keras,
    keras_seed,
    train,
)
from .base import WindowIntegrator


class LatentNetworkIntegrator(WindowIntegrator, BaseEstimator):
    """nu-step feed-forward network integrator trained on multi-step rollouts.

    Parameters
    ----------
    nu : int
        Past latent states in the input (paper: 5).
    hidden : tuple of int
        Hidden widths (paper, Table 2: (400, 300, 300, 200, 100)).
    dropout : float
        Dropout rate after each hidden layer (the paper gives no rate; default 0.1).
    horizon : int
        Steps each training window is rolled out for the loss (paper: f_t = 15);
        capped at the trained number of steps.
    learning_rate : float
        Adam's learning rate (paper: 2e-4).
    epochs : int
        Training epochs.
    batch_size : int
        Windows per gradient step.
    validation_interval : int
        Epochs between two calls of the ``score`` given to :meth:`fit` (if any).
    validation_patience : int or None
        With a ``score``: stop training once this many calls in a row have not
        improved on the best score (None: train all epochs).
    random_state : int or None
        Seed of the weights' initialisation, dropout and shuffling (None: a seed
        drawn for each fit).
    verbose : int
        1: a progress bar over the epochs; 0: silent.

    Attributes
    ----------
    network_ : DenseStack
        The trained step map on scaled inputs (numpy weights, evaluated in float64).
    field_columns_, field_mean_, field_scale_ : numpy.ndarray
        Field components used and their standardisation (T).
    latent_scale_ : float
        One global scale of the latent coordinates.
    horizon_ : int
        The horizon used.
    loss_ : list of float
        Training loss per epoch.
    interrupted_ : bool
        Whether Ctrl-C ended the training early.
    validation_scores_ : list of (int, float)
        (epoch, score) of each check when :meth:`fit` was given a ``score``;
        empty otherwise.
    best_epoch_ : int
        The epoch whose weights were kept: the best-scored one, else the last.
    n_latent_ : int
        Latent dimension d.
    """

    _fitted = "network_"

    def __init__(
        self,
        nu=5,
        hidden=(400, 300, 300, 200, 100),
        dropout=0.1,
        horizon=15,
        learning_rate=2e-4,
        epochs=200,
        batch_size=64,
        validation_interval=10,
        validation_patience=None,
        random_state=0,
        verbose=0,
    ):
        self.nu = nu
        self.hidden = hidden
        self.dropout = dropout
        self.horizon = horizon
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_interval = validation_interval
        self.validation_patience = validation_patience
        self.random_state = random_state
        self.verbose = verbose

    def windows(self, latent, fields):
        """Training windows, fields and the ``horizon`` states after each window.

        Returns
        -------
        h : numpy.ndarray
            ``(n_windows, n_field_inputs)``.
        history : numpy.ndarray
            ``(n_windows, nu, d)``, scaled, padded with c^0 before t = 0.
        future : numpy.ndarray
            ``(n_windows, horizon, d)``, scaled.
        """
        n_fields, n_times, d = latent.shape
        scaled, history = self._history(latent)
        starts = n_times - self.horizon_  # windows ending at c^0 ... c^{s - horizon}
        future = sliding_window_view(scaled[:, 1:], self.horizon_, axis=1)[:, :starts]
        h = np.repeat(self.field_inputs(fields)[:, None], starts, axis=1)
        return (
            h.reshape(n_fields * starts, h.shape[2]),  # also with 0 field inputs
            history[:, :starts].reshape(-1, self.nu_, d),
            future.transpose(0, 1, 3, 2).reshape(-1, self.horizon_, d),
        )

    def checked_params(self, prefix=""):
        """Return the validated hyper-parameters; ValueError naming a bad one.

        ``prefix`` is put before the names ``hidden`` and ``epochs`` in messages.

        (nu, hidden, dropout, horizon, epochs, batch_size, learning_rate); the
        validation interval, patience and the seed are checked too.
        """
        check_int("validation_interval", self.validation_interval)
        if self.validation_patience is not None:
            check_int("validation_patience", self.validation_patience)
        check_seed("random_state", self.random_state)
        return (
            check_int("nu", self.nu),
            check_hidden(f"{prefix}hidden", self.hidden),
            check_fraction("dropout", self.dropout),
            check_int("horizon", self.horizon),
            check_int(f"{prefix}epochs", self.epochs),
            check_int("batch_size", self.batch_size),
            check_positive("learning_rate", self.learning_rate),
        )

    def fit(self, latent, fields, score=None):
        """Train on latent trajectories ``(n_fields, s+1, d)`` under ``fields``.

        Parameters
        ----------
        latent : array_like
            ``(n_fields, s+1, d)`` training trajectories.
        fields : array_like
            ``(n_fields, 3)`` mu0 H (T).
        score : callable, optional
            ``score(integrator) -> float``, lower is better (e.g. the rollout error
            on held-out fields), called with this integrator holding the weights of
            every ``validation_interval``-th epoch and of the last one. The
            weights that scored lowest are kept (and with ``validation_patience``
            training stops once the score has stopped improving). Without it, the
            last epoch's.
        """
        nu, hidden, dropout, horizon, epochs, batch_size, learning_rate = (
            self.checked_params()
        )
        latent, fields = self._check_trajectories(latent, fields)
        d = latent.shape[2]
        self.horizon_ = min(horizon, latent.shape[1] - 1)
        self.set_scaling(latent, fields)
        h, history, future = self.windows(latent, fields)

        keras = import_keras()
        self.n_latent_ = d
        self.validation_scores_ = []
        best, layers = {}, []

        def check(epoch):  # the weights of the step network's layers, built below
            """Score this epoch's weights; return whether patience has run out."""
            self.network_ = DenseStack.from_keras(layers, dtype=np.float64)
            value = float(score(self))
            value = value if np.isfinite(value) else np.inf  # a rollout that blew up
            self.validation_scores_.append((epoch, value))
            if not best or value < best["score"]:
                best.update(score=value, epoch=epoch, network=self.network_, at=0)
            best["at"] += 1  # checks since (and including) the best
            patience = self.validation_patience
            return patience is not None and best["at"] > patience

        interval = self.validation_interval

        class KeepBest(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if (epoch + 1) % interval == 0 and check(epoch + 1):
                    self.model.stop_training = True

        with keras_seed(keras, self.random_state):
            layers, model = _rollout_network(
                keras, h.shape[1], nu, d, hidden, dropout, self.horizon_
            )
            self.loss_, self.interrupted_ = train(
                model,
                [h.astype(np.float32), history.astype(np.float32)],
                future.astype(np.float32),
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                desc="integrator",
                verbose=self.verbose,
                callbacks=[KeepBest()] if score is not None else [],
            )
        last = len(self.loss_)
        if score is None:
            self.network_ = DenseStack.from_keras(layers, dtype=np.float64)
            self.best_epoch_ = last
            return self
        if last % interval or not best:  # the last (or interrupted) epoch's weights,
            check(last)  # also when interrupted during the first check
        self.network_, self.best_epoch_ = best["network"], best["epoch"]
        return self

    def _stepper(self, n_steps):
        return lambda x, i: self.network_(x)

    def to_arrays(self, prefix):
        """Return the fitted state as named arrays for a model file."""
        return {
            **self.network_.to_arrays(f"{prefix}.network"),
            f"{prefix}.field_columns": self.field_columns_,
            f"{prefix}.field_mean": self.field_mean_,
            f"{prefix}.field_scale": self.field_scale_,
            f"{prefix}.latent_scale": np.array(self.latent_scale_),
            f"{prefix}.horizon": np.array(self.horizon_),
            f"{prefix}.loss": np.asarray(self.loss_),
            f"{prefix}.validation_scores": np.asarray(
                self.validation_scores_, dtype=np.float64
            ).reshape(-1, 2),
            f"{prefix}.best_epoch": np.array(self.best_epoch_),
            # 0 or 1: model files hold numbers, not booleans
            f"{prefix}.interrupted": np.array(int(self.interrupted_)),
        }

    def set_arrays(self, arrays, prefix):
        """Restore the fitted state from :meth:`to_arrays` output; return self."""
        self.network_ = DenseStack.from_arrays(
            arrays, f"{prefix}.network", dtype=np.float64
        )
        self.field_columns_ = arrays[f"{prefix}.field_columns"]
        self.field_mean_ = arrays[f"{prefix}.field_mean"]
        self.field_scale_ = arrays[f"{prefix}.field_scale"]
        self.latent_scale_ = float(arrays[f"{prefix}.latent_scale"])
        self.horizon_ = int(arrays[f"{prefix}.horizon"])
        self.loss_ = arrays[f"{prefix}.loss"].tolist()
        # files written before validation existed hold neither
        scores = arrays.get(f"{prefix}.validation_scores", np.empty((0, 2)))
        self.validation_scores_ = [(int(e), float(v)) for e, v in scores]
        self.best_epoch_ = int(arrays.get(f"{prefix}.best_epoch", len(self.loss_)))
        self.interrupted_ = bool(arrays.get(f"{prefix}.interrupted", False))
        self.n_latent_ = self.network_.n_outputs
        self.nu_ = self.nu
        return self


def _rollout_network(keras, n_field_inputs, nu, d, hidden, dropout, horizon):
    """Return the step layers and a Keras model applying them ``horizon`` times.

    The model maps ``[field inputs (k, n_field_inputs), window (k, nu, d)]`` to
    the next ``horizon`` latent states ``(k, horizon, d)``, each step fed the
    window shifted by its own previous output.
    """
    layers = [
        *dense_layers(keras, hidden, dropout, range(len(hidden)), "step"),
        keras.layers.Dense(d, name="step_out"),
    ]
    step = keras.Sequential(
        [keras.Input((n_field_inputs + nu * d,)), *layers], name="step"
    )
    ops = keras.ops

    class Rollout(keras.Model):
        """The step network applied ``horizon`` times on its own outputs."""

        def __init__(self, step, horizon):
            super().__init__()
            self.step, self.horizon = step, horizon

        def call(self, inputs, training=None):
            # ``training`` must be an argument here: Keras' trainers pass
            # training=True only to a call() that takes it, and without it the
            # step network's dropout layers ran in inference mode while training
            field, window = inputs
            outputs = []
            for _ in range(self.horizon):
                flat = ops.reshape(window, (-1, nu * d))
                new = self.step(
                    ops.concatenate([field, flat], axis=1), training=training
                )
                outputs.append(new)
                window = ops.concatenate([window[:, 1:], new[:, None]], axis=1)
            return ops.stack(outputs, axis=1)

    return layers, Rollout(step, horizon)
