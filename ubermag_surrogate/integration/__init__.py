"""Integration in the reduced space: time steppers on latent trajectories."""

from .feature_space import FeatureSpaceIntegrator as FeatureSpaceIntegrator

__all__ = ["FeatureSpaceIntegrator"]
