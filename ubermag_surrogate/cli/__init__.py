"""Command line: ``ubermag-surrogate <command>``.

Commands
--------
quickstart
    SP4 on this machine: relax the s-state and apply SP4 fields 1 and 2 with the
    chosen calculator (OOMMF through oommfc if found, else the embedded one), then
    write the drives, a summary and a figure of the mean magnetisation to one folder.
generate
    Training data: sample fields from a named domain, simulate each, and store the
    trajectories in a Zarr store (resumable: rerunning skips completed samples;
    a larger --n-samples with the same seed appends for uniform and Sobol sampling).
    Exits with 1 if any simulation failed (the others are stored).
"""

import argparse
import json
import pathlib
import sys
import time


def _quickstart(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import calculator
    from .problems import sp4

    out = pathlib.Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    calc = calculator(args.calculator)
    cell = tuple(c * 1e-9 for c in args.cell)
    system = sp4.system(name="sp4", cell=cell)
    print(f"SP4 mesh: {system.m.mesh.n.tolist()} cells; writing to {out}")

    start = time.perf_counter()
    calc.MinDriver().drive(system, dirname=str(out), verbose=1)
    relax_s = time.perf_counter() - start
    s_state = system.m.orientation.mean().tolist()
    summary = {
        "calculator": calc.__name__,
        "mesh_n": system.m.mesh.n.tolist(),
        "s_state_mean_m": s_state,
        "relax_wall_s": relax_s,
        "runs": {},
    }
    m_relaxed = system.m.array.copy()
    plt.style.use("default")  # Ubermag packages install their own style on import
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, (label, field) in zip(
        axes, [("field1", sp4.FIELD1), ("field2", sp4.FIELD2)], strict=True
    ):
        system.m.array = m_relaxed
        system.energy = sp4.system(cell=cell).energy + sp4.zeeman(field)
        start = time.perf_counter()
        calc.TimeDriver().drive(
            system, t=args.t, n=args.steps, dirname=str(out), verbose=1
        )
        wall = time.perf_counter() - start
        data = system.table.data
        crossing = sp4.first_zero_crossing(data["t"], data["mx"])
        summary["runs"][label] = {
            "mu0_H_T": list(field),
            "drive": f"sp4/drive-{system.drive_number - 1}",
            "wall_s": wall,
            "first_mx_zero_crossing_s": crossing,
            "final_mean_m": data[["mx", "my", "mz"]].iloc[-1].tolist(),
        }
        for comp in ("mx", "my", "mz"):
            ax.plot(data["t"] * 1e9, data[comp], label=f"<{comp}>")
        ax.set_title(
            f"SP4 {label}: $\\mu_0 H$ = ({field[0] * 1e3:g}, {field[1] * 1e3:g}) mT",
            fontsize=11,
        )
        ax.grid(alpha=0.3)
        ax.set_xlabel("t (ns)")
    axes[0].set_ylabel("mean magnetisation")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "sp4_mean_m.png", dpi=120)
    plt.close(fig)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")

    print(f"\ns-state <m> = ({s_state[0]:.5f}, {s_state[1]:.5f}, {s_state[2]:.5f})")
    print(f"{'run':8} {'wall (s)':>9} {'<mx>=0 at (ps)':>15} {'<m> at end':>30}")
    for label, run in summary["runs"].items():
        m = ", ".join(f"{v:.5f}" for v in run["final_mean_m"])
        crossing = run["first_mx_zero_crossing_s"] * 1e12
        print(f"{label:8} {run['wall_s']:9.1f} {crossing:15.1f} {'(' + m + ')':>30}")
    print(f"\nResults: {out}")
    return 0


def _generate(args):
    from .data import DOMAINS
    from .data.generate import generate
    from .problems import PROBLEMS

    problem = PROBLEMS[args.problem](cell=tuple(c * 1e-9 for c in args.cell))
    domain = DOMAINS[args.domain]
    fields = domain.sample(args.n_samples, method=args.sampling, seed=args.seed)
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    try:
        summary = generate(
            problem,
            fields,
            t=args.t,
            n=args.steps,
            calculator=args.calculator,
            store=args.out,
            workers=args.workers,
            client=client,
            scratch=args.scratch,
            keep=args.keep,
            domain=domain,
            sampling={"method": args.sampling, "seed": args.seed, "n": args.n_samples},
        )
    finally:
        if client is not None:
            client.close()
    print(summary)
    return 1 if summary.failed else 0


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _cell_nm(text):
    try:
        cell = tuple(float(c) for c in text.split(","))
    except ValueError:
        cell = ()
    if len(cell) != 3 or not all(c > 0 for c in cell):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not three positive numbers in nm, e.g. 5,5,3"
        )
    return cell


def build_parser():
    """Return the ``argparse`` parser of the ``ubermag-surrogate`` command."""
    parser = argparse.ArgumentParser(
        prog="ubermag-surrogate",
        description="Machine-learned surrogates of micromagnetic dynamics for Ubermag.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    quick = sub.add_parser(
        "quickstart",
        help="run SP4 (s-state, fields 1 and 2) and write results to one folder",
    )
    quick.add_argument("--out", default="quickstart-output", help="output folder")
    quick.add_argument(
        "--calculator",
        choices=("auto", "oommf", "embedded"),
        default="auto",
        help="full simulator (default: OOMMF if oommfc finds it, else embedded)",
    )
    quick.add_argument("--t", type=_positive_float, default=1e-9, help="time (s)")
    quick.add_argument("--steps", type=_positive_int, default=100, help="outputs")
    quick.add_argument(
        "--cell",
        type=_cell_nm,
        default="5,5,3",
        help="cell size in nm, e.g. 5,5,3 (default)",
    )
    quick.set_defaults(func=_quickstart)

    from .data.domains import DOMAINS, METHODS
    from .problems import PROBLEMS

    gen = sub.add_parser(
        "generate", help="simulate sampled field cases into a training-data store"
    )
    gen.add_argument("--problem", choices=sorted(PROBLEMS), default="sp4")
    gen.add_argument("--domain", choices=sorted(DOMAINS), default="sp4_field2")
    gen.add_argument("--n-samples", type=_positive_int, default=300)
    gen.add_argument("--sampling", choices=METHODS, default="uniform")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--t", type=_positive_float, default=1e-9, help="time (s)")
    gen.add_argument("--steps", type=_positive_int, default=100, help="outputs s")
    gen.add_argument("--cell", type=_cell_nm, default="5,5,3", help="cell in nm")
    gen.add_argument("--out", required=True, help="Zarr store to create or extend")
    gen.add_argument("--workers", type=_positive_int, help="local processes")
    gen.add_argument("--scheduler", help="Dask scheduler address (instead of local)")
    gen.add_argument(
        "--calculator", choices=("auto", "oommf", "embedded"), default="auto"
    )
    gen.add_argument("--scratch", help="folder for simulation folders (default: tmp)")
    gen.add_argument("--keep", action="store_true", help="keep simulation folders")
    gen.set_defaults(func=_generate)
    return parser


def main(argv=None):
    """Entry point of the ``ubermag-surrogate`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, RuntimeError, OSError) as exc:
        print(f"ubermag-surrogate {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
