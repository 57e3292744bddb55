"""TensorRT and DLA: static checks, QAT → DLA INT8 translation, build plans, engine building and caching.

Only :mod:`edgekit.trt.engine_builder` imports ``tensorrt``; everything else runs anywhere (no GPU needed).
"""
