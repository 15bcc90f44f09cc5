"""Wall time of SP4 on the full simulators: relaxation and 1 ns of dynamics.

Runs the SP4 s-state relaxation (MinDriver) and 1 ns of field-1 dynamics with
n = 100 outputs (TimeDriver) on the embedded calculator (torch threads: all cores
available, and 1), and on OOMMF through oommfc when oommfc finds it. For embedded
runs the time is split into solver start-up (importing torch and magnum.np in the
solver process), solve, and the rest (input/output, conversion to .omf). The
embedded calculator's first drive starts its solver process; later drives reuse
it, so the first drive is reported apart from the median of the others (the
first dynamics drive follows the untimed relaxation of its s-state, which has
started the solver process already).

Usage::

    python benchmarks/bench_calculators.py [--repeat 3] [--out FILE]

Prints a table and writes JSON (default ``benchmarks/results/calculators.json``).
"""

import argparse
import json
import pathlib
import statistics
import tempfile
import time

from _results import write_results

import ubermag_surrogate as us
from ubermag_surrogate import embedded
from ubermag_surrogate.embedded import solver_process
from ubermag_surrogate.embedded.drivers import default_threads
from ubermag_surrogate.problems import sp4

HERE = pathlib.Path(__file__).parent


def _time_drive(calc, task, dirname, n_threads):
    system = sp4.system(name=f"bench_{task}")
    kwargs = {} if n_threads is None else {"n_threads": n_threads}
    if task == "dynamics":
        calc.MinDriver().drive(system, dirname=dirname, verbose=0, **kwargs)
        system.energy += sp4.zeeman(sp4.FIELD1)
    start = time.perf_counter()
    if task == "relax":
        calc.MinDriver().drive(system, dirname=dirname, verbose=0, **kwargs)
    else:
        calc.TimeDriver().drive(
            system, t=1e-9, n=100, dirname=dirname, verbose=0, **kwargs
        )
    wall = time.perf_counter() - start
    drive_dir = pathlib.Path(dirname, system.name, f"drive-{system.drive_number - 1}")
    result_file = drive_dir / f"{system.name}-result.json"
    detail = json.loads(result_file.read_text()) if result_file.exists() else {}
    return wall, detail


def run(repeat):
    """Return one record per (calculator, threads, task)."""
    setups = [("embedded", embedded, default_threads()), ("embedded", embedded, 1)]
    if us.oommf_available():
        setups.append(("oommf", us.calculator("oommf", verbose=False), None))
    records = []
    for label, calc, threads in setups:
        for task in ("relax", "dynamics"):
            walls, details = [], []
            for i in range(repeat + 1):
                with tempfile.TemporaryDirectory() as tmp:
                    if i == 0 and calc is embedded:
                        solver_process.stop_all()  # the first drive starts one
                    wall, detail = _time_drive(calc, task, tmp, threads)
                walls.append(wall)
                details.append(detail)
            record = {
                "calculator": label,
                "threads": threads,
                "task": task,
                "wall_s_first": walls[0],
                "wall_s_median": statistics.median(walls[1:]),
                "wall_s_all": walls,
            }
            if details[0]:
                record["startup_s_first"] = details[0]["startup_s"]
                record["startup_s_median"] = statistics.median(
                    d["startup_s"] for d in details[1:]
                )
                record["solve_s_median"] = statistics.median(
                    d["solve_s"] for d in details[1:]
                )
                record["iterations"] = details[0]["iterations"]
            records.append(record)
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "calculators.json"))
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    records = run(args.repeat)
    print(
        f"SP4, 100 x 25 x 1 cells; first drive, then median of {args.repeat} more "
        "(embedded: reusing the solver process)"
    )
    header = (
        f"{'calculator':10} {'threads':>7} {'task':9} {'first (s)':>9} "
        f"{'start-up':>9} {'then (s)':>9} {'solve':>7} {'other':>7}"
    )
    print(header)
    print("-" * len(header))
    nan = float("nan")
    for r in records:
        solve = r.get("solve_s_median", nan)
        other = r["wall_s_median"] - r.get("startup_s_median", nan) - solve
        threads = "-" if r["threads"] is None else r["threads"]
        print(
            f"{r['calculator']:10} {threads:>7} {r['task']:9} "
            f"{r['wall_s_first']:9.2f} {r.get('startup_s_first', nan):9.2f} "
            f"{r['wall_s_median']:9.2f} {solve:7.2f} {other:7.2f}"
        )
    write_results(
        args.out,
        "calculators",
        problem="SP4 100x25x1: MinDriver relax; TimeDriver t=1e-9 n=100",
        repeat=args.repeat,
        records=records,
    )


if __name__ == "__main__":
    main()
