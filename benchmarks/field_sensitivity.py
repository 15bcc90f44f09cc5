"""How much <m>(t) changes when the applied field changes a little: the data's limit.

For every field of a held-out store (default: SP4 domain 2's 20 test fields), the
full simulation is rerun with the field turned by ``--shift-deg`` and with its
magnitude raised by ``--shift-mT``, and the max over time of |<m>_shifted -
<m>_stored| is reported. A surrogate that learns from fields spaced about 0.5 deg
and 0.5 mT apart (300 uniform fields in the 20 deg x 10 mT domain) cannot resolve
changes that happen within a small fraction of that spacing; where a 0.1 deg turn
moves <m> by 0.3, an error of that size at that field is the data's limit, not the
method's. With ``--errors kernel.json`` (written by ``bench_kernel.py`` for the
same test store) the surrogate's per-field error is printed beside it. With
``--model MODEL.npz`` the model's own ``field_sensitivity`` is printed too: the
change of its predicted <m> when the field moves by +-``--model-step`` of the
domain's range per coordinate (default 0.005: 0.1 deg and 0.05 mT; four extra
predictions, no simulation), the package's per-field signal of where a prediction
cannot be trusted.

The held-out store is made on first use, as for ``bench_kernel.py``::

    python benchmarks/field_sensitivity.py --data data --domain sp4_field2 \\
        --errors benchmarks/results/kernel.json [--model sp4_field2_kernel.npz]

Each field costs two simulations (about 40 on 2 cores for 20 fields; resumable:
the shifted runs are kept in ``DATA/DOMAIN_test_shifted_<deg>deg_<mT>mT.zarr``,
one store per pair of shifts). Prints a table and writes JSON (default
``benchmarks/results/field_sensitivity.json``).
"""

import argparse
import json
import pathlib
import time

import numpy as np
from _data import store
from _results import write_results

from ubermag_surrogate.data import FieldDomain, in_plane_field
from ubermag_surrogate.data.generate import generate
from ubermag_surrogate.data.store import TrajectoryStore
from ubermag_surrogate.models import load
from ubermag_surrogate.problems import sp4

HERE = pathlib.Path(__file__).parent


def shifted_fields(fields, domain, shift_deg, shift_mT):
    """Each in-plane field turned by ``shift_deg`` and lengthened by ``shift_mT``.

    Returns ``(2 k, 3)``: the turned fields, then the lengthened ones (T).
    """
    magnitude, angle = domain.coordinates(fields)[:, :2].T  # mT, deg
    return np.concatenate(
        [
            in_plane_field(magnitude, angle + shift_deg),
            in_plane_field(magnitude + shift_mT, angle),
        ]
    )


def per_field_errors(path, domain, k):
    """The ``k`` per-field errors of ``domain`` in a bench_kernel JSON (None: none)."""
    if path is None:
        return None
    if not pathlib.Path(path).is_file():
        raise SystemExit(f"--errors {path}: no such file.")
    errors = None
    for record in json.loads(pathlib.Path(path).read_text())["records"]:
        if record["domain"] == domain:
            # null (a non-finite error in strict JSON) back to NaN
            errors = np.array(record["ours"]["mean_m_error_per_field"], dtype=float)
    if errors is None or len(errors) != k:
        raise SystemExit(f"{path} has no {k} per-field errors for {domain}.")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="folder with the stores")
    parser.add_argument("--domain", default="sp4_field2")
    parser.add_argument("--test", default="test", help="held-out store suffix")
    parser.add_argument("--shift-deg", type=float, default=0.1)
    parser.add_argument("--shift-mT", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--errors", help="bench_kernel.py JSON with per-field errors")
    parser.add_argument("--model", help="a saved model: print its own sensitivity")
    parser.add_argument(
        "--model-step", type=float, default=0.005, help="field_sensitivity's step"
    )
    parser.add_argument(
        "--out", default=str(HERE / "results" / "field_sensitivity.json")
    )
    args = parser.parse_args()
    test = store(args.data, args.domain, args.test)
    samples = test.complete
    fields = test.fields[samples]
    driver = test.attrs["driver"]
    if test.attrs.get("problem") != "sp4":
        raise SystemExit("This benchmark reruns SP4 stores only.")
    if test.attrs.get("field_domain", {}).get("kind") != "polar":
        raise SystemExit("This benchmark needs a store of a polar field domain.")
    domain = FieldDomain.from_dict(test.attrs["field_domain"])
    # the reruns on the store's own mesh (the default SP4 mesh put a mesh
    # difference into the "sensitivity" of a coarser store)
    problem = sp4.problem(cell=tuple(test.attrs["mesh"]["cell"]))
    if list(problem.mesh.n) != list(test.attrs["mesh"]["n"]):
        raise SystemExit(
            f"The store's mesh {test.attrs['mesh']['n']} is not SP4's film in cells "
            f"of {test.attrs['mesh']['cell']} m."
        )
    # the inputs read after the simulations, checked before them
    errors = per_field_errors(args.errors, args.domain, len(fields))
    model = None
    if args.model:
        if not pathlib.Path(args.model).is_file():
            raise SystemExit(f"--model {args.model}: no such file.")
        model = load(args.model)
    # named after the shifts: runs with other shifts go to other stores
    shifted_path = pathlib.Path(
        args.data,
        f"{args.domain}_{args.test}_shifted_{args.shift_deg:g}deg_"
        f"{args.shift_mT:g}mT.zarr",
    )
    start = time.perf_counter()
    generate(
        problem,
        shifted_fields(fields, domain, args.shift_deg, args.shift_mT),
        t=driver["t"],
        n=driver["n"],
        calculator=test.attrs["calculator"]["name"],
        store=shifted_path,
        workers=args.workers,
    )
    simulate_s = time.perf_counter() - start
    shifted = TrajectoryStore(shifted_path)
    k = len(fields)
    if len(shifted.complete) != 2 * k:
        raise SystemExit(f"{shifted_path}: not every shifted run completed.")
    reference = test.mean_m(samples)
    moved = shifted.mean_m(np.arange(2 * k))
    change = np.abs(moved - np.concatenate([reference, reference])).max(axis=(1, 2))
    by_angle, by_magnitude = change[:k], change[k:]

    own = None
    if model is not None:
        own = model.field_sensitivity(fields, step=args.model_step)

    magnitude, angle = domain.coordinates(fields)[:, :2].T
    print(
        f"<m> change for a field turned by {args.shift_deg} deg or lengthened by "
        f"{args.shift_mT} mT ({args.domain}, {k} fields of {args.test})"
    )
    header = f"{'|B| (mT)':>9} {'angle':>7} {'turned':>7} {'longer':>7}"
    header += f" {'surrogate':>9}" if errors is not None else ""
    header += f" {'model sens.':>11}" if own is not None else ""
    print(header)
    print("-" * len(header))
    for i in np.argsort(angle):
        line = (
            f"{magnitude[i]:9.2f} {angle[i]:7.2f} {by_angle[i]:7.3f} "
            f"{by_magnitude[i]:7.3f}"
        )
        line += f" {errors[i]:9.3f}" if errors is not None else ""
        print(line + (f" {own[i]:11.3f}" if own is not None else ""))
    summary = {
        "turned_mean": float(by_angle.mean()),
        "turned_max": float(by_angle.max()),
        "longer_mean": float(by_magnitude.mean()),
        "longer_max": float(by_magnitude.max()),
    }
    print(
        f"mean (max): turned {summary['turned_mean']:.3f} "
        f"({summary['turned_max']:.3f}), lengthened {summary['longer_mean']:.3f} "
        f"({summary['longer_max']:.3f})"
    )
    if errors is not None:
        summary["surrogate_error_mean"] = float(errors.mean())
        sensitive = np.maximum(by_angle, by_magnitude) > 0.05
        summary["n_sensitive"] = int(sensitive.sum())
        summary["surrogate_error_mean_on_the_rest"] = (
            float(errors[~sensitive].mean()) if (~sensitive).any() else float("nan")
        )
        summary["surrogate_error_share_of_sensitive"] = float(
            errors[sensitive].sum() / errors.sum()
        )
        share = summary["surrogate_error_share_of_sensitive"]
        rest = summary["surrogate_error_mean_on_the_rest"]
        print(
            f"{sensitive.sum()} of {k} fields move <m> by more than 0.05 under these "
            f"shifts; they carry {share:.0%} of the surrogate's summed error; its "
            f"mean error on the other {k - sensitive.sum()}: {rest:.4f}"
        )
    if errors is not None and own is not None:
        flagged = own > 0.05
        summary["model_flagged"] = int(flagged.sum())
        summary["surrogate_error_mean_flagged"] = (
            float(errors[flagged].mean()) if flagged.any() else float("nan")
        )
        summary["surrogate_error_mean_not_flagged"] = (
            float(errors[~flagged].mean()) if (~flagged).any() else float("nan")
        )
        print(
            f"the model's field_sensitivity exceeds 0.05 on {flagged.sum()} of {k} "
            "fields: "
            f"mean error there {summary['surrogate_error_mean_flagged']:.4f}, on the "
            f"others {summary['surrogate_error_mean_not_flagged']:.4f}"
        )
    write_results(
        args.out,
        "field_sensitivity",
        domain=args.domain,
        test_store=args.test,
        shift_deg=args.shift_deg,
        shift_mT=args.shift_mT,
        fields=fields.tolist(),
        turned=by_angle.tolist(),
        lengthened=by_magnitude.tolist(),
        surrogate_error=None if errors is None else errors.tolist(),
        model=args.model,
        model_step=args.model_step,
        model_sensitivity=None if own is None else own.tolist(),
        simulate_s=simulate_s,
        **summary,
    )


if __name__ == "__main__":
    main()
