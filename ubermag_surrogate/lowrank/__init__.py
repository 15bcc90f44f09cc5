"""Low-rank kernel methods: Nystroem features, l-kPCA, l-kRR (seed paper, sec. 2.2)."""

from .estimators import LowRankKernelPCA as LowRankKernelPCA
from .estimators import LowRankKernelRidge as LowRankKernelRidge
from .estimators import NystroemFeatures as NystroemFeatures
from .kernels import rbf_block as rbf_block
from .kernels import select_landmarks as select_landmarks

__all__ = [
    "LowRankKernelPCA",
    "LowRankKernelRidge",
    "NystroemFeatures",
    "rbf_block",
    "select_landmarks",
]
