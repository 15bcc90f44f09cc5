"""Accuracy and speed of the kernel surrogate on SP4, beside a scikit-learn pipeline.

Trains on each domain's training store (paper: 300 fields, 1 ns, s = 100) and
tests on its held-out store (20 fields), and on further held-out stores
(``--more-tests``, default ``val``: 100 fields; 20 test fields leave the mean error
uncertain by about 0.02 on domain 2)::

    python benchmarks/bench_kernel.py --data data

The stores are made on first use (``_data.py``: 840 simulations, 45 min to 3 hours on
2 cores depending on the machine; resumable: Ctrl-C and the same command go on).

Reports per domain: relative trajectory error ||M_pred - M_true||_F / ||M_true||_F
(mean, max over test fields), max over time of |<m>_pred - <m>_true| (mean with
its standard error over the test fields, median, max; per field in the JSON),
the encode-decode floor, training time and peak traced memory, prediction time of
one trajectory and of a batch of 300. The scikit-learn pipeline (Nystroem + PCA
embedding, exact KernelRidge pre-image and integrator on capped subsamples, since
their m x m matrices do not fit otherwise) runs on the same data for comparison.
Prints a table and writes JSON (default ``benchmarks/results/kernel.json``).
"""

import argparse
import pathlib
import time
import tracemalloc

import numpy as np
from _args import json_object
from _data import open_stores
from _results import write_results
from sklearn.decomposition import PCA
from sklearn.kernel_approximation import Nystroem
from sklearn.kernel_ridge import KernelRidge

from ubermag_surrogate.comparison.evaluation import error_statistics, trajectory_errors
from ubermag_surrogate.integration import FeatureSpaceIntegrator
from ubermag_surrogate.lowrank.estimators import median_gamma
from ubermag_surrogate.models import KernelSurrogate

HERE = pathlib.Path(__file__).parent
DEFAULT_PARAMS = KernelSurrogate().get_params()


def _metrics(pred_m, truth):
    """Error metrics for predicted and true unit trajectories (k, s+1, 3N)."""
    rel, mean_err = trajectory_errors(pred_m, truth)
    stats = {
        **error_statistics(rel, "relative_error"),
        **error_statistics(mean_err, "mean_m_error"),
    }
    return {
        "relative_error_mean": stats["relative_error_mean"],
        "relative_error_max": stats["relative_error_max"],
        "mean_m_error_mean": stats["mean_m_error_mean"],
        # its standard error: how much another draw of k test fields would move it
        "mean_m_error_sem": stats["mean_m_error_sem"],
        "mean_m_error_median": stats["mean_m_error_median"],
        "mean_m_error_max": stats["mean_m_error_max"],
        "mean_m_error_per_field": mean_err.tolist(),
    }


SCORES_HEADER = (
    f"{'<m> err mean (sem)':>18} {'median':>7} {'max':>7} {'rel err':>8} "
    f"{'fit (s)':>8} {'1 traj (ms)':>11} {'300 (s)':>8}"
)
"""Column heads of :func:`scores`."""


def scores(x):
    """One table row's score columns for a result of :func:`_metrics` + timings."""
    return (
        f"{x['mean_m_error_mean']:9.4f} ({x['mean_m_error_sem']:.4f}) "
        f"{x['mean_m_error_median']:7.4f} {x['mean_m_error_max']:7.4f} "
        f"{x['relative_error_mean']:8.4f} {x['fit_s']:8.1f} "
        f"{x['predict_one_s'] * 1e3:11.1f} {x['predict_300_s']:8.2f}"
    )


def print_more_tests(domain, more_tests):
    """Print one line per further held-out store (``{domain}_{name}``)."""
    for name, x in more_tests.items():
        print(
            f"{'':11} on the {x['n']} fields of {domain}_{name}: <m> err "
            f"mean {x['mean_m_error_mean']:.4f} ({x['mean_m_error_sem']:.4f}), "
            f"median {x['mean_m_error_median']:.4f}, max "
            f"{x['mean_m_error_max']:.4f}, rel err {x['relative_error_mean']:.4f}"
        )


def _time_predictions(predict, domain_fields, repeat=20):
    one = domain_fields[:1]
    predict(one)
    singles = []
    for _ in range(repeat):
        start = time.perf_counter()
        predict(one)
        singles.append(time.perf_counter() - start)
    start = time.perf_counter()
    predict(domain_fields)
    return min(singles), time.perf_counter() - start


def bench_ours(train, test, params, more_tests=None):
    tracemalloc.start()
    start = time.perf_counter()
    model = KernelSurrogate(**params).fit(train)
    fit_s = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    truth = test.tensor(field_components=()).transpose(1, 0, 2)
    result = _metrics(model.predict(test.fields).m, truth)
    states = truth.reshape(-1, truth.shape[-1])
    floor = model.decode(model.encode(states)).reshape(truth.shape)
    result["encode_decode_floor_mean_m"] = _metrics(floor, truth)["mean_m_error_mean"]
    result["more_tests"] = {}
    for name, store in (more_tests or {}).items():
        extra = store.tensor(store.complete, field_components=()).swapaxes(0, 1)
        result["more_tests"][name] = {
            "n": len(extra),
            **_metrics(model.predict(store.fields[store.complete]).m, extra),
        }
    batch = np.repeat(train.fields, -(-300 // len(train.fields)), axis=0)[:300]
    one_s, batch_s = _time_predictions(lambda f: model.predict(f).m, batch)
    result.update(
        fit_s=fit_s,
        fit_peak_traced_gb=peak / 2**30,
        predict_one_s=one_s,
        predict_300_s=batch_s,
        predict_one_mean_m_only_s=_time_predictions(
            lambda f: model.predict(f).mean_m(), batch
        )[0],
        predict_300_mean_m_only_s=_time_predictions(
            lambda f: model.predict(f).mean_m(), batch, 3
        )[1],
        rollout_one_s=_time_predictions(
            lambda f: model.integrator_.rollout(model.c0_, f, model.n_steps_), batch
        )[0],
    )
    return result


def bench_sklearn(train, test, params, cap=8000, seed=0):
    """Nystroem + PCA embedding; exact KernelRidge pre-image and integrator."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    states = train.tensor(field_components=())
    n_times, n_fields, three_n = states.shape
    X = states.reshape(-1, three_n)
    nystroem = Nystroem(
        gamma=1 / three_n, n_components=params["embedding_rank"], random_state=seed
    )
    pca = PCA(n_components=params["n_components"], random_state=seed)
    scores = pca.fit_transform(nystroem.fit_transform(X))
    rows = rng.choice(len(X), size=min(cap, len(X)), replace=False)
    pre = KernelRidge(alpha=1e-6, kernel="rbf", gamma=median_gamma(scores[rows]))
    pre.fit(scores[rows], np.asarray(X[rows], dtype=np.float64))
    latent = scores.reshape(n_times, n_fields, -1).transpose(1, 0, 2)
    # the same inputs as ours: only the regression differs
    helper = FeatureSpaceIntegrator(nu=params.get("nu", 5), target="state")
    helper.set_scaling(latent, train.fields)
    inputs, targets = helper.windows(latent, train.fields)
    rows = rng.choice(len(inputs), size=min(cap, len(inputs)), replace=False)
    step = KernelRidge(
        alpha=params["integrator_alpha"], kernel="rbf", gamma=median_gamma(inputs[rows])
    )
    step.fit(inputs[rows], targets[rows])
    fit_s = time.perf_counter() - start

    def predict(test_fields):
        k = len(test_fields)
        c0 = latent[:, 0].mean(axis=0) / helper.latent_scale_
        h = helper.field_inputs(test_fields)
        history = np.repeat(
            np.broadcast_to(c0, (k, len(c0)))[:, None], helper.nu, axis=1
        )
        out = [np.broadcast_to(c0, (k, len(c0)))]
        for _ in range(n_times - 1):
            new = step.predict(np.concatenate([h, history.reshape(k, -1)], axis=1))
            history = np.concatenate([history[:, 1:], new[:, None]], axis=1)
            out.append(new)
        z = np.stack(out, axis=1) * helper.latent_scale_
        m = pre.predict(z.reshape(-1, z.shape[-1])).reshape(k, n_times, three_n)
        cells = m.reshape(k, n_times, 3, -1)
        norm = np.linalg.norm(cells, axis=2, keepdims=True)
        np.divide(cells, norm, out=cells, where=norm > 0)  # zero where it collapsed
        return m

    truth = test.tensor(field_components=()).transpose(1, 0, 2)
    result = _metrics(predict(test.fields), truth)
    batch = np.repeat(train.fields, -(-300 // len(train.fields)), axis=0)[:300]
    one_s, batch_s = _time_predictions(predict, batch, repeat=3)
    result.update(fit_s=fit_s, predict_one_s=one_s, predict_300_s=batch_s, cap=cap)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="folder with the stores")
    parser.add_argument("--domains", default="sp4_field2,sp4_field1")
    parser.add_argument(
        "--params", type=json_object, default={}, help="JSON overrides of the model"
    )
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument(
        "--more-tests",
        default="val",
        help="comma-separated suffixes of further held-out stores DOMAIN_NAME.zarr "
        "to score the model on too: 'val' (100 fields) is simulated where absent, "
        "other names are skipped where absent",
    )
    parser.add_argument("--out", default=str(HERE / "results" / "kernel.json"))
    args = parser.parse_args()
    params = {**DEFAULT_PARAMS, **args.params}
    records = []
    for domain in args.domains.split(","):
        train, test, more = open_stores(args.data, domain, args.more_tests)
        record = {
            "domain": domain,
            "n_train": len(train.complete),
            "n_test": len(test.complete),
            "ours": bench_ours(train, test, params, more),
        }
        if not args.no_sklearn:
            record["sklearn"] = bench_sklearn(train, test, params)
        records.append(record)

    print(f"kernel surrogate, params {params}")
    header = f"{'domain':11} {'method':8} {SCORES_HEADER}"
    print(header)
    print("-" * len(header))
    for r in records:
        for method in ("ours", "sklearn"):
            if method not in r:
                continue
            x = r[method]
            print(f"{r['domain']:11} {method:8} {scores(x)}")
        ours = r["ours"]
        print(
            f"{'':11} floor {ours['encode_decode_floor_mean_m']:.4f}, peak traced "
            f"{ours['fit_peak_traced_gb']:.2f} GB; <m> only: 1 traj "
            f"{ours['predict_one_mean_m_only_s'] * 1e3:.1f} ms, 300 "
            f"{ours['predict_300_mean_m_only_s']:.3f} s; latent rollout of 1 "
            f"{ours['rollout_one_s'] * 1e3:.1f} ms"
        )
        print_more_tests(r["domain"], ours["more_tests"])
    write_results(
        args.out, "kernel", params=params, records=records, more_tests=args.more_tests
    )


if __name__ == "__main__":
    main()
