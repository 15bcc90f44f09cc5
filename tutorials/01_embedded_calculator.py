# %% [markdown]
# # SP4 with the embedded calculator
#
# The embedded calculator (`ubermag_surrogate.embedded`) drives
# `micromagneticmodel.System`s with magnum.np, exactly like `oommfc` drives them with
# OOMMF. This tutorial relaxes the SP4 s-state, applies SP4 field 1 for 1 ns and
# reads the result back with `micromagneticdata`.
#
# Open it in Jupyter with jupytext, or run it as a script:
# `python tutorials/01_embedded_calculator.py` (about 15 s on 2 cores).
# Set `SP4_CELL_NM=10,12.5,3` for a coarser, faster mesh.

# %%
import os

import matplotlib.pyplot as plt
import micromagneticdata as md

import ubermag_surrogate as us
from ubermag_surrogate.problems import sp4

cell_nm = [float(v) for v in os.environ.get("SP4_CELL_NM", "5,5,3").split(",")]
calc = us.calculator()  # oommfc if OOMMF is installed, else the embedded calculator

# %% [markdown]
# ## The s-state
# `sp4.system()` builds the film (500 x 125 x 3 nm, Ms = 8e5 A/m, A = 1.3e-11 J/m)
# with exchange and demagnetisation energy, magnetised along (1, 0.25, 0.1).

# %%
system = sp4.system(name="sp4_tutorial", cell=tuple(c * 1e-9 for c in cell_nm))
calc.MinDriver().drive(system)
print("s-state <m> =", system.m.orientation.mean())

# %% [markdown]
# ## Field 1 for 1 ns
# `sp4.zeeman` takes mu0 H in tesla and returns a `Zeeman` term with H in A/m.

# %%
system.energy += sp4.zeeman(sp4.FIELD1)
calc.TimeDriver().drive(system, t=1e-9, n=100)
data = system.table.data
crossing = sp4.first_zero_crossing(data["t"], data["mx"])
print(f"<mx> first crosses zero at {crossing * 1e12:.1f} ps")

# %% [markdown]
# ## Read the drive like any OOMMF drive

# %%
drive = md.Data("sp4_tutorial")[-1]
print(drive.info["driver"], drive.n, "outputs")
ax = drive.table.mpl(y=["mx", "my", "mz"])
plt.savefig("sp4_tutorial_mean_m.png")
drive[-1].orientation.sel("z").mpl(filename="sp4_tutorial_final_state.png")
print(drive.to_xarray().sizes)
