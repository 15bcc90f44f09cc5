"""Neural pieces of the seed paper's section 2.1: dense autoencoder, network layers.

Training uses Keras 3 (``pip install "ubermag-surrogate[neural]"``) with its
configured backend (``KERAS_BACKEND``, else Keras' ``keras.json``), torch where
``KERAS_BACKEND`` is unset and that backend (TensorFlow without ``keras.json``) is
not installed. Fitted networks are kept as plain
numpy weight arrays: prediction, saving and loading need neither Keras nor its
file format, and loading never executes code.
"""

from .autoencoder import DenseAutoencoder as DenseAutoencoder
from .dense import DenseStack as DenseStack
from .dense import TrainingInterrupted as TrainingInterrupted

__all__ = ["DenseAutoencoder", "DenseStack", "TrainingInterrupted"]
