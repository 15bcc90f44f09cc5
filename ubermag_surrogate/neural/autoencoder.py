"""Dense autoencoder embedding of magnetisation states (seed paper, sec. 2.1, Table 1).

Encoder ``[h | m] -> z``: the applied field is an extra input, not an output;
decoder ``z -> m``. With the paper's sizes on SP4: 7502-400-400-(dropout)-40 and
40-400-(dropout)-400-7500, elu, trained with Adam (learning rate 2e-4) on the
squared reconstruction error.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._checks import (
    check_fraction,
    check_hidden,
    check_int,
    check_positive,
    check_seed,
)
from ..integration.scaling import field_scaling, scale_fields
from .dense import (
    DenseStack,
    dense_layers,
    import_keras,
    keras_seed,
    train,
)

ENCODE_CHUNK = 2**25
"""Input values encoded at a time by ``transform`` (128 MB of float32)."""


class DenseAutoencoder(TransformerMixin, BaseEstimator):
    """Dense autoencoder with the applied field as an extra encoder input.

    Parameters
    ----------
    n_components : int
        Latent dimension d (paper: 40).
    hidden : tuple of int
        Hidden widths of the encoder; the decoder mirrors them (paper: (400, 400)).
    dropout : float
        Dropout rate after the encoder's last and the decoder's first hidden layer
        (Table 1; the paper gives no rate, default 0.1).
    field_input : bool
        Feed the (standardised) applied field to the encoder (paper: yes).
    learning_rate : float
        Adam's learning rate (paper: 2e-4).
    epochs : int
        Training epochs.
    batch_size : int
        States per gradient step.
    random_state : int or None
        Seed of the weights' initialisation, dropout and shuffling (None: a seed
        drawn for each fit).
    verbose : int
        1: a progress bar over the epochs; 0: silent.

    Attributes
    ----------
    encoder_, decoder_ : DenseStack
        The trained networks (numpy weights).
    field_columns_, field_mean_, field_scale_ : numpy.ndarray
        Which field components are inputs and their standardisation (T).
    loss_ : list of float
        Training loss (mean squared error per value) per epoch.
    interrupted_ : bool
        Whether Ctrl-C ended the training early (its weights are those reached).
    n_features_in_ : int
        3N.
    """

    def __init__(
        self,
        n_components=40,
        hidden=(400, 400),
        dropout=0.1,
        field_input=True,
        learning_rate=2e-4,
        epochs=100,
        batch_size=64,
        random_state=0,
        verbose=0,
    ):
        self.n_components = n_components
        self.hidden = hidden
        self.dropout = dropout
        self.field_input = field_input
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    def _field_inputs(self, fields, k):
        if not self.field_input:
            return np.empty((k, 0), dtype=np.float32)
        if fields is None:
            raise ValueError("This autoencoder encodes [h | m]: give the fields.")
        fields = np.asarray(fields, dtype=np.float64)
        if fields.shape != (k, 3):
            raise ValueError(f"fields must be ({k}, 3) (mu0 H, T), not {fields.shape}.")
        scaled = scale_fields(
            fields, self.field_columns_, self.field_mean_, self.field_scale_
        )
        return scaled.astype(np.float32)

    def checked_params(self, prefix=""):
        """Return the validated hyper-parameters; ValueError naming a bad one.

        ``prefix`` is put before the names ``hidden`` and ``epochs`` in messages.

        (n_components, hidden, dropout, epochs, batch_size, learning_rate); the
        seed is checked too.
        """
        check_seed("random_state", self.random_state)
        return (
            check_int("n_components", self.n_components),
            check_hidden(f"{prefix}hidden", self.hidden),
            check_fraction("dropout", self.dropout),
            check_int(f"{prefix}epochs", self.epochs),
            check_int("batch_size", self.batch_size),
            check_positive("learning_rate", self.learning_rate),
        )

    def fit(self, X, fields=None):
        """Train on unit magnetisations ``X`` ``(m, 3N)`` and their fields ``(m, 3)``.

        Parameters
        ----------
        X : array_like
            States in the store's layout (float32 is enough).
        fields : array_like, optional
            mu0 H (T) of each state; needed when ``field_input`` is true.
        """
        d, hidden, dropout, epochs, batch_size, learning_rate = self.checked_params()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or len(X) < 2:
            raise ValueError(f"X must be (m, 3N) with m >= 2, got shape {X.shape}.")
        if self.field_input:
            if fields is None:
                raise ValueError("field_input=True: give the fields of the states.")
            cols, mean, scale = field_scaling(np.asarray(fields, dtype=np.float64))
        else:
            cols, mean, scale = np.empty(0, int), np.empty(0), np.empty(0)
        self.field_columns_, self.field_mean_, self.field_scale_ = cols, mean, scale
        h = self._field_inputs(fields, len(X))

        keras = import_keras()
        with keras_seed(keras, self.random_state):
            encoder, decoder, model = _autoencoder_network(
                keras, h.shape[1], X.shape[1], d, hidden, dropout
            )
            self.loss_, self.interrupted_ = train(
                model,
                [h, X] if h.shape[1] else X,
                X,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                desc="autoencoder",
                verbose=self.verbose,
            )
        self.encoder_ = DenseStack.from_keras(encoder)
        self.decoder_ = DenseStack.from_keras(decoder)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X, fields=None):
        """Return the latent codes ``(k, d)`` of states ``(k, 3N)`` under fields."""
        check_is_fitted(self, "encoder_")
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} values per state; expected {self.n_features_in_}."
            )
        h = self._field_inputs(fields, len(X))
        rows = max(1, ENCODE_CHUNK // (h.shape[1] + X.shape[1]))
        return np.concatenate(
            [
                self.encoder_(np.concatenate([h[i : i + rows], X[i : i + rows]], 1))
                for i in range(0, max(len(X), 1), rows)  # (0, d) for no rows
            ]
        )

    def inverse_transform(self, Z):
        """Return decoded states ``(k, 3N)`` (not normalised) of codes ``(k, d)``."""
        check_is_fitted(self, "decoder_")
        return self.decoder_(np.atleast_2d(Z))

    def to_arrays(self, prefix):
        """Return the fitted state as named arrays for a model file."""
        return {
            **self.encoder_.to_arrays(f"{prefix}.encoder"),
            **self.decoder_.to_arrays(f"{prefix}.decoder"),
            f"{prefix}.field_columns": self.field_columns_,
            f"{prefix}.field_mean": self.field_mean_,
            f"{prefix}.field_scale": self.field_scale_,
            f"{prefix}.loss": np.asarray(self.loss_),
            # 0 or 1: model files hold numbers, not booleans
            f"{prefix}.interrupted": np.array(int(self.interrupted_)),
        }

    def set_arrays(self, arrays, prefix):
        """Restore the fitted state from :meth:`to_arrays` output; return self."""
        self.encoder_ = DenseStack.from_arrays(arrays, f"{prefix}.encoder")
        self.decoder_ = DenseStack.from_arrays(arrays, f"{prefix}.decoder")
        self.field_columns_ = arrays[f"{prefix}.field_columns"]
        self.field_mean_ = arrays[f"{prefix}.field_mean"]
        self.field_scale_ = arrays[f"{prefix}.field_scale"]
        self.loss_ = arrays[f"{prefix}.loss"].tolist()
        # files written before it was kept: not known, taken as not interrupted
        self.interrupted_ = bool(arrays.get(f"{prefix}.interrupted", False))
        self.n_features_in_ = self.decoder_.n_outputs
        return self


def _autoencoder_network(keras, n_field_inputs, n_values, d, hidden, dropout):
    """Return encoder and decoder layers and the Keras model ``[h, m] -> m``.

    (``m -> m`` without field inputs.) ``[h | m]`` is concatenated batch by batch
    inside the network, not as one copy of the data (0.9 GB for the paper's SP4
    tensor).
    """
    encoder = [
        *dense_layers(keras, hidden, dropout, {len(hidden) - 1}, "encoder"),
        keras.layers.Dense(d, name="latent"),
    ]
    decoder = [
        *dense_layers(keras, hidden[::-1], dropout, {0}, "decoder"),
        keras.layers.Dense(n_values, name="output"),
    ]
    m_input = keras.Input((n_values,), name="m")
    if n_field_inputs:
        h_input = keras.Input((n_field_inputs,), name="field")
        inputs = [h_input, m_input]
        y = keras.layers.Concatenate(name="field_and_m")(inputs)
    else:
        inputs = y = m_input
    for layer in (*encoder, *decoder):
        y = layer(y)
    return encoder, decoder, keras.Model(inputs, y, name="autoencoder")
