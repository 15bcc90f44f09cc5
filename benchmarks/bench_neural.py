"""Accuracy and speed of the neural (autoencoder) surrogate on SP4.

Trains ``NeuralSurrogate`` (seed paper, sec. 2.1: dense autoencoder, feed-forward
latent integrator with the forward-looking objective) on each domain's training
store and scores it like ``bench_kernel.py`` on the held-out stores (made on
first use, as there)::

    python benchmarks/bench_neural.py --data data --params '{"autoencoder_epochs": 30}'

The paper gives no epoch counts and trains on a GPU; on 2 CPU cores one epoch of
the paper-size networks on 30,300 SP4 states takes about a minute, so set the
epochs (``--params``) to what the machine allows. Reports the same metrics as
``bench_kernel.py`` plus the networks' final training losses and the process's
peak resident memory. Prints a table and writes JSON (default
``benchmarks/results/neural.json``); ``--save`` keeps each fitted model.
"""

import argparse
import pathlib
import resource
import time

import numpy as np
from _args import json_object
from _data import open_stores
from _results import write_results
from bench_kernel import (
    SCORES_HEADER,
    _metrics,
    _time_predictions,
    print_more_tests,
    scores,
)

from ubermag_surrogate.models import NeuralSurrogate

HERE = pathlib.Path(__file__).parent


def bench(train, test, params, more_tests, save=None):
    start = time.perf_counter()
    model = NeuralSurrogate(**params).fit(train)
    fit_s = time.perf_counter() - start
    if save:
        model.save(save)
    truth = test.tensor(field_components=()).transpose(1, 0, 2)
    result = _metrics(model.predict(test.fields).m, truth)
    states = truth.reshape(-1, truth.shape[-1])
    rows = np.repeat(test.fields[:], truth.shape[1], axis=0)
    floor = model.decode(model.encode(states, rows)).reshape(truth.shape)
    result["encode_decode_floor_mean_m"] = _metrics(floor, truth)["mean_m_error_mean"]
    result["more_tests"] = {}
    for name, store in more_tests.items():
        extra = store.tensor(store.complete, field_components=()).swapaxes(0, 1)
        result["more_tests"][name] = {
            "n": len(extra),
            **_metrics(model.predict(store.fields[store.complete]).m, extra),
        }
    batch = np.repeat(train.fields, -(-300 // len(train.fields)), axis=0)[:300]
    one_s, batch_s = _time_predictions(lambda f: model.predict(f).m, batch)
    result.update(
        fit_s=fit_s,
        autoencoder_loss=model.autoencoder_.loss_[-1],
        integrator_loss=model.integrator_.loss_[-1],
        # with validation_fraction: the held-out checks and the epoch kept
        integrator_validation_scores=model.integrator_.validation_scores_,
        integrator_best_epoch=model.integrator_.best_epoch_,
        peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        predict_one_s=one_s,
        predict_300_s=batch_s,
        predict_300_mean_m_only_s=_time_predictions(
            lambda f: model.predict(f).mean_m(), batch, 3
        )[1],
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="folder with the stores")
    parser.add_argument("--domains", default="sp4_field2,sp4_field1")
    parser.add_argument(
        "--params", type=json_object, default={}, help="JSON overrides of the model"
    )
    parser.add_argument(
        "--more-tests",
        default="val",
        help="comma-separated suffixes of further held-out stores: 'val' is "
        "simulated where absent, other names skipped where absent",
    )
    parser.add_argument("--save", help="folder to save each fitted model in")
    parser.add_argument("--out", default=str(HERE / "results" / "neural.json"))
    args = parser.parse_args()
    params = {**NeuralSurrogate().get_params(), "verbose": 1, **args.params}
    records = []
    for domain in args.domains.split(","):
        train, test, more = open_stores(args.data, domain, args.more_tests)
        save = None
        if args.save:
            pathlib.Path(args.save).mkdir(parents=True, exist_ok=True)
            save = pathlib.Path(args.save, f"{domain}_neural.npz")
        result = bench(train, test, params, more, save)
        records.append({"domain": domain, "n_train": len(train.complete), **result})

    print(f"neural surrogate, params {params}")
    header = f"{'domain':11} {SCORES_HEADER}"
    print(header)
    print("-" * len(header))
    for x in records:
        print(f"{x['domain']:11} {scores(x)}")
        print(
            f"{'':11} floor {x['encode_decode_floor_mean_m']:.4f}; losses: "
            f"autoencoder {x['autoencoder_loss']:.3g}, integrator "
            f"{x['integrator_loss']:.3g} (weights of epoch "
            f"{x['integrator_best_epoch']} kept); peak RSS {x['peak_rss_gb']:.1f} GB; "
            f"300 <m> only {x['predict_300_mean_m_only_s']:.2f} s"
        )
        print_more_tests(x["domain"], x["more_tests"])
    write_results(args.out, "neural", params=params, records=records)


if __name__ == "__main__":
    main()
