"""Command line: ``ubermag-surrogate <command>``.

Commands
--------
quickstart
    The whole pipeline on SP4 on this machine: s-state, a small training set in the
    seed paper's field domain, the kernel surrogate, and SP4 field 2 predicted and
    compared with the full simulation (OOMMF through oommfc if found, else the
    embedded calculator); everything is written to one folder.
generate
    Training data: sample fields from a named domain, simulate each, and store the
    trajectories in a Zarr store (resumable: rerunning skips completed samples;
    a larger --n-samples with the same seed appends for uniform and Sobol sampling).
    Exits with 1 if any simulation failed (the others are stored).
train
    Fit a surrogate of a named kind (``kernel`` or ``neural``) on a store; save it
    to one file.
predict
    Drive the model's training system under one field with a ``SurrogateDriver``:
    a drive folder that ``micromagneticdata`` reads like an OOMMF drive.
compare
    Surrogate against full simulation for one field: errors, timings, figures.
evaluate
    A model scored on the simulated fields of a store (e.g. held-out fields): errors
    per field and over fields, the worst fields, and a map of the errors.
"""

import argparse
import sys

from . import commands, quickstart
from .arguments import cell_nm, field, json_object, positive_float, positive_int

_CALCULATORS = ("auto", "oommf", "embedded")


def _add_time(parser, steps_help="outputs"):
    parser.add_argument("--t", type=positive_float, default=1e-9, help="time (s)")
    parser.add_argument("--steps", type=positive_int, default=100, help=steps_help)


def _add_field_request(parser):
    parser.add_argument("--model", required=True, help="saved model (.npz)")
    parser.add_argument(
        "--field",
        type=field,
        required=True,
        help="mu0 H: 36mT@190deg (in-plane) or --field=-35.5,-6.3,0 (mT)",
    )
    _add_time(parser)
    parser.add_argument("--name", default="sp4", help="system name (drive folders)")
    parser.add_argument("--out", default=".", help="base folder of the drives")


def build_parser():
    """Return the ``argparse`` parser of the ``ubermag-surrogate`` command."""
    from ..data.domains import DOMAINS, METHODS
    from ..problems import PROBLEMS

    parser = argparse.ArgumentParser(
        prog="ubermag-surrogate",
        description="Machine-learned surrogates of micromagnetic dynamics for Ubermag.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    quick = sub.add_parser(
        "quickstart",
        help="SP4: training data, kernel surrogate, field 2 against simulation",
    )
    quick.add_argument("--out", default="quickstart-output", help="output folder")
    quick.add_argument("--calculator", choices=_CALCULATORS, default="auto")
    quick.add_argument(
        "--n-samples", type=positive_int, default=40, help="training fields"
    )
    quick.add_argument("--workers", type=positive_int, help="simulations at a time")
    _add_time(quick)
    quick.add_argument(
        "--cell", type=cell_nm, default="5,5,3", help="cell in nm (default 5,5,3)"
    )
    quick.set_defaults(func=quickstart.run)

    gen = sub.add_parser(
        "generate", help="simulate sampled field cases into a training-data store"
    )
    gen.add_argument("--problem", choices=sorted(PROBLEMS), default="sp4")
    gen.add_argument("--domain", choices=sorted(DOMAINS), default="sp4_field2")
    gen.add_argument("--n-samples", type=positive_int, default=300)
    gen.add_argument("--sampling", choices=METHODS, default="uniform")
    gen.add_argument("--seed", type=int, default=0)
    _add_time(gen, steps_help="outputs s")
    gen.add_argument("--cell", type=cell_nm, default="5,5,3", help="cell in nm")
    gen.add_argument("--out", required=True, help="Zarr store to create or extend")
    gen.add_argument("--workers", type=positive_int, help="local processes")
    gen.add_argument("--scheduler", help="Dask scheduler address (instead of local)")
    gen.add_argument("--calculator", choices=_CALCULATORS, default="auto")
    gen.add_argument("--scratch", help="folder for simulation folders (default: tmp)")
    gen.add_argument("--keep", action="store_true", help="keep simulation folders")
    gen.set_defaults(func=commands.generate)

    train = sub.add_parser("train", help="fit a surrogate on a store and save it")
    train.add_argument("--data", required=True, help="training-data store (.zarr)")
    train.add_argument(
        "--model", default="kernel", help="model kind (kernel or neural)"
    )
    train.add_argument(
        "--params",
        type=json_object,
        default="{}",
        help="hyper-parameters as JSON, e.g. '{\"n_components\": 40}'",
    )
    train.add_argument("--out", required=True, help="model file to write (.npz)")
    train.set_defaults(func=commands.train)

    predict = sub.add_parser(
        "predict", help="drive the model's system under one field (drive folder)"
    )
    _add_field_request(predict)
    predict.set_defaults(func=commands.predict)

    comp = sub.add_parser(
        "compare", help="surrogate against full simulation for one field"
    )
    _add_field_request(comp)
    comp.add_argument("--calculator", choices=_CALCULATORS, default="auto")
    comp.set_defaults(func=commands.compare)

    ev = sub.add_parser(
        "evaluate", help="score a model on the simulated fields of a store"
    )
    ev.add_argument("--model", required=True, help="saved model (.npz)")
    ev.add_argument("--data", required=True, help="store of simulations (.zarr)")
    ev.add_argument(
        "--sensitivity",
        action="store_true",
        help="also the model's field sensitivity per field (4 more predictions each)",
    )
    ev.add_argument(
        "--out", help="folder for evaluation.json, evaluation.csv and the error map"
    )
    ev.set_defaults(func=commands.evaluate)
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
