"""Integration in the reduced space: time steppers on latent trajectories."""

from .feature_space import FeatureSpaceIntegrator as FeatureSpaceIntegrator
from .network import LatentNetworkIntegrator as LatentNetworkIntegrator

__all__ = ["FeatureSpaceIntegrator", "LatentNetworkIntegrator"]
