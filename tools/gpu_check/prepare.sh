#!/bin/bash
# Prepare the GPU check of the embedded calculator (see README.md beside this file).
# Run here, in the repository root, with the project's virtual environment active:
#   bash tools/gpu_check/prepare.sh
# Fills tools/gpu_check/.whl (wheels for Python 3.12 of what the GPU machine lacks,
# about 40 MB) and tools/gpu_check/.shared (OOMMF's SP4 field 2 and relaxation from
# ../shared, about 12 MB). Both are ignored by git.
set -euo pipefail
HERE=tools/gpu_check
# Packages the GPU image lacks (it has torch, numpy, scipy, pandas, matplotlib,
# xarray, h5py, scikit-learn, tqdm, pytest); versions as installed here.
NEEDED="anywidget comm dask discretisedfield donfig google-crc32c holoviews ipython
ipywidgets k3d lazy-importer micromagneticdata micromagneticmodel numcodecs param
psygnal pyviz_comms tblib traitlets traittypes ubermagtable ubermagutil zarr magnumnp
setproctitle importlib_metadata platformdirs parso decorator matplotlib-inline pexpect
ptyprocess prompt_toolkit wcwidth stack_data executing asttokens pure_eval
ipython_pygments_lexers jupyterlab_widgets oommfc"
# name==version where installed here, the bare name otherwise
SPECS=$(python - $NEEDED <<'PY'
import importlib.metadata as im
import sys

for name in sys.argv[1:]:
    try:
        print(f"{name}=={im.version(name)}")
    except im.PackageNotFoundError:
        print(name)
PY
)
rm -rf "$HERE/.whl" "$HERE/.shared"
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$HERE/.whl" $SPECS
# xitorch (a magnum.np dependency) declares Python < 3.12; its pure wheel works there.
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    -d "$HERE/.whl" "xitorch==$(python -c 'import importlib.metadata as m; print(m.version("xitorch"))')"
python -m pip wheel -q --no-deps --no-build-isolation -w "$HERE/.whl" .
mkdir -p "$HERE/.shared/oommf"
cp -r ../shared/oommf/sp4_relax ../shared/oommf/sp4_field2 "$HERE/.shared/oommf/"
du -sh "$HERE/.whl" "$HERE/.shared"
