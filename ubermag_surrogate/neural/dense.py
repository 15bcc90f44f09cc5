"""Dense networks: built and trained with Keras, evaluated with numpy.

A :class:`DenseStack` holds the weights of a stack of Keras ``Dense`` layers
(dropout layers are the identity at prediction time) and evaluates it with numpy
matrix products. :func:`train` runs Keras' ``fit`` with a progress bar.
"""

import contextlib
import contextvars
import importlib.util
import json
import os
import random
import sys
import warnings

import numpy as np

from .._progress import progress_bar


class TrainingInterrupted(UserWarning):
    """Training stopped by Ctrl-C; the weights reached so far are kept."""


ACTIVATIONS = ("elu", "linear")


def _configured_backend_is_installed():
    """Whether Keras' configured backend can train here.

    The configuration is ``KERAS_BACKEND``, else the ``backend`` of Keras'
    ``keras.json`` (which Keras writes on first import), else Keras' default,
    TensorFlow.
    """
    if os.environ.get("KERAS_BACKEND"):  # set and not empty (empty: unset)
        return True
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    try:
        with open(os.path.join(home, "keras.json")) as f:
            backend = json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        backend = "tensorflow"
    trainable = {"tensorflow", "jax", "torch"}
    return backend in trainable and importlib.util.find_spec(backend) is not None


def import_keras():
    """Import Keras 3, with the torch backend where the configured one is missing.

    ``KERAS_BACKEND`` and an installed backend named in Keras' ``keras.json`` are
    respected; a Keras already imported keeps its backend.

    Raises
    ------
    ImportError
        When Keras 3 is not installed, saying how to install it.
    """
    if "keras" not in sys.modules and not _configured_backend_is_installed():
        os.environ["KERAS_BACKEND"] = "torch"  # installed with the embedded extra
    if importlib.util.find_spec("keras") is None:
        raise ImportError(
            "Training a neural surrogate needs Keras 3: "
            "pip install 'ubermag-surrogate[neural]' (and torch, see the README)."
        )
    state = random.getstate()  # rich, which Keras imports, draws from it
    try:
        import keras
    except ImportError as error:  # e.g. KERAS_BACKEND names a missing package
        raise ImportError(
            f"Keras could not start with backend "
            f"{os.environ.get('KERAS_BACKEND', 'from keras.json')!r}: {error}. "
            "Install that backend (torch: pip install torch, a CPU build on "
            "machines without a GPU, see the README), or set KERAS_BACKEND to one "
            "that is installed (jax, tensorflow)."
        ) from error
    finally:
        random.setstate(state)
    if int(keras.__version__.split(".")[0]) < 3:  # pragma: no cover - old installs
        raise ImportError(f"Keras 3 is needed, found {keras.__version__}.")
    return keras


@contextlib.contextmanager
def keras_seed(keras, seed):
    """Seed a Keras build and fit; keep the caller's global random generators.

    ``keras.utils.set_random_seed`` (Keras' way to make a fit reproducible) also
    seeds Python's and numpy's global generators, torch's with the torch
    backend, and Keras' own global seed and ``SeedGenerator`` (unseeded
    ``keras.random`` calls): their states are restored on exit, so a fit does not
    change the random numbers of the caller's code. (TensorFlow's global seed,
    which Keras also sets when TensorFlow is installed, cannot be read back and
    stays set.) ``seed`` None: a seed drawn from the operating system's entropy,
    since torch's generator starts each process from one fixed seed (unseeded fits
    in fresh processes would all be the same network).
    """
    # the legacy global generator is what Keras seeds, so it is what to restore
    states = random.getstate(), np.random.get_state()  # noqa: NPY002
    keras_state = _keras_random_state()
    if seed is None:
        seed = np.random.SeedSequence().generate_state(1)[0]
    with contextlib.ExitStack() as restore:
        if keras.backend.backend() == "torch":
            import torch

            restore.enter_context(torch.random.fork_rng())
        keras.utils.set_random_seed(int(seed))
        try:
            yield
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])  # noqa: NPY002
            _set_keras_random_state(keras_state)


# Keras keeps its global seed and SeedGenerator in its global state under these
# names (keras.src.utils.rng_utils, keras.src.random.seed_generator; Keras 3)
_KERAS_RANDOM = ("global_random_seed", "global_seed_generator")


def _keras_random_state():
    """Return Keras' global seed and SeedGenerator (None where Keras lacks them)."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - another Keras layout
        return None
    return {name: global_state.get_global_attribute(name) for name in _KERAS_RANDOM}


def _set_keras_random_state(state):
    """Put back what :func:`_keras_random_state` returned.

    The generator object itself goes back: the fit drew from a new one, so the
    caller's stream goes on where it was.
    """
    if state is None:  # pragma: no cover - another Keras layout
        return
    from keras.src.backend.common import global_state

    for name, value in state.items():
        global_state.set_global_attribute(name, value)


def dense_layers(keras, widths, dropout, dropout_after, name):
    """Keras layers: ``Dense(w, elu)`` for each width, ``Dropout`` after some.

    Parameters
    ----------
    keras : module
        The imported Keras.
    widths : tuple of int
        Widths of the hidden (elu) layers.
    dropout : float
        Dropout rate (0: no dropout layers).
    dropout_after : container of int
        Indices of the hidden layers followed by a dropout layer.
    name : str
        Prefix of the layer names.
    """
    layers = []
    for i, width in enumerate(widths):
        layers.append(keras.layers.Dense(width, activation="elu", name=f"{name}_{i}"))
        if dropout > 0 and i in dropout_after:
            layers.append(keras.layers.Dropout(dropout, name=f"{name}_dropout_{i}"))
    return layers


def _elu(x):
    """In-place elu: x for x > 0, exp(x) - 1 otherwise."""
    negative = np.minimum(x, 0)
    np.expm1(negative, out=negative)
    np.maximum(x, 0, out=x)
    x += negative
    return x


class DenseStack:
    """Weights of a stack of dense layers, evaluated with numpy.

    Parameters
    ----------
    kernels, biases : list of numpy.ndarray
        Per layer ``(n_in, n_out)`` and ``(n_out,)``.
    activations : list of str
        Per layer, ``"elu"`` or ``"linear"``.
    dtype : numpy dtype
        Precision of evaluation (the arrays are cast once).
    """

    def __init__(self, kernels, biases, activations, dtype=np.float32):
        if not len(kernels) == len(biases) == len(activations):
            raise ValueError("kernels, biases and activations differ in length.")
        unknown = set(activations) - set(ACTIVATIONS)
        if unknown:
            raise ValueError(f"Unknown activations {sorted(unknown)}.")
        self.kernels = [np.ascontiguousarray(k, dtype=dtype) for k in kernels]
        self.biases = [np.asarray(b, dtype=dtype) for b in biases]
        self.activations = list(activations)

    @classmethod
    def from_keras(cls, layers, dtype=np.float32):
        """Collect the Dense layers of a sequence of Keras layers (others skipped)."""
        dense = [layer for layer in layers if hasattr(layer, "kernel")]
        names = []
        for layer in dense:
            name = layer.get_config()["activation"]
            names.append(name if isinstance(name, str) else "unknown")
        return cls(
            [np.asarray(layer.kernel.numpy()) for layer in dense],
            [np.asarray(layer.bias.numpy()) for layer in dense],
            names,
            dtype=dtype,
        )

    @property
    def n_inputs(self):
        """Number of inputs of the first layer."""
        return self.kernels[0].shape[0]

    @property
    def n_outputs(self):
        """Number of outputs of the last layer."""
        return self.kernels[-1].shape[1]

    def __call__(self, x):
        """Evaluate on inputs ``(k, n_inputs)``; return ``(k, n_outputs)``."""
        x = np.asarray(x, dtype=self.kernels[0].dtype)
        for kernel, bias, activation in zip(
            self.kernels, self.biases, self.activations, strict=True
        ):
            x = x @ kernel
            x += bias
            if activation == "elu":
                _elu(x)
        return x

    def to_arrays(self, prefix):
        """Return the weights as named arrays for a model file."""
        arrays = {f"{prefix}.activations": np.array(self.activations)}
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            arrays[f"{prefix}.{i}.kernel"] = kernel
            arrays[f"{prefix}.{i}.bias"] = bias
        return arrays

    @classmethod
    def from_arrays(cls, arrays, prefix, dtype=np.float32):
        """Rebuild from :meth:`to_arrays` output."""
        activations = [str(a) for a in arrays[f"{prefix}.activations"]]
        n = len(activations)
        return cls(
            [arrays[f"{prefix}.{i}.kernel"] for i in range(n)],
            [arrays[f"{prefix}.{i}.bias"] for i in range(n)],
            activations,
            dtype=dtype,
        )


_KEEP_INTERRUPTED = contextvars.ContextVar("keep_interrupted", default=True)


@contextlib.contextmanager
def interrupts_stop_fits():
    """Within this block, Ctrl-C in a network's training is raised, not kept.

    Outside, an interrupted training keeps the weights reached and the fit goes
    on (what a user at a notebook wants of one long fit). Code that runs many
    fits, such as a hyper-parameter search, must stop at Ctrl-C instead of
    scoring a part-trained candidate as if it were whole.
    """
    token = _KEEP_INTERRUPTED.set(False)
    try:
        yield
    finally:
        _KEEP_INTERRUPTED.reset(token)


def train(
    model,
    inputs,
    targets,
    *,
    epochs,
    batch_size,
    learning_rate,
    desc,
    verbose,
    callbacks=(),
):
    """Fit a Keras model with Adam and the mean squared error.

    Parameters
    ----------
    model : keras.Model
        Built, not compiled.
    inputs, targets : numpy.ndarray or list of them
        Training data (float32).
    epochs : int
        Passes over the training data.
    batch_size : int
        Samples per gradient step.
    learning_rate : float
        Adam's learning rate (paper: 2e-4).
    desc : str
        Label of the progress bar.
    verbose : int
        1: a progress bar over the epochs (with the loss); 0: silent.
    callbacks : sequence of keras.callbacks.Callback
        More callbacks for Keras' ``fit``.

    Returns
    -------
    losses : list of float
        Training loss per completed epoch.
    interrupted : bool
        Whether Ctrl-C ended the training before its last epoch.

    Warns
    -----
    TrainingInterrupted
        When training is interrupted (Ctrl-C) after at least one epoch: it stops
        there and keeps the weights reached so far (within
        :func:`interrupts_stop_fits`, the interrupt is raised instead).
    """
    keras = import_keras()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse"
    )
    bar = progress_bar(
        total=epochs, desc=desc, unit="epoch", disable=not verbose, leave=False
    )
    losses, interrupted = [], False

    class _Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses.append(float(logs["loss"]))
            bar.set_postfix(loss=f"{losses[-1]:.3g}")
            bar.update()

    try:
        model.fit(
            inputs,
            targets,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            verbose=0,
            callbacks=[_Progress(), *callbacks],
        )
    except KeyboardInterrupt:
        if not losses or not _KEEP_INTERRUPTED.get():
            raise
        interrupted = True
        warnings.warn(
            f"{desc}: training interrupted after {len(losses)} of {epochs} epochs; "
            "keeping the weights reached so far.",
            TrainingInterrupted,
            stacklevel=3,
        )
    finally:
        bar.close()
    return losses, interrupted
