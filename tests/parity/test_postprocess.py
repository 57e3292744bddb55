"""The postprocess declaration interpreted in Python (edgekit/postprocess.py) and by edgekit-infer: the same
top-k, labels and scores on the golden items; and edgekit-infer says what its scores are."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgekit import bundle as B
from edgekit.bundle import PostprocessInfo
from edgekit.postprocess import classify, softmax
from tests.parity.conftest import CPP_BINARY, edit_manifest


def test_classify_follows_the_declaration() -> None:
    x = np.asarray([[1.0, 3.0, 2.0, 3.0]], np.float32)
    top = classify(x, PostprocessInfo(apply_softmax=False, top_k=3), ["a", "b", "c"])[0]
    assert [(t.index, t.label, t.score) for t in top] == [(1, "b", 3.0), (3, "", 3.0), (2, "c", 2.0)]
    top = classify(x, PostprocessInfo(apply_softmax=True, top_k=1), ["a", "b", "c", "d"])[0]
    assert top[0].index == 1 and abs(top[0].score - float(softmax(x[0])[1])) < 1e-7
    assert abs(float(softmax(x[0]).sum()) - 1.0) < 1e-6
    assert np.isnan(softmax(np.asarray([1.0, np.inf], np.float32))).all()
    with pytest.raises(ValueError, match="no batch rows"):
        classify(np.zeros((0, 4), np.float32), PostprocessInfo(), [])


@pytest.mark.cpp
@pytest.mark.skipif(CPP_BINARY is None, reason="edgekit-infer is not built (cpp_runtime/build)")
@pytest.mark.parametrize("softmax_on", [True, False])
def test_edgekit_infer_says_what_its_scores_are(tiny_bundle_copy: Path, softmax_on: bool) -> None:
    edit_manifest(tiny_bundle_copy, lambda raw: raw["postprocess"].update(apply_softmax=softmax_on, top_k=2))
    b = B.load(tiny_bundle_copy)
    img = str(tiny_bundle_copy / b.manifest.golden[0].input)
    base = [str(CPP_BINARY), "--bundle", str(tiny_bundle_copy), "--input", img]
    js = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=60, check=True)
    line = json.loads(js.stdout.strip().splitlines()[-1])
    assert line["scores"] == ("softmax" if softmax_on else "raw") and len(line["top_k"]) == 2
    human = subprocess.run(base, capture_output=True, text=True, timeout=60, check=True).stdout
    assert ("prob" if softmax_on else "raw score") in human.splitlines()[0]
