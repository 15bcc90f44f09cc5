# %% [markdown]
# # The neural surrogate beside the kernel surrogate
#
# The seed paper's second method (section 2.1): a dense autoencoder embeds the
# magnetisation, a feed-forward network steps the latent state under a constant
# field. Keras trains both networks; afterwards the weights are plain numpy arrays,
# so predicting, saving and loading need no Keras. `NeuralSurrogate` has the model
# interface of `KernelSurrogate`: the driver, sweeps and `compare` of tutorial 02
# take it unchanged. Here both are trained on the same fields and scored on fields
# neither has seen.
#
# Training needs Keras (`pip install -e ".[neural]"`, or `[all]`; the README's
# first command installs only `[embedded]`): checked first, before any simulation.
#
# Run it as a script: `python tutorials/03_neural_surrogate.py`. With the defaults
# (40 training and 10 held-out fields on the full SP4 mesh, networks of the paper's
# size trained for 60 + 100 epochs) it takes 10 to 30 minutes on 2 cores,
# depending on the machine: to simulate the 50 fields 3.3 to 13, for the
# autoencoder 3 to 7.5, for the integrator 3.3 to 9.5 (the training store is
# tutorial 02's: run that first, or rerun this, and the stored simulations are
# reused). `SP4_CELL_NM`, `SP4_N_FIELDS` and `SP4_T` as in tutorial 02;
# `NEURAL_EPOCHS=ae,int` sets the epochs. On a GPU, set `KERAS_BACKEND=jax` (or
# torch with CUDA) and train for longer: see `docs/neural-surrogate.md` for what
# the paper's settings reach on 300 fields.

# %%
import os

import numpy as np

import ubermag_surrogate as us
from ubermag_surrogate.data import sp4_field2_domain
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.models import KernelSurrogate, NeuralSurrogate, load
from ubermag_surrogate.neural.dense import import_keras
from ubermag_surrogate.problems import sp4

import_keras()  # Keras and a backend installed: said before minutes of simulation

cell = tuple(float(v) * 1e-9 for v in os.environ.get("SP4_CELL_NM", "5,5,3").split(","))
n_fields = int(os.environ.get("SP4_N_FIELDS", "40"))
t = float(os.environ.get("SP4_T", "1e-9"))
n = 100 if t >= 1e-9 else 20
ae_epochs, int_epochs = (
    int(v) for v in os.environ.get("NEURAL_EPOCHS", "60,100").split(",")
)

# %% [markdown]
# ## Training and held-out data
# The same fields (Sobol, seed 0) as tutorial 02, so its store is reused; the
# held-out fields are drawn with another seed.

# %%
problem = sp4.problem(cell=cell)
fields = sp4_field2_domain.sample(n_fields, method="sobol", seed=0)
domain = sp4_field2_domain
generate(problem, fields, t=t, n=n, store="sp4_tutorial.zarr", domain=domain)
held_out_fields = domain.sample(max(2, n_fields // 4), seed=7)
generate(
    problem, held_out_fields, t=t, n=n, store="sp4_tutorial_heldout.zarr", domain=domain
)

# %% [markdown]
# ## Train the neural surrogate
# `validation_fraction=0.2` holds a fifth of the training fields out: every
# `validation_interval` integrator epochs the model predicts them, and the weights
# with the lowest <m> error are kept (on a GPU run at the paper's size, the last
# epoch was not the best). `validation_patience` stops once 3 checks in a row have
# not improved. Ctrl-C during training keeps the weights reached so far.

# %%
neural = NeuralSurrogate(
    autoencoder_epochs=ae_epochs,
    integrator_epochs=int_epochs,
    validation_fraction=0.2,
    validation_interval=max(1, int_epochs // 10),
    validation_patience=3,
    verbose=1,
)
neural.fit("sp4_tutorial.zarr")
checks = neural.integrator_.validation_scores_  # [(epoch, error), ...]
print("held-out <m> error by epoch:", ", ".join(f"{e}: {v:.3f}" for e, v in checks))
print(f"weights kept from epoch {neural.integrator_.best_epoch_}")

# %% [markdown]
# One file of plain arrays and JSON, as the kernel model's; loading runs no code.

# %%
path = neural.save("sp4_tutorial_neural.npz")
loaded = load(path)
same = np.array_equal(
    loaded.predict(held_out_fields[:2]).m, neural.predict(held_out_fields[:2]).m
)
print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB; reloaded, the same: {same}")

# %% [markdown]
# ## The kernel surrogate on the same fields, and both on the held-out ones
# `evaluate` predicts every field of a store and scores it against the stored
# simulation: the largest error of <m> over time and the relative trajectory
# error, per field and over fields.

# %%
kernel = KernelSurrogate().fit("sp4_tutorial.zarr")
scores = {
    name: us.evaluate(model, "sp4_tutorial_heldout.zarr", verbose=0)
    for name, model in (("kernel", kernel), ("neural", neural))
}
for name, evaluation in scores.items():
    s = evaluation.summary()
    print(
        f"{name:>6}: <m> error mean {s['mean_m_error_mean']:.3f}, max "
        f"{s['mean_m_error_max']:.3f}; relative error {s['relative_error_mean']:.3f}; "
        f"{s['n_fields']} fields predicted in {s['predict_s'] * 1e3:.0f} ms"
    )

# %% [markdown]
# ## Drive a system with it
# Any `SurrogateModel` serves as the driver's model.

# %%
system = neural.system(name="sp4_neural_tutorial")
system.energy += sp4.zeeman(sp4.FIELD2)
us.SurrogateDriver(model=neural).drive(system, t=t, n=n)
print(system.table.data[["t", "mx", "my", "mz"]].tail(3))
