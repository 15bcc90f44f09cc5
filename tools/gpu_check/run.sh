#!/bin/bash
# The GPU check of the embedded calculator, run on the GPU machine from the repository
# root (see README.md beside this file). Writes $OUT/pytest.log, $OUT/junit.xml and
# $OUT/timing.json.
set -x
HERE=tools/gpu_check
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
[ -d /tmp/site/magnumnp ] || python3 -m pip install -q --no-index --no-deps --no-compile \
    --no-cache-dir --ignore-requires-python --target /tmp/site "$HERE"/.whl/*.whl || exit 1
# pyvista and vtk: empty stand-ins (vtk's wheel, 140 MB, cannot travel; discretisedfield
# and magnum.np import them only for 3D plots and VTK files).
# The checkout first: its code is tested; the wheel in /tmp/site gives its metadata.
export PYTHONPATH=$PWD:/tmp/site:$PWD/$HERE/stubs PYTHONUNBUFFERED=1
[ -e ../shared ] || ln -s "$PWD/$HERE/.shared" ../shared
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
timeout 360 python3 -m pytest -p no:cacheprovider -q -rs -o addopts="" \
    tests/test_validation_oommf.py tests/test_embedded_driver.py \
    tests/test_embedded_errors.py tests/test_solver_process.py -k "not field1" \
    --junitxml="$OUT/junit.xml" 2>&1 | tee "$OUT/pytest.log" | tail -15
timeout 200 python3 "$HERE/timing.py" "$OUT/timing.json" 2>&1 | grep -v INFO
