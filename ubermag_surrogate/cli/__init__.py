"""Command line: ``ubermag-surrogate <command>``.

``ubermag-surrogate --help`` lists the commands (``quickstart``, ``generate``,
``train``, ``predict``, ``compare``, ``describe``, ``evaluate``);
``ubermag-surrogate COMMAND --help`` says what one does, its options with their
defaults and units, and gives examples. The descriptions live in
:data:`COMMANDS`, the argument types in :mod:`.arguments`, the commands themselves
in :mod:`.commands` and :mod:`.quickstart`.
"""

import argparse
import contextlib
import signal
import sys
import threading
import warnings

from . import commands, quickstart
from .arguments import (
    cell_nm,
    field,
    json_object,
    non_negative_int,
    positive_float,
    positive_int,
    system_name,
    user_path,
)

_CALCULATORS = ("auto", "oommf", "embedded")
MODEL_KINDS = ("kernel", "neural")
"""The package's model kinds, named in ``train --help`` (``train`` itself looks any
registered kind up with ``ubermag_surrogate.models.model_class``)."""

COMMANDS = {
    "quickstart": (
        "SP4: training data, kernel surrogate, field 2 against simulation",
        "The whole pipeline on muMAG standard problem 4 on this machine: the "
        "s-state, a small training set in the seed paper's field domain (|mu0 H| in "
        "[30, 40] mT at [180, 200] deg, Sobol-sampled), the kernel surrogate fitted "
        "on it, and SP4 field 2 predicted and compared with the full simulation "
        "(OOMMF through oommfc if found, else the embedded calculator). Drives, "
        "training data, model, report, figures and summary.json are written to "
        "--out; rerunning the same command reuses the simulations already there.",
        [
            "ubermag-surrogate quickstart",
            "ubermag-surrogate quickstart --n-samples 300 --workers 2 --out sp4",
        ],
    ),
    "generate": (
        "simulate sampled field cases into a training-data store",
        "Training data: sample applied fields from a named domain, simulate each "
        "(one simulation per process, or per Dask worker with --scheduler), and "
        "store the trajectories in a Zarr store. Resumable: rerunning the same "
        "command skips completed samples; a larger --n-samples with the same seed "
        "appends for uniform and Sobol sampling. Exits with 1 if any simulation "
        "failed (the others are stored). Domains: {domains}.",
        [
            "ubermag-surrogate generate --domain sp4_field2 --n-samples 300 "
            "--out data/train.zarr",
            "ubermag-surrogate generate --domain sp4_field2 --n-samples 20 --seed 1 "
            "--out data/test.zarr --workers 2",
        ],
    ),
    "train": (
        "fit a surrogate on a store and save it",
        "Fit a surrogate of the named kind on the complete samples of a "
        "training-data store and save it to one .npz file (loading it never "
        "executes code). --params sets hyper-parameters by their names in "
        "KernelSurrogate / NeuralSurrogate.",
        [
            "ubermag-surrogate train --data data/train.zarr --out model.npz",
            "ubermag-surrogate train --data data/train.zarr --kind neural "
            "--params '{\"n_components\": 40}' --out model.npz",
        ],
    ),
    "predict": (
        "drive the model's system under one field (drive folder)",
        "Drive the model's training system (its mesh, material and initial "
        "state) under one applied field with a SurrogateDriver: a drive folder "
        "under --out/--name that micromagneticdata reads like an OOMMF drive. "
        "Prints <m> at the end and the model's field sensitivity, with advice to "
        "check the prediction where it is high.",
        [
            "ubermag-surrogate predict --model model.npz --field 36mT@190deg",
            "ubermag-surrogate predict --model model.npz --field=-35.5,-6.3,0 "
            "--t 2e-9 --steps 200 --out runs",
        ],
    ),
    "compare": (
        "surrogate against full simulation for one field",
        "Drive the model's system under one field twice, with the surrogate and "
        "with the full simulation (OOMMF through oommfc, or the embedded "
        "calculator): errors, timings, mean-magnetisation curves and snapshots, "
        "written to --out/NAME_comparison/drive-N (N: the surrogate drive's "
        "number, so each comparison keeps its own report).",
        [
            "ubermag-surrogate compare --model model.npz --field 36mT@190deg "
            "--out runs",
        ],
    ),
    "describe": (
        "say what a saved model is and was trained on",
        "Print what a saved model is (kind, hyper-parameters that differ from the "
        "defaults) and what it was trained on (problem, fields and their domain, "
        "mesh, Ms, energy and dynamics, time step, horizon, initial <m>), and the "
        "package version that wrote it. Reading the file executes no code.",
        ["ubermag-surrogate describe --model model.npz"],
    ),
    "evaluate": (
        "score a model on the simulated fields of a store",
        "Score a model on the simulated fields of a store (e.g. held-out "
        "fields): relative trajectory error and max over time of the "
        "mean-magnetisation error per field and over fields, the worst fields, "
        "and a map of the errors over the field domain.",
        [
            "ubermag-surrogate evaluate --model model.npz --data data/test.zarr",
            "ubermag-surrogate evaluate --model model.npz --data data/test.zarr "
            "--sensitivity --out report",
        ],
    ),
}
"""Per command: one-line help, description and example command lines."""


class _HelpFormatter(argparse.HelpFormatter):
    """Each option's default after its help (where it has one); examples as written."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        unset = action.default is None or action.default is False
        if (
            not unset
            and action.default != argparse.SUPPRESS
            and ("(default" not in help_text)
        ):
            help_text += " (default: %(default)s)"
        return help_text

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return text
        return super()._fill_text(text, width, indent)


def _add_command(sub, name, func, **descriptions):
    summary, description, examples = COMMANDS[name]
    parser = sub.add_parser(
        name,
        help=summary,
        description=description.format(**descriptions),
        epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
        formatter_class=_HelpFormatter,
    )
    parser.set_defaults(func=func)
    return parser


def _add_time(parser):
    parser.add_argument(
        "--t", type=positive_float, default=1e-9, help="simulated time (s)"
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=100,
        help="number of outputs, at t/steps, 2 t/steps, ..., t",
    )


def _add_cell(parser):
    parser.add_argument(
        "--cell",
        type=cell_nm,
        default="5,5,3",
        help="cell size dx,dy,dz (nm) of SP4's 500 x 125 x 3 nm film",
    )


def _add_calculator(parser):
    parser.add_argument(
        "--calculator",
        choices=_CALCULATORS,
        default="auto",
        help="full simulator: OOMMF through oommfc, the embedded magnum.np "
        "calculator, or auto (OOMMF if oommfc finds it, else embedded)",
    )


def _add_workers(parser):
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="simulations at a time on this machine (default: one per core)",
    )


def _add_field_request(parser, name_help):
    parser.add_argument(
        "--model", required=True, type=user_path, help="saved model file (.npz)"
    )
    parser.add_argument(
        "--field",
        type=field,
        required=True,
        help="applied field mu0 H: in-plane magnitude and angle as 36mT@190deg, "
        "or components in mT as --field=-35.5,-6.3,0",
    )
    parser.add_argument(
        "--t",
        type=positive_float,
        help="simulated time (s) (default: the model's trained horizon)",
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        help="number of outputs, at t/steps, 2 t/steps, ..., t (default: one per "
        "trained time step)",
    )
    parser.add_argument("--name", type=system_name, help=name_help)
    parser.add_argument(
        "--out", default=".", type=user_path, help="folder the drives go under"
    )


def build_parser():
    """Return the ``argparse`` parser of the ``ubermag-surrogate`` command."""
    from ..data.domains import DOMAINS, METHODS
    from ..problems import PROBLEMS

    parser = argparse.ArgumentParser(
        prog="ubermag-surrogate",
        description="Machine-learned surrogates of micromagnetic dynamics for "
        "Ubermag. 'ubermag-surrogate COMMAND --help' describes a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    quick = _add_command(sub, "quickstart", quickstart.run)
    quick.add_argument(
        "--out",
        default="quickstart-output",
        type=user_path,
        help="folder for everything written",
    )
    _add_calculator(quick)
    quick.add_argument(
        "--n-samples", type=positive_int, default=40, help="training fields"
    )
    _add_workers(quick)
    _add_time(quick)
    _add_cell(quick)

    domains = "; ".join(f"{n}: {d.ranges_text()}" for n, d in sorted(DOMAINS.items()))
    gen = _add_command(sub, "generate", commands.generate, domains=domains)
    gen.add_argument(
        "--problem", choices=sorted(PROBLEMS), default="sp4", help="system to drive"
    )
    gen.add_argument(
        "--domain",
        choices=sorted(DOMAINS),
        default="sp4_field2",
        help="field domain to sample (listed above)",
    )
    gen.add_argument(
        "--n-samples", type=positive_int, default=300, help="fields to simulate"
    )
    gen.add_argument(
        "--sampling",
        choices=METHODS,
        default="uniform",
        help="how fields are drawn from the domain (scipy.stats.qmc for sobol, lhs)",
    )
    gen.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the field sampling"
    )
    _add_time(gen)
    _add_cell(gen)
    gen.add_argument(
        "--out",
        required=True,
        type=user_path,
        help="Zarr store to create or extend (.zarr)",
    )
    _add_workers(gen)
    gen.add_argument(
        "--scheduler",
        help="Dask scheduler address (e.g. tcp://host:8786): simulate on its "
        "workers instead of local processes",
    )
    _add_calculator(gen)
    gen.add_argument(
        "--scratch",
        type=user_path,
        help="folder for the simulations' working folders, which go into a "
        "subfolder named after the store, so runs for other stores may share it "
        "(default: the system's temporary folder)",
    )
    gen.add_argument(
        "--keep",
        action="store_true",
        help="keep the simulations' working folders (drives, logs) after storing",
    )

    train = _add_command(sub, "train", commands.train)
    train.add_argument(
        "--data", required=True, type=user_path, help="training-data store (.zarr)"
    )
    train.add_argument(
        "--kind",
        "--model",  # its first name; elsewhere --model is a model file
        dest="kind",
        default="kernel",
        help=f"model kind: {' or '.join(MODEL_KINDS)} (also accepted as --model, "
        "its older name; a kind registered with "
        "ubermag_surrogate.models.base.register is known to "
        "ubermag_surrogate.cli.main([...]) called in the Python process that "
        "registered it, not to this command)",
    )
    train.add_argument(
        "--params",
        type=json_object,
        default="{}",
        help="hyper-parameters as a JSON object, e.g. '{\"n_components\": 40}'",
    )
    train.add_argument(
        "--out", required=True, type=user_path, help="model file to write (.npz)"
    )

    _add_field_request(
        _add_command(sub, "predict", commands.predict),
        "system name: the drive goes to --out/NAME/drive-N (default: the model's "
        "problem, e.g. sp4)",
    )

    comp = _add_command(sub, "compare", commands.compare)
    _add_field_request(
        comp,
        "system name: the drives go to --out/NAME_surrogate/drive-N and "
        "--out/NAME_simulation/drive-M, the report to --out/NAME_comparison/drive-N "
        "(default: the model's problem, e.g. sp4)",
    )
    _add_calculator(comp)

    desc = _add_command(sub, "describe", commands.describe)
    desc.add_argument(
        "--model", required=True, type=user_path, help="saved model file (.npz)"
    )

    ev = _add_command(sub, "evaluate", commands.evaluate)
    ev.add_argument(
        "--model", required=True, type=user_path, help="saved model file (.npz)"
    )
    ev.add_argument(
        "--data",
        required=True,
        type=user_path,
        help="store of simulations to score on (.zarr)",
    )
    ev.add_argument(
        "--sensitivity",
        action="store_true",
        help="also the model's field sensitivity per field (2 more predictions per "
        "field coordinate that varies: 4 for an in-plane domain)",
    )
    ev.add_argument(
        "--out",
        type=user_path,
        help="folder for evaluation.json, evaluation.csv and the error map "
        "(default: print only)",
    )
    return parser


def main(argv=None):
    """Entry point of the ``ubermag-surrogate`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)

    def show(message, category, *_args, **_kwargs):
        # one line, without the source line Python would print under it; without
        # the API's unit hints (mT given as T, H in T given as A/m), which speak
        # of Python arguments, not of this command's options
        from ..models.base import H_IN_A_PER_M_HINT, MT_AS_T_HINT

        message = str(message).replace(MT_AS_T_HINT, "")
        message = message.replace(H_IN_A_PER_M_HINT, "")
        print(
            f"ubermag-surrogate {args.command}: {category.__name__}: {message}",
            file=sys.stderr,
        )

    with warnings.catch_warnings(), _terminate_as_interrupt() as terminated:
        warnings.showwarning = show
        try:
            code = args.func(args)
            if terminated:  # a command that kept what it did (train) returned: a
                # batch job stopped by its time limit must not report success
                print(
                    f"ubermag-surrogate {args.command}: terminated (SIGTERM); what "
                    "was done is kept.",
                    file=sys.stderr,
                )
                return 143
            return code
        except (ValueError, TypeError, RuntimeError, OSError, ImportError) as exc:
            print(f"ubermag-surrogate {args.command}: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt as exc:
            hint = {
                "generate": " Completed simulations are in the store: rerun the "
                "same command to go on.",
                "quickstart": " Rerun the same command to go on from what is kept.",
            }.get(args.command, "")
            detail = f" ({exc})" if str(exc) else ""
            what = "terminated (SIGTERM)" if terminated else "interrupted"
            print(
                f"ubermag-surrogate {args.command}: {what}{detail}.{hint}",
                file=sys.stderr,
            )
            return 143 if terminated else 130


@contextlib.contextmanager
def _terminate_as_interrupt():
    """Handle SIGTERM as Ctrl-C while a command runs; yield a list, true once it came.

    A batch system's time limit (Slurm, PBS) or ``kill PID`` sends SIGTERM. Python
    would end at once, in the middle of a write; as an interrupt, each command
    keeps what it has done, as after Ctrl-C (a whole, shorter drive; the store's
    record of the run; an interrupted neural fit saved beside the model). Only
    where SIGTERM has its default action, and only in the main thread.
    """
    terminated = []

    def handler(signum, frame):
        terminated.append(signum)
        raise KeyboardInterrupt

    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL  # the caller's own
    ):
        yield terminated
        return
    signal.signal(signal.SIGTERM, handler)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
