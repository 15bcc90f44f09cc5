# %% [markdown]
# # A surrogate of your own system
#
# Tutorials 01-03 use muMAG standard problem 4. Here the whole pipeline runs on a
# system defined in the notebook: a small permalloy element, a field domain given
# as a Cartesian box, training data simulated from its relaxed state, a kernel
# surrogate, held-out fields scored, and the surrogate driving the system like
# `oommfc.TimeDriver`.
#
# Run it as a script: `python tutorials/04_your_own_system.py` (about 2 minutes on
# 2 cores with the defaults; `OWN_N_FIELDS` and `OWN_T` change the number of
# training fields and the simulated time).

# %%
import os

import discretisedfield as df
import micromagneticdata as md
import micromagneticmodel as mm
import numpy as np

import ubermag_surrogate as us
from ubermag_surrogate.data import FieldDomain
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.data.store import TrajectoryStore
from ubermag_surrogate.models import KernelSurrogate
from ubermag_surrogate.problems import Problem

n_fields = int(os.environ.get("OWN_N_FIELDS", "60"))
t = float(os.environ.get("OWN_T", "5e-10"))  # s
n = max(1, round(t / 1e-11))  # outputs every 10 ps
# stores named after the time step: a store keeps one t and n (a rerun with
# other OWN_N_FIELDS appends to it, and the model trains on the fields asked for)
train_store, test_store = f"element_train_{n}.zarr", f"element_test_{n}.zarr"

# %% [markdown]
# ## The system
# A 100 x 50 x 5 nm permalloy element in 5 nm cells, magnetised along +x. The
# factory returns a fresh system each time it is called, with energy (no Zeeman
# term: the swept field is added per sample), dynamics and the magnetisation to
# start from. With `relax=True` that state is relaxed first (once; it is cached).


# %%
def element():
    mesh = df.Mesh(p1=(0, 0, 0), p2=(100e-9, 50e-9, 5e-9), cell=(5e-9, 5e-9, 5e-9))
    system = mm.System(name="element")
    system.energy = mm.Exchange(A=1.3e-11) + mm.Demag()
    system.dynamics = mm.Precession(gamma0=mm.consts.gamma0) + mm.Damping(alpha=0.02)
    system.m = df.Field(mesh, nvdim=3, value=(1, 0.1, 0), norm=8e5)
    return system


problem = Problem("element", element, relax=True)

# %% [markdown]
# ## Training and held-out fields
# mu0 H with Bx in [-40, -20] mT (against the magnetisation), By in [-10, 10] mT,
# in the plane (Bz = 0): a Cartesian box. Training fields from a Sobol design,
# held-out fields drawn independently. Each store is resumable.

# %%
domain = FieldDomain(box=((-40, -20), (-10, 10), (0, 0)), name="element_reversal")
train_fields = domain.sample(n_fields, method="sobol", seed=0)
generate(
    problem,
    train_fields,
    t=t,
    n=n,
    store=train_store,
    domain=domain,
)
generate(
    problem,
    domain.sample(5, method="uniform", seed=1),
    t=t,
    n=n,
    store=test_store,
    domain=domain,
)

# %% [markdown]
# ## The surrogate
# The default `KernelSurrogate`; `describe()` says what it was trained on.
# `evaluate` scores it on the held-out fields (mean over fields of the max over
# time of |<m>_pred - <m>_sim|, and the relative error of the whole trajectory).

# %%
train = TrajectoryStore(train_store)
model = KernelSurrogate().fit(train, samples=train.samples_of(train_fields))
model.save("element_kernel.npz")
print(model.describe())
evaluation = us.evaluate(model, test_store)
print(evaluation)

# %% [markdown]
# ## Drive the system with it
# The relaxed element under a field of the domain, as with `oommfc.TimeDriver`:
# `system.table`, `system.m` and a drive folder that `micromagneticdata` reads.

# %%
B = np.array([-0.035, 0.008, 0.0])  # mu0 H (T)
system = model.system(name="element_surrogate")
system.energy += mm.Zeeman(H=B / mm.consts.mu0)
us.SurrogateDriver(model=model).drive(system, t=t, n=n)
print(system.table.data[["t", "mx", "my", "mz"]].tail(3))
drive = md.Data("element_surrogate")[-1]

# %% [markdown]
# ## Where to trust it
# Across By at Bx = -30 mT: with a large enough transverse field the element
# reverses within the simulated time, with a small one it does not, and at By = 0
# the direction of rotation is a toss-up. `sensitivity=True` reports, per field, how
# much the predicted <m> changes when the field moves by 0.5 % of the domain's range:
# it is large at those boundaries, where a prediction needs checking.

# %%
transverse = np.linspace(-0.01, 0.01, 11)
grid = np.column_stack([np.full(11, -0.03), transverse, np.zeros(11)])
curves = us.SurrogateDriver(model=model).sweep(
    model.system(), B=grid, t=t, n=n, sensitivity=True
)
at_the_end = curves[["mx", "sensitivity"]].isel(t=-1).to_dataframe()
print((at_the_end[["By", "mx", "sensitivity"]] * [1e3, 1, 1]).round(3))  # By in mT

# %% [markdown]
# ## Against the full simulation
# The same request simulated and predicted from the same state.

# %%
request = model.system(name="element_compare")
request.energy += mm.Zeeman(H=B / mm.consts.mu0)
comparison = us.compare(request, model, t=t, n=n, dirname="comparison")
print(comparison.summary())
