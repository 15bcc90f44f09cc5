"""``ubermag-surrogate quickstart``: the whole pipeline on SP4, into one folder.

SP4's s-state, a small training set in the seed paper's field domain (|mu0 H| in
[30, 40] mT at [180, 200] deg) simulated with the chosen calculator, the kernel
surrogate trained on it, and SP4 field 2 predicted and compared with the full
simulation: drives, model, report, figures and a summary, all under ``--out``.
Rerunning the same command reuses the simulations already in the store.
"""

import pathlib
import time

import numpy as np


def run(args):
    """Run the quickstart; see the module docstring."""
    from .. import calculator
    from ..comparison import compare
    from ..comparison.report import json_text
    from ..data import sp4_field2_domain
    from ..data.generate import generate
    from ..data.store import TrajectoryStore
    from ..models import KernelSurrogate
    from ..problems import sp4

    out = pathlib.Path(args.out).absolute()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; name a folder.")
    # before any simulation: the surrogate keeps n_components latent coordinates
    # of the training states, and refused fewer states after minutes of work
    n_components = KernelSurrogate().n_components
    n_states = args.n_samples * (args.steps + 1)
    if args.n_samples < 2:
        raise ValueError(
            "--n-samples 1: a surrogate learns how the dynamics change with the "
            "field, from at least 2 training fields."
        )
    if n_states < n_components:
        raise ValueError(
            f"--n-samples {args.n_samples} x (--steps {args.steps} + 1) = "
            f"{n_states} training states, fewer than the {n_components} latent "
            "components of quickstart's kernel surrogate: raise --n-samples or "
            "--steps."
        )
    store_path = out / "training.zarr"
    kept = store_path.exists()
    out.mkdir(parents=True, exist_ok=True)
    calc = calculator(args.calculator)
    name = "oommf" if calc.__name__ == "oommfc" else "embedded"
    problem = sp4.problem(cell=tuple(c * 1e-9 for c in args.cell))
    print(f"SP4 on {problem.mesh.n.tolist()} cells; writing to {out}")

    print(f"\n1/3 training data: {args.n_samples} fields in {sp4_field2_domain}")
    fields = sp4_field2_domain.sample(args.n_samples, method="sobol", seed=0)
    start = time.perf_counter()
    try:
        generated = generate(
            problem,
            fields,
            t=args.t,
            n=args.steps,
            calculator=name,
            store=store_path,
            workers=args.workers,
            domain=sp4_field2_domain,
            sampling={"method": "sobol", "seed": 0, "n": args.n_samples},
        )
    except ValueError as exc:
        if not kept:
            raise
        raise ValueError(  # the store of an earlier quickstart with other settings
            f"{exc} For quickstart: give another --out, or delete {store_path} to "
            "start afresh."
        ) from None
    generate_s = time.perf_counter() - start
    if generated.failed:
        raise RuntimeError(f"{generated.failed} training simulations failed.")

    print("\n2/3 kernel surrogate")
    store = TrajectoryStore(out / "training.zarr")
    start = time.perf_counter()
    # the fields asked for (a store kept from a run with more holds more)
    model = KernelSurrogate(verbose=1).fit(store, samples=store.samples_of(fields))
    fit_s = time.perf_counter() - start
    model_path = model.save(out / "sp4_kernel.npz")
    print(f"fitted in {fit_s:.1f} s -> {model_path}")

    print("\n3/3 SP4 field 2: surrogate against full simulation")
    system = model.system(name="sp4")
    system.energy += sp4.zeeman(sp4.FIELD2)
    comparison = compare(
        system, model_path, t=args.t, n=args.steps, calculator=calc, dirname=out
    )
    figures = comparison.save(out / "comparison")

    summary = {
        "calculator": name,
        "mesh_n": problem.mesh.n.tolist(),
        "s_state_mean_m": model.m0_.reshape(3, -1).mean(axis=1).tolist(),
        "training": {
            "store": str(out / "training.zarr"),
            "n_fields": len(store.complete),
            "simulated_now": generated.completed,
            "generate_s": generate_s,
        },
        "model": {
            "path": str(model_path),
            "id": model.model_id,
            "training_data": model.fingerprint_,
            "fit_s": fit_s,
            **model.get_params(),
        },
        "field2": {
            k: v
            for k, v in comparison.to_dict().items()
            if not isinstance(v, list) or k == "field_T"
        },
        "figures": [str(p) for p in figures[1:]],
    }
    (out / "summary.json").write_text(json_text(summary), encoding="utf-8")

    m = np.asarray(summary["s_state_mean_m"])
    print(f"\ns-state <m> = ({m[0]:.5f}, {m[1]:.5f}, {m[2]:.5f})")
    print(
        f"training: {len(store.complete)} fields ({generate_s:.0f} s), kernel fit "
        f"{fit_s:.1f} s"
    )
    print(comparison.summary())
    if len(store.complete) < 100:
        print(
            f"\n(The error reflects a small training set of {len(store.complete)} "
            "fields; the seed paper's setup uses 300: --n-samples 300.)"
        )
    print(f"\nResults: {out}")
    return 0
