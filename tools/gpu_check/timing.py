"""Time SP4 drives of the embedded calculator on the CPU and on the GPU.

SP4 field 2 at 190 deg (36 mT), 1 ns, n = 100 (the training-data setting), from
OOMMF's s-state: one drive at a time (the first drive of each device and thread
count starts its solver process, the second reuses it), then 16 drives at once on
16 one-thread CPU workers and on 4 workers sharing the GPU.

Usage (on the GPU machine, see README.md)::

    python3 tools/gpu_check/timing.py OUT.json
"""

import concurrent.futures
import json
import os
import pathlib
import sys
import time

import discretisedfield as df
import numpy as np

from ubermag_surrogate import embedded
from ubermag_surrogate.problems import sp4

M0 = pathlib.Path(__file__).parent / ".shared/oommf/sp4_field2/drive-0/m0.omf"
WORK = pathlib.Path("/tmp/gpu_check_timing")


def drive(job):
    """Run one drive; return its timings (s) and <m>(t)."""
    tag, device, n_threads, angle = job
    folder = WORK / tag
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    system = sp4.system(name="sp4")
    system.m = df.Field.from_file(str(M0))
    phi = np.radians(angle)
    system.energy += sp4.zeeman((0.036 * np.cos(phi), 0.036 * np.sin(phi), 0.0))
    start = time.perf_counter()
    embedded.TimeDriver(device=device).drive(
        system, t=1e-9, n=100, n_threads=n_threads, verbose=0
    )
    wall = time.perf_counter() - start
    result = json.loads(pathlib.Path("sp4/drive-0/sp4-result.json").read_text())
    return {
        "tag": tag,
        "device": result["device"],
        "n_threads": n_threads,
        "wall_s": wall,
        "startup_s": result["startup_s"],
        "solve_s": result["solve_s"],
        "iterations": result["iterations"],
        "mean_m": system.table.data[["mx", "my", "mz"]].to_numpy().tolist(),
    }


def main(out):
    """Run the drives, print each result and write them all to ``out``."""
    single = []
    for tag, device, threads in [
        ("cpu16_first", "cpu", 16),
        ("cpu16_again", "cpu", 16),
        ("cuda_first", "cuda", 1),
        ("cuda_again", "cuda", 1),
        ("cpu2_first", "cpu", 2),
    ]:
        row = drive((tag, device, threads, 190.0))
        reference = np.array(single[0]["mean_m"] if single else row["mean_m"])
        row["max_diff_mean_m_vs_cpu16"] = float(
            np.abs(np.array(row["mean_m"]) - reference).max()
        )
        single.append(row)
        print({k: v for k, v in row.items() if k != "mean_m"}, flush=True)
    batches = []
    angles = np.linspace(181, 199, 16)
    for label, device, workers in [("cpu", "cpu", 16), ("cuda", "cuda", 4)]:
        jobs = [(f"{label}_batch_{i}", device, 1, a) for i, a in enumerate(angles)]
        start = time.perf_counter()
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            done = list(pool.map(drive, jobs))
        wall = time.perf_counter() - start
        batches.append(
            {
                "device": device,
                "workers": workers,
                "drives": len(jobs),
                "wall_s": wall,
                "drives_per_min": 60 * len(jobs) / wall,
                "mean_solve_s": float(np.mean([d["solve_s"] for d in done])),
            }
        )
        print(batches[-1], flush=True)
        for row in single:
            row.pop("mean_m", None)
        record = {"single": single, "batches": batches}
        pathlib.Path(out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
