"""Integrator study: held-out <m> error of integrator variants on fixed embeddings.

Fits the kernel surrogate's embedding and pre-image once on a domain's training
store, then fits ``FeatureSpaceIntegrator`` variants on the latent trajectories and
rolls them out for the held-out fields, for several landmark seeds (the random
landmark choice alone moves the error by up to 0.03 on SP4 domain 2, so single runs
mislead). Reports, per variant, the held-out error (mean over test fields of the
max over time of |<m>_pred - <m>_true|; mean and spread over seeds), the same on 20
training fields (rollouts, not teacher forcing) and the fit time. Data as for
``bench_kernel.py`` (made on first use)::

    python benchmarks/study_integrator.py --data data --domain sp4_field2 \\
        --variants '[{"n_segments": 1, "rank": 3000}, {"n_segments": 10}]'

``--test val`` scores on ``DOMAIN_val.zarr`` (100 fields, see ``bench_kernel.py``)
instead of the 20 test fields, whose mean is uncertain by about 0.02.

Writes JSON (default ``benchmarks/results/integrator_study.json``).
"""

import argparse
import json
import pathlib
import time

import numpy as np
from _args import int_list, json_list, json_object
from _data import store
from _results import write_results

from ubermag_surrogate.integration import FeatureSpaceIntegrator
from ubermag_surrogate.models import KernelSurrogate, Prediction

HERE = pathlib.Path(__file__).parent
BASE = {"nu": 5, "rank": 2000, "gamma": "median", "alpha": 1e-4, "n_segments": 10}


def _errors(model, latent, truth_mean):
    """Per-field max over time of |<m>| error of latent rollouts ``(k, s+1, d)``."""
    rollout = Prediction(
        times=None,
        fields=None,
        latent=latent,
        decoder=model.decode,
        Ms=model.Ms_,
    )
    return np.abs(rollout.mean_m() - truth_mean).max(axis=(1, 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="folder with the stores")
    parser.add_argument("--domain", default="sp4_field2")
    parser.add_argument(
        "--variants", type=json_list, default=[{}], help="JSON list of overrides"
    )
    parser.add_argument("--seeds", type=int_list, default=[0, 1, 2], help="seeds")
    parser.add_argument(
        "--model", type=json_object, default={}, help="JSON overrides of the model"
    )
    parser.add_argument(
        "--test",
        default="test",
        help="held-out store DOMAIN_TEST.zarr to score on (e.g. val: 100 fields)",
    )
    parser.add_argument(
        "--out", default=str(HERE / "results" / "integrator_study.json")
    )
    args = parser.parse_args()
    train = store(args.data, args.domain, "train")
    test = store(args.data, args.domain, args.test)
    model = KernelSurrogate(
        **{"integrator_rank": 10, "integrator_segments": 1, **args.model}
    ).fit(train)
    states = train.tensor(field_components=())  # (s+1, n, 3N)
    n_times, n_fields, three_n = states.shape
    latent = model.encode(states.reshape(-1, three_n)).reshape(n_times, n_fields, -1)
    latent = latent.transpose(1, 0, 2)
    seen = train.complete[:20]  # training fields rolled out too
    train_mean = train.mean_m(seen)  # (20, s+1, 3)
    test_mean = test.mean_m()

    records = []
    print(f"{'variant':58} {'held-out':>8} {'spread':>7} {'train':>7} {'fit (s)':>8}")
    for overrides in args.variants:
        params = {**BASE, **overrides}
        runs = []
        for seed in args.seeds:
            integrator = FeatureSpaceIntegrator(**{**params, "random_state": seed})
            start = time.perf_counter()
            integrator.fit(latent, train.fields)
            fit_s = time.perf_counter() - start
            held_out = _errors(
                model,
                integrator.rollout(model.c0_, test.fields, n_times - 1),
                test_mean,
            )
            on_train = _errors(
                model,
                integrator.rollout(model.c0_, train.fields[seen], n_times - 1),
                train_mean,
            )
            runs.append(
                {
                    "seed": seed,
                    "held_out_mean": float(held_out.mean()),
                    "held_out_max": float(held_out.max()),
                    "train_mean": float(on_train.mean()),
                    "fit_s": fit_s,
                    "held_out_per_field": held_out.tolist(),
                }
            )
        means = np.array([r["held_out_mean"] for r in runs])
        record = {
            "params": params,
            "held_out_mean": float(means.mean()),
            "held_out_spread": float(means.max() - means.min()),
            "train_mean": float(np.mean([r["train_mean"] for r in runs])),
            "fit_s": float(np.mean([r["fit_s"] for r in runs])),
            "runs": runs,
        }
        records.append(record)
        print(
            f"{json.dumps(overrides):58} {record['held_out_mean']:8.4f} "
            f"{record['held_out_spread']:7.4f} {record['train_mean']:7.4f} "
            f"{record['fit_s']:8.1f}",
            flush=True,
        )
    write_results(
        args.out,
        "integrator_study",
        domain=args.domain,
        test_store=args.test,
        model=model.get_params(),
        records=records,
    )


if __name__ == "__main__":
    main()
