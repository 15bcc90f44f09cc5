"""The neural surrogate: dense autoencoder and feed-forward latent integrator.

Seed paper, section 2.1: states ``[h | m]`` are embedded by a dense autoencoder
(Table 1), a feed-forward network integrates the latent state in time under a
constant field (Table 2), trained on a forward-looking multi-step objective
(eq. 4, nu = 5, f_t = 15), and the decoder brings latent states back to
magnetisations. Training needs Keras 3; prediction, saving and loading use numpy
only.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone

from .._checks import check_bool, check_fraction, check_verbosity
from .._progress import fit_stages_bar
from ..data.layout import fix_cells
from ..integration import LatentNetworkIntegrator
from ..neural import DenseAutoencoder
from ..neural.dense import import_keras
from .base import ExtrapolationWarning, SurrogateModel, register
from .selection import mean_m_errors, split_fields


@register
class NeuralSurrogate(SurrogateModel, BaseEstimator):
    """Autoencoder surrogate of magnetisation dynamics (seed paper, sec. 2.1).

    Parameters
    ----------
    n_components : int
        Latent dimension d (paper: 40).
    autoencoder_hidden : tuple of int
        Hidden widths of the encoder, mirrored by the decoder (paper: (400, 400)).
    integrator_hidden : tuple of int
        Hidden widths of the integrator (paper: (400, 300, 300, 200, 100)).
    dropout : float
        Dropout rate of both networks (not given in the paper; default 0.1).
    field_input : bool
        Feed the applied field to the encoder (paper: yes).
    nu : int
        Steps of history in the integrator (paper: 5).
    horizon : int
        Steps of the forward-looking training objective (paper: f_t = 15).
    learning_rate : float
        Adam's learning rate of both networks (paper: 2e-4).
    autoencoder_epochs, integrator_epochs : int
        Training epochs of each network (not given in the paper).
    batch_size : int
        Samples per gradient step.
    validation_fraction : float
        Fraction of the training fields held out (seeded by ``random_state``) to
        choose the integrator's weights: every ``validation_interval`` epochs its
        <m> error on them (mean over the held-out fields of the max over time of
        ``|<m>_pred - <m>_true|``) is measured, and the weights with the lowest are
        kept. 0 (default): no fields held out, the last epoch's weights.
    validation_interval : int
        Integrator epochs between two checks on the held-out fields.
    validation_patience : int or None
        Stop the integrator's training once this many checks in a row have not
        improved on its best held-out error (None, default: train all epochs).
    normalize : bool
        Scale predicted cell vectors to unit length (default ``True``).
    random_state : int or None
        Seed of both networks and of the held-out fields' choice (None: a seed
        drawn for each fit, kept as ``random_state_``). Python's, numpy's and
        (torch backend) torch's global random generators are left as they were.
    verbose : int
        1: progress bars over the training stages and epochs; 0: silent.

    Attributes
    ----------
    autoencoder_ : DenseAutoencoder
        The fitted autoencoder.
    integrator_ : LatentNetworkIntegrator
        The fitted integrator (its ``validation_scores_`` and ``best_epoch_`` say
        how its weights were chosen).
    validation_samples_ : numpy.ndarray
        Samples held out by ``validation_fraction`` (empty without).

    Examples
    --------
    >>> from ubermag_surrogate.models import NeuralSurrogate
    >>> NeuralSurrogate().get_params()["horizon"]
    15
    """

    kind = "neural"

    def __init__(
        self,
        n_components=40,
        autoencoder_hidden=(400, 400),
        integrator_hidden=(400, 300, 300, 200, 100),
        dropout=0.1,
        field_input=True,
        nu=5,
        horizon=15,
        learning_rate=2e-4,
        autoencoder_epochs=100,
        integrator_epochs=200,
        batch_size=64,
        validation_fraction=0.0,
        validation_interval=10,
        validation_patience=None,
        normalize=True,
        random_state=0,
        verbose=0,
    ):
        self.n_components = n_components
        self.autoencoder_hidden = autoencoder_hidden
        self.integrator_hidden = integrator_hidden
        self.dropout = dropout
        self.field_input = field_input
        self.nu = nu
        self.horizon = horizon
        self.learning_rate = learning_rate
        self.autoencoder_epochs = autoencoder_epochs
        self.integrator_epochs = integrator_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.validation_interval = validation_interval
        self.validation_patience = validation_patience
        self.normalize = normalize
        self.random_state = random_state
        self.verbose = verbose

    def _autoencoder(self, random_state):
        return DenseAutoencoder(
            n_components=self.n_components,
            hidden=self.autoencoder_hidden,
            dropout=self.dropout,
            field_input=self.field_input,
            learning_rate=self.learning_rate,
            epochs=self.autoencoder_epochs,
            batch_size=self.batch_size,
            random_state=random_state,
            verbose=self.verbose,
        )

    def _integrator(self, random_state):
        return LatentNetworkIntegrator(
            nu=self.nu,
            hidden=self.integrator_hidden,
            dropout=self.dropout,
            horizon=self.horizon,
            learning_rate=self.learning_rate,
            epochs=self.integrator_epochs,
            batch_size=self.batch_size,
            validation_interval=self.validation_interval,
            validation_patience=self.validation_patience,
            random_state=random_state,
            verbose=self.verbose,
        )

    def _check_params(self):
        """Refuse bad hyper-parameters by the names this model gives them."""
        check_bool("normalize", self.normalize)
        check_bool("field_input", self.field_input)
        check_verbosity("verbose", self.verbose)
        self._autoencoder(self.random_state).checked_params(prefix="autoencoder_")
        self._integrator(self.random_state).checked_params(prefix="integrator_")
        check_fraction("validation_fraction", self.validation_fraction)

    def fit(self, dataset, samples=None):
        """Fit on the complete samples of a store (or the given ``samples``).

        Parameters
        ----------
        dataset : TrajectoryStore or str or pathlib.Path
            Training data.
        samples : array_like of int, optional
            Which samples (field cases) to train on; with ``validation_fraction``
            some of them are held out (``validation_samples_``).

        Notes
        -----
        Interrupting (Ctrl-C) ends the current network's training early with a
        warning and keeps the weights reached so far (after at least one epoch).
        """
        self._check_params()  # all hyper-parameters, before minutes of training
        import_keras()  # Keras and its backend installed: said before the data read
        store, samples = self._training_samples(dataset, samples)
        seed = self._fit_seed()
        autoencoder, integrator = self._autoencoder(seed), self._integrator(seed)
        fraction = check_fraction("validation_fraction", self.validation_fraction)
        held_out = np.empty(0, dtype=int)
        if fraction > 0:
            samples, held_out = split_fields(samples, fraction, seed)
        stages = fit_stages_bar(self.verbose)
        stages.set_postfix_str("reading the data tensor")
        states = store.tensor(samples, field_components=())  # (s+1, n, 3N) float32
        n_times, n_fields, three_n = states.shape
        fields = np.asarray(store.fields[samples], dtype=np.float64)
        row_fields = np.broadcast_to(fields, (n_times, n_fields, 3)).reshape(-1, 3)
        stages.update()
        stages.set_postfix_str(f"autoencoder on {n_times * n_fields} states")
        X = states.reshape(-1, three_n)
        # fitted parts stay local until both are done: an interrupted or failed
        # refit leaves the previous model whole, not a mix of old and new
        autoencoder = autoencoder.fit(X, row_fields)
        latent = autoencoder.transform(X, row_fields)
        latent = latent.reshape(n_times, n_fields, -1).transpose(1, 0, 2)
        stages.update()
        stages.set_postfix_str("latent integrator")
        score = None
        if len(held_out):
            # the model as it will be, to predict the held-out fields with; self
            # stays unfitted until the end, should training fail part-way
            probe = clone(self)
            probe._set_training_info(store, samples, states[0], seed)
            probe.autoencoder_ = autoencoder
            true_mean = store.mean_m(held_out)

            def score(candidate):
                probe.integrator_ = candidate
                with warnings.catch_warnings():
                    # held-out fields outside the training fields' box: the fit's
                    # own business, not a warning to the user who called fit
                    warnings.simplefilter("ignore", ExtrapolationWarning)
                    return mean_m_errors(probe, store, held_out, true_mean).mean()

        integrator = integrator.fit(latent, fields, score=score)
        stages.update()
        stages.close()
        self.autoencoder_, self.integrator_ = autoencoder, integrator
        self._set_training_info(store, samples, states[0], seed)
        self.validation_samples_ = held_out
        return self

    def encode(self, m, fields):
        """Return the latent codes ``(k, d)`` of unit magnetisations ``(k, 3N)``.

        ``fields`` (mu0 H in T, ``(k, 3)``) are the encoder's extra input.
        """
        self._check_fitted()
        m = self._check_states(m)
        if fields is None and self.field_input:
            raise ValueError(
                "This model's encoder takes the field as input: give the fields "
                "(mu0 H in T, one (3,) for all states or (k, 3))."
            )
        if fields is not None:
            fields = np.asarray(fields, dtype=np.float64)
            if fields.shape not in ((3,), (len(m), 3)):
                raise ValueError(
                    f"fields must be (3,) or ({len(m)}, 3) (mu0 H in T), not shape "
                    f"{fields.shape}."
                )
            if not np.all(np.isfinite(fields)):
                raise ValueError("fields contain NaN or infinite values.")
            fields = np.broadcast_to(fields, (len(m), 3))
        return self.autoencoder_.transform(m, fields)

    def decode(self, latent):
        """Return the unit magnetisations ``(k, 3N)`` (float32) of latent ``(k, d)``."""
        self._check_fitted()
        latent = np.atleast_2d(np.asarray(latent, dtype=np.float32))
        d = self.autoencoder_.decoder_.n_inputs
        if latent.ndim != 2 or latent.shape[1] != d:
            raise ValueError(
                f"latent must be (k, {d}): {d} latent coordinates per state, not "
                f"shape {latent.shape}."
            )
        m = self.autoencoder_.inverse_transform(latent)
        return fix_cells(m, self.Ms_ > 0, self.normalize)

    def interrupted_training(self):
        """Return the networks whose training Ctrl-C cut short (see the base)."""
        self._check_fitted()
        parts = (
            ("autoencoder", self.autoencoder_, self.autoencoder_epochs),
            ("integrator", self.integrator_, self.integrator_epochs),
        )
        return [
            f"{name} after {len(part.loss_)} of {epochs} epochs"
            for name, part, epochs in parts
            if getattr(part, "interrupted_", False)
        ]

    def capped_params(self):
        """Return ``horizon`` where the trained steps made it smaller, as used."""
        self._check_fitted()
        used = self.integrator_.horizon_
        return {"horizon": used} if used < self.horizon else {}

    def _initial_latent(self, fields, m0):
        m0 = self.m0_ if m0 is None else m0
        return self.encode(np.broadcast_to(m0, (len(fields), m0.size)), fields)

    def _state(self):
        params = self.get_params()
        for name in ("autoencoder_hidden", "integrator_hidden"):
            params[name] = [int(w) for w in params[name]]
        arrays = {
            **self.autoencoder_.to_arrays("autoencoder"),
            **self.integrator_.to_arrays("integrator"),
            "validation_samples": np.asarray(self.validation_samples_, dtype=int),
        }
        return params, arrays

    @classmethod
    def _from_state(cls, params, arrays):
        params = dict(params)
        for name in ("autoencoder_hidden", "integrator_hidden"):
            params[name] = tuple(params[name])
        model = cls(**params)
        seed = model.random_state
        model.autoencoder_ = model._autoencoder(seed).set_arrays(arrays, "autoencoder")
        model.integrator_ = model._integrator(seed).set_arrays(arrays, "integrator")
        model.validation_samples_ = arrays.get(
            "validation_samples", np.empty(0, dtype=int)
        )
        return model
