"""Learning curve: the kernel surrogate's held-out <m> error against training fields.

How many training fields would the surrogate need for a given accuracy? Fits the
default ``KernelSurrogate`` on random subsets of a domain's 300 training fields
(one subset and landmark seed per ``--seeds`` entry) and scores each fit on the
held-out fields of ``DOMAIN_TEST.zarr`` (default ``val``: 100 fields), as the mean
over fields of the max over time of |<m>_pred - <m>_true|. With ``--split-angle``
the fields are also scored on either side of that in-plane angle (SP4 domain 2:
below about 191 deg the trajectory depends on the field angle faster than 300
fields resolve, see ``docs/kernel-surrogate.md``). A power law fitted to the mean
errors of the larger sizes extrapolates the number of fields for ``--target``;
it is an extrapolation, printed as one. Data as for ``bench_kernel.py`` (made on
first use)::

    python benchmarks/learning_curve.py --data data --domain sp4_field2

Writes JSON (default ``benchmarks/results/learning_curve.json``).
"""

import argparse
import pathlib
import time

import numpy as np
from _args import int_list
from _data import store
from _results import write_results

from ubermag_surrogate.data import DOMAINS
from ubermag_surrogate.models import KernelSurrogate
from ubermag_surrogate.models.selection import mean_m_errors

HERE = pathlib.Path(__file__).parent


def power_law(sizes, errors):
    """Fit ``error = a * size**-b`` by least squares in log-log; return (a, b)."""
    slope, intercept = np.polyfit(np.log(sizes), np.log(errors), 1)
    return float(np.exp(intercept)), float(-slope)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="folder with the stores")
    parser.add_argument("--domain", default="sp4_field2")
    parser.add_argument(
        "--sizes", type=int_list, default=[50, 100, 150, 200, 300], help="fields"
    )
    parser.add_argument(
        "--seeds", type=int_list, default=[0, 1, 2], help="subset and landmark seeds"
    )
    parser.add_argument("--test", default="val", help="held-out store DOMAIN_TEST")
    parser.add_argument(
        "--split-angle", type=float, default=191.0, help="deg; NaN: no split"
    )
    parser.add_argument("--target", type=float, default=0.05, help="<m> error")
    parser.add_argument("--fit-from", type=int, default=100, help="smallest size fit")
    parser.add_argument("--out", default=str(HERE / "results" / "learning_curve.json"))
    args = parser.parse_args()
    train = store(args.data, args.domain, "train")
    test = store(args.data, args.domain, args.test)
    samples = train.complete
    sizes, seeds = args.sizes, args.seeds
    if max(sizes) > len(samples):
        parser.error(f"--sizes up to {max(sizes)}, the store has {len(samples)}")
    angles = DOMAINS[args.domain].coordinates(test.fields[test.complete])[:, 1]
    split = not np.isnan(args.split_angle)  # NaN: no split
    below = angles < args.split_angle if split else np.zeros(len(angles), bool)
    true_mean = test.mean_m(test.complete)

    rows = []
    print(
        f"{'fields':>6} {'seed':>4} {'mean':>7} {'sem':>6} {'median':>7} "
        + (f"{'<' + format(args.split_angle, 'g'):>7} {'>=':>7} " if split else "")
        + f"{'fit (s)':>7}"
    )
    for size in sizes:
        for seed in seeds:
            subset = np.sort(
                np.random.default_rng(seed).choice(samples, size, replace=False)
            )
            start = time.perf_counter()
            model = KernelSurrogate(random_state=seed).fit(train, samples=subset)
            fit_s = time.perf_counter() - start
            errors = mean_m_errors(model, test, test.complete, true_mean)
            row = {
                "fields": size,
                "seed": seed,
                "mean": float(errors.mean()),
                "sem": float(errors.std(ddof=1) / np.sqrt(len(errors))),
                "median": float(np.median(errors)),
                "max": float(errors.max()),
                "below_split": float(errors[below].mean())
                if split and below.any()
                else None,
                "above_split": float(errors[~below].mean())
                if split and (~below).any()
                else None,
                "fit_s": fit_s,
                "errors": errors.tolist(),
            }
            rows.append(row)
            parts = "".join(
                f"{v:7.4f} " if v is not None else f"{'-':>7} "
                for v in (row["below_split"], row["above_split"])
            )
            print(
                f"{size:6d} {seed:4d} {row['mean']:7.4f} {row['sem']:6.4f} "
                f"{row['median']:7.4f} {parts if split else ''}{fit_s:7.1f}"
            )

    curve = {}
    for part in ("mean", "below_split", "above_split"):
        by_size = [
            (s, np.mean([r[part] for r in rows if r["fields"] == s]))
            for s in sizes
            if s >= args.fit_from and all(r[part] for r in rows if r["fields"] == s)
        ]
        if len(by_size) < 2:
            continue
        a, b = power_law(*zip(*by_size, strict=True))
        reached = [s for s, e in by_size if e < args.target]
        if reached:  # measured, not extrapolated
            needed, how = float(min(reached)), "measured: below it from"
        else:
            needed = (a / args.target) ** (1 / b) if b > 0 else float("inf")
            how = "extrapolated: would need about"
        curve[part] = {
            "a": a,
            "b": b,
            f"fields_for_{args.target:g}": needed,
            "extrapolated": not reached,
        }
        reach = (
            f"{how} {needed:.3g} fields"
            if np.isfinite(needed)
            else "not reached: the error does not fall with more fields"
        )
        print(
            f"{part:>12}: error ~ {a:.3g} * fields^{-b:.3f} (sizes >= "
            f"{args.fit_from}); {args.target:g} {reach}"
        )
    write_results(
        args.out,
        "learning_curve",
        domain=args.domain,
        test_store=args.test,
        test_fields=int(len(test.complete)),
        split_angle_deg=args.split_angle if split else None,
        fields_below_split=int(below.sum()),
        target=args.target,
        rows=rows,
        power_law=curve,
    )


if __name__ == "__main__":
    main()
