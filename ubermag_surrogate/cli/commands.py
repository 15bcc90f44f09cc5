"""The commands besides ``quickstart``: one function each, given the parsed args."""

import json
import pathlib
import sys
import tempfile
import time
import warnings

import micromagneticmodel as mm

SENSITIVE = 0.05
"""Field sensitivity above which ``predict`` advises a check (on SP4 the fields
above it erred by 0.15 in <m> on average, those below by 0.04)."""


def generate(args):
    """Simulate sampled field cases into a training-data store."""
    from ..data import DOMAINS
    from ..data.generate import generate as run
    from ..problems import PROBLEMS

    if args.workers is not None and args.scheduler:
        raise ValueError(
            "Give either --workers (processes on this machine) or --scheduler (a "
            "Dask cluster's workers), not both."
        )
    problem = PROBLEMS[args.problem](cell=tuple(c * 1e-9 for c in args.cell))
    domain = DOMAINS[args.domain]
    fields = domain.sample(args.n_samples, method=args.sampling, seed=args.seed)
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    try:
        summary = run(
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


def train(args):
    """Fit a surrogate of the named kind on a store and save it to one file."""
    from ..data.store import TrajectoryStore
    from ..models import model_class

    store = TrajectoryStore(args.data)
    cls = model_class(args.kind)
    params = dict(args.params)
    if "verbose" in cls().get_params():
        params.setdefault("verbose", 1)
    try:
        model = cls(**params)
    except TypeError:
        unknown = sorted(set(params) - set(cls().get_params()))
        raise ValueError(
            f"Unknown {args.kind} model parameters {unknown}; known: "
            f"{sorted(cls().get_params())}."
        ) from None
    out = pathlib.Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a directory; name the model file.")
    try:  # before the fit, not after it
        out.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out.parent).close()
    except OSError as exc:
        raise OSError(f"--out {str(out)!r}: cannot write there ({exc}).") from None
    samples = store.complete
    print(f"Training a {args.kind} surrogate on {len(samples)} trajectories of {store}")
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(store)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    fit_s = time.perf_counter() - start
    interrupted = model.interrupted_training()
    if out.exists() and interrupted:
        out = out.with_name(f"{out.stem}.interrupted{out.suffix}")
        print(
            "Training was interrupted (Ctrl-C or SIGTERM): the model with the "
            f"weights reached so far goes to {out}, not over the existing --out "
            "file."
        )
    path = model.save(out)
    print(model.describe())
    print(
        f"Fitted in {fit_s:.1f} s; model {model.model_id} (training data "
        f"{model.fingerprint_}) "
        f"({path.stat().st_size / 2**20:.1f} MiB) written to {path.absolute()}"
    )
    if interrupted:  # kept, but not what was asked for: `train && next` stops
        print(
            "Training was interrupted: " + "; ".join(interrupted) + ". Exit code 130.",
            file=sys.stderr,
        )
        return 130
    return 0


def _system(model, field, name):
    system = model.system(name=name)
    system.energy += mm.Zeeman(H=tuple(float(v) for v in field / mm.consts.mu0))
    return system


def _time(model, args):
    """``(t, n)`` of a request: by default the model's horizon, every trained step."""
    t = model.n_steps_ * model.dt_ if args.t is None else args.t
    if args.steps is not None:
        return t, args.steps
    n = max(1, round(t / model.dt_))
    if abs(t / model.dt_ - n) > 1e-6 * n:
        raise ValueError(
            f"--t {t:g} s is not a whole number of the model's time steps "
            f"({model.dt_:.6g} s): give --t as a multiple of it, or --steps."
        )
    return t, n


def predict(args):
    """Drive the model's system under one field with a SurrogateDriver."""
    from ..driver import SurrogateDriver
    from ..models import SensitivityWarning

    driver = SurrogateDriver(model=args.model, sensitivity_threshold=SENSITIVE)
    system = _system(driver.model, args.field, args.name)
    t, n = _time(driver.model, args)
    out = pathlib.Path(args.out).absolute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)  # advised below
        driver.drive(system, t=t, n=n, dirname=out)
    drive = out / system.name / f"drive-{system.drive_number - 1}"
    info = json.loads((drive / "info.json").read_text(encoding="utf-8"))
    final = system.table.data[["mx", "my", "mz"]].iloc[-1].to_numpy()
    b = args.field * 1e3
    print(
        f"mu0 H = ({b[0]:.2f}, {b[1]:.2f}, {b[2]:.2f}) mT, t = {t:.3g} s, "
        f"{n} outputs; <m> at the end = "
        f"({final[0]:.5f}, {final[1]:.5f}, {final[2]:.5f})"
    )
    sensitivity = info["field_sensitivity"]
    print(
        f"Field sensitivity: {sensitivity:.3f} (largest change of <m> when the field "
        "moves by 0.5 % of the training domain's range)"
    )
    if sensitivity > SENSITIVE:
        print(
            f"  Above {SENSITIVE}: the dynamics change faster with the field than "
            "the training fields resolve; check this prediction with "
            "`ubermag-surrogate compare`."
        )
    read = f"{system.name!r}"
    if out != pathlib.Path.cwd():
        read += f", dirname={str(out)!r}"
    print(f"Drive (read it with micromagneticdata.Data({read})): {drive}")
    return 0


def compare(args):
    """Surrogate against full simulation for one field; report and figures."""
    from ..comparison import compare as run
    from ..models import load

    model = load(args.model)
    system = _system(model, args.field, args.name)
    t, n = _time(model, args)
    out = pathlib.Path(args.out).absolute()
    comparison = run(
        system,
        args.model,
        t=t,
        n=n,
        calculator=args.calculator,
        dirname=out,
    )
    # one report per comparison, numbered as its surrogate drive: a later
    # comparison into the same --out replaced the earlier report
    number = comparison.drives["surrogate"].name
    written = comparison.save(out / f"{system.name}_comparison" / number)
    print()
    print(comparison.summary())
    print(f"\nReport and figures: {written[0].parent}")
    return 0


def describe(args):
    """Print what a saved model is and what it was trained on."""
    from ..models import load

    print(load(args.model).describe())
    return 0


def evaluate(args):
    """Score a model on the simulated fields of a store; print and save the results."""
    from ..comparison import evaluate as run

    if (
        args.out
        and pathlib.Path(args.out).exists()
        and not pathlib.Path(args.out).is_dir()
    ):
        raise ValueError(
            f"--out {args.out!r} is a file; name a folder for the results."
        )
    if args.out and (pathlib.Path(args.out) / "evaluation.json").exists():
        raise ValueError(  # before the evaluation, not after it
            f"--out {args.out!r} holds an earlier evaluation; name another folder "
            "(or delete that one) to keep both."
        )
    evaluation = run(args.model, args.data, sensitivity=args.sensitivity)
    print(evaluation.text(threshold=SENSITIVE))
    if args.out:
        written = evaluation.save(args.out, threshold=SENSITIVE)
        print(f"Written: {', '.join(str(p.absolute()) for p in written)}")
    return 0
