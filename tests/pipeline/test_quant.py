"""Fake-quant (TensorRT flavour) export and the ORT CPU INT8 model, on real digits."""

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from edgekit.stages import fakequant as fq
from edgekit.stages.onnx_utils import export_onnx, fold_weight_quantize, ort_logits, save, slim
from edgekit.stages.qat import build_fake_quant
from tests.fixtures.ort_ref import unfused_logits


@pytest.fixture(scope="module")
def qdq(trained_cnn, digits, tmp_path_factory):  # type: ignore[no-untyped-def]
    xt, _, _, _ = digits
    q = build_fake_quant(trained_cnn, xt[:128])
    fq.freeze(q)
    path = tmp_path_factory.mktemp("qdq") / "q.onnx"
    export_onnx(q, path, torch.zeros(1, 1, 28, 28), 17)
    slim(path)
    unfolded = onnx.load(str(path))
    folded = onnx.load(str(path))
    n = fold_weight_quantize(folded)
    save(folded, path)
    return q, path, unfolded, folded, n


def _consts(g: onnx.GraphProto) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in g.initializer}


def test_qdq_export_is_symmetric_int8_per_channel_weights(qdq) -> None:  # type: ignore[no-untyped-def]
    q, _, unfolded, folded, n = qdq
    layers = [m for m in q.modules() if isinstance(m, fq.QuantConv2d | fq.QuantLinear)]
    assert n == len(layers) == 4
    ops = [nd.op_type for nd in unfolded.graph.node]
    assert ops.count("QuantizeLinear") == 8 and ops.count("DequantizeLinear") == 8  # input + weight per layer
    c = _consts(folded.graph)
    weight_dq = 0
    for nd in folded.graph.node:
        if nd.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        zp = c[nd.input[2]]
        assert zp.dtype == np.int8 and not zp.any()  # zero point 0, INT8
        scale = c[nd.input[1]]
        assert scale.dtype == np.float32
        if nd.op_type == "DequantizeLinear" and nd.input[0] in c:  # a weight: int8 initializer, per channel
            w = c[nd.input[0]]
            assert w.dtype == np.int8
            axis = next((a.i for a in nd.attribute if a.name == "axis"), 1)
            assert axis == 0 and scale.shape == (w.shape[0],)
            assert int(np.abs(w).max()) == 127  # max calibration: the largest weight maps to 127
            weight_dq += 1
        else:
            assert scale.ndim == 0 or scale.size == 1  # activations: per tensor
    assert weight_dq == 4
    assert not any(nd.op_type == "QuantizeLinear" and nd.input[0] in c for nd in folded.graph.node)
    for conv in (nd for nd in folded.graph.node if nd.op_type in ("Conv", "Gemm")):
        producers = {o: p.op_type for p in folded.graph.node for o in p.output}
        assert producers[conv.input[0]] == producers[conv.input[1]] == "DequantizeLinear"


def test_ort_matches_fake_quant_torch(qdq, digits) -> None:  # type: ignore[no-untyped-def]
    q, path, _, _, _ = qdq
    _, _, xe, ye = digits
    with torch.no_grad():
        ref = q(xe).numpy()
    got = unfused_logits(path, xe.numpy())  # Q/DQ as float arithmetic: the same on any CPU
    agree = float((ref.argmax(1) == got.argmax(1)).mean())
    assert agree >= 0.99, agree
    assert np.abs(ref - got).max() < 0.05 * (ref.max() - ref.min())
    assert float((got.argmax(1) == ye.numpy()).mean()) > 0.8  # a working classifier, not noise


def test_fake_quant_changes_numbers_and_can_be_switched_off(qdq, trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    q = qdq[0]
    xe = digits[2][:64]
    with torch.no_grad():
        fq.set_enabled(q, False)
        off = q(xe)
        fq.set_enabled(q, True)
        on = q(xe)
        ref = trained_cnn(xe)
    assert torch.allclose(off, ref, atol=1e-4)  # BN folding is exact
    assert not torch.allclose(on, ref, atol=1e-4)  # quantization really happens


def test_quantize_static_cpu_flavour_has_qlinearconv(qdq, digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    q = qdq[0]
    xt, _, xe, ye = digits
    fp32 = tmp_path / "fp32.onnx"
    fq.set_enabled(q, False)
    try:
        export_onnx(q, fp32, torch.zeros(1, 1, 28, 28), 17)
    finally:
        fq.set_enabled(q, True)
    calib = xt[:64].numpy()

    class R(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(range(0, 64, 16))

        def get_next(self):  # type: ignore[no-untyped-def]
            i = next(self.it, None)
            return None if i is None else {"input": calib[i : i + 16]}

    out = tmp_path / "int8.onnx"
    quantize_static(str(fp32), str(out), R(), quant_format=QuantFormat.QOperator, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    assert ops.count("QLinearConv") == 3 and "Conv" not in ops
    acc = float((ort_logits(out, xe.numpy()).argmax(1) == ye.numpy()).mean())
    assert acc > 0.8
