"""Preprocessing declared once, as data, and its Python interpretation."""

from edgekit.preprocess.python_impl import Stage, run, run_batch
from edgekit.preprocess.spec import PreprocessSpec, imagenet_spec, mnist_spec

__all__ = ["PreprocessSpec", "Stage", "imagenet_spec", "mnist_spec", "run", "run_batch"]
