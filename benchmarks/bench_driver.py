"""Drive latency of SurrogateDriver against the full simulation of the same request.

SP4 field 2 for 1 ns with 100 outputs, from the s-state: the surrogate's drive
with files (drive folder, as oommfc), without files (``save=False``), its bare
prediction, and the full simulation with the calculator (OOMMF if oommfc finds
it, else the embedded one). Needs a trained model, or a store to train one::

    python benchmarks/bench_driver.py --model sp4_field2_kernel.npz
    python benchmarks/bench_driver.py --data data/sp4_field2_train.zarr

Prints a table and writes JSON (default ``benchmarks/results/driver.json``).
"""

import argparse
import pathlib
import statistics
import tempfile
import time
import warnings

from _args import existing_file, positive_int
from _results import write_results

import ubermag_surrogate as us
from ubermag_surrogate.models import KernelSurrogate, load
from ubermag_surrogate.problems import sp4

HERE = pathlib.Path(__file__).parent


def _times(run, repeat):
    values = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        values.append(time.perf_counter() - start)
    return {"best_s": min(values), "median_s": statistics.median(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=existing_file, help="saved model (.npz)")
    source.add_argument("--data", help="training store to fit a KernelSurrogate on")
    parser.add_argument("--repeat", type=positive_int, default=10)
    parser.add_argument("--calculator", default="auto")
    parser.add_argument("--t", type=float, default=1e-9)
    parser.add_argument("--steps", type=positive_int, default=100)
    parser.add_argument("--out", default=str(HERE / "results" / "driver.json"))
    args = parser.parse_args()
    if args.data and not pathlib.Path(args.data).exists():
        parser.error(f"--data {args.data!r}: no such store")
    model = load(args.model) if args.model else KernelSurrogate().fit(args.data)
    driver = us.SurrogateDriver(model=model)
    calc = us.calculator(args.calculator)
    t, n = args.t, args.steps

    def request(name):
        system = model.system(name=name)
        system.energy += sp4.zeeman(sp4.FIELD2)
        return system

    results = {}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # driving on from predicted states warns
        system = request("bench")
        m0 = system.m.array.copy()

        def drive_with_files():
            system.m.array = m0
            driver.drive(system, t=t, n=n, dirname=tmp, verbose=0)

        def drive_in_memory():
            system.m.array = m0
            driver.drive(system, t=t, n=n, save=False, verbose=0)

        field = list(sp4.FIELD2)
        drive_with_files()  # warm-up
        results["surrogate drive, files"] = _times(drive_with_files, args.repeat)
        results["surrogate drive, save=False"] = _times(drive_in_memory, args.repeat)
        results["surrogate prediction only"] = _times(
            lambda: model.predict(field, t=t, n=n).m, args.repeat
        )
        simulation = request("full")
        results[f"full simulation ({calc.__name__})"] = _times(
            lambda: calc.TimeDriver().drive(
                simulation, t=t, n=n, dirname=tmp, verbose=0
            ),
            1,
        )
    full = next(v for k, v in results.items() if k.startswith("full"))["best_s"]
    print(f"SP4 field 2, t = {t:g} s, n = {n} (best of {args.repeat})")
    print(f"{'what':40} {'best (ms)':>10} {'median (ms)':>12} {'speed-up':>9}")
    for name, r in results.items():
        print(
            f"{name:40} {r['best_s'] * 1e3:10.1f} {r['median_s'] * 1e3:12.1f} "
            f"{full / r['best_s']:8.0f}x"
        )
    write_results(
        args.out,
        "driver",
        request={"field_T": list(sp4.FIELD2), "t": t, "n": n},
        model={
            "kind": model.kind,
            "id": model.model_id,
            "training_data": model.fingerprint_,
        },
        repeat=args.repeat,
        results=results,
    )


if __name__ == "__main__":
    main()
