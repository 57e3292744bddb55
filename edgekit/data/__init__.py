"""Offline dataset loaders and the preprocessed-tensor cache."""

from edgekit.data.cache import preprocess_cached
from edgekit.data.mnist import load_mnist_subset

__all__ = ["load_mnist_subset", "preprocess_cached"]
