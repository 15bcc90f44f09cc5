"""Training-data generation throughput: simulations per minute and store size.

Generates SP4 cases (field domain 2, t = 1 ns, s = 100 outputs, 100 x 25 x 1 cells
by default) with one local worker and with one worker per core, on the embedded
calculator and on OOMMF when oommfc finds it. The s-state is relaxed (and cached)
before timing.

Usage::

    python benchmarks/bench_generate.py [--samples 4] [--cell 5,5,3] [--out FILE]

Prints a table and writes JSON (default ``benchmarks/results/generate.json``).
"""

import argparse
import pathlib
import tempfile
import time

from _results import write_results

import ubermag_surrogate as us
from ubermag_surrogate.data import sp4_field2_domain
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.embedded.drivers import default_threads
from ubermag_surrogate.problems import sp4

HERE = pathlib.Path(__file__).parent


def _size(path):
    return sum(p.stat().st_size for p in pathlib.Path(path).rglob("*") if p.is_file())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--cell", default="5,5,3", help="cell size in nm")
    parser.add_argument("--out", default=str(HERE / "results" / "generate.json"))
    args = parser.parse_args()
    cell = tuple(float(c) * 1e-9 for c in args.cell.split(","))
    problem = sp4.problem(cell=cell)
    fields = sp4_field2_domain.sample(args.samples, seed=0)
    calculators = ["embedded"] + (["oommf"] if us.oommf_available() else [])
    cores = default_threads()
    records = []
    for name in calculators:
        problem.initial_state(us.calculator(name, verbose=False))  # cache s-state
        for workers in sorted({1, cores}):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                summary = generate(
                    problem,
                    fields,
                    t=1e-9,
                    n=100,
                    calculator=name,
                    store=pathlib.Path(tmp, "bench.zarr"),
                    workers=workers,
                    progress=False,
                )
                wall = time.perf_counter() - start
                size = _size(pathlib.Path(tmp, "bench.zarr"))
            records.append(
                {
                    "calculator": name,
                    "workers": workers,
                    "samples": args.samples,
                    "failed": summary.failed,
                    "wall_s": wall,
                    "simulations_per_minute": 60 * summary.completed / wall,
                    "store_bytes_per_sample": size / args.samples,
                }
            )
    base = {r["calculator"]: r for r in records if r["workers"] == 1}
    for r in records:
        one_worker = base[r["calculator"]]["simulations_per_minute"]
        r["speedup_vs_1_worker"] = r["simulations_per_minute"] / one_worker

    n = problem.mesh.n.tolist()
    print(f"SP4 {n[0]}x{n[1]}x{n[2]}, t = 1 ns, s = 100, {args.samples} samples")
    header = (
        f"{'calculator':10} {'workers':>7} {'wall (s)':>9} {'sims/min':>9} "
        f"{'speed-up':>8} {'MB/sample':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in records:
        print(
            f"{r['calculator']:10} {r['workers']:7d} {r['wall_s']:9.1f} "
            f"{r['simulations_per_minute']:9.2f} {r['speedup_vs_1_worker']:8.2f} "
            f"{r['store_bytes_per_sample'] / 1e6:10.2f}"
        )
    write_results(args.out, "generate", mesh_n=n, records=records)


if __name__ == "__main__":
    main()
