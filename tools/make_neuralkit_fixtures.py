#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for NeuralKit's tests.

    python3 -m venv tools/.venv && tools/.venv/bin/pip install -r tools/requirements.txt
    tools/.venv/bin/python tools/make_neuralkit_fixtures.py

Outputs (generated, do not edit; regenerate with the command above):
  Tests/Fixtures/neuralkit/torch_dtypes.safetensors  - written by safetensors.torch in every
      dtype NeuralKit reads or lists, to prove the reader agrees with the reference writer.
  Tests/Fixtures/neuralkit/torch_kernels.safetensors - inputs, parameters and torch outputs of
      the kernels whose semantics are easiest to get subtly wrong (TF-style same padding is
      written out with F.pad, as TensorFlow defines it).
"""
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "neuralkit"
META = {"generator": "tools/make_neuralkit_fixtures.py", "torch": torch.__version__,
        "note": "generated, do not edit"}


def dtypes():
    g = torch.Generator().manual_seed(1)
    base = torch.randn(3, 5, generator=g) * 3
    tensors = {
        "f32": base.clone(),
        "f16": base.to(torch.float16),
        "bf16": base.to(torch.bfloat16),
        "f64": base.to(torch.float64),
        "i64": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "u8": torch.arange(4, dtype=torch.uint8),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        # The Float32 values each converts to, for the test to compare with.
        "expect.f16": base.to(torch.float16).float(),
        "expect.bf16": base.to(torch.bfloat16).float(),
        "expect.f64": base.to(torch.float64).float(),
    }
    save_file(tensors, str(OUT / "torch_dtypes.safetensors"), metadata={**META, "format": "pt"})


def tf_same_pad(x, kernel, stride, dilation=(1, 1)):
    pads = []
    for size, k, s, d in zip(x.shape[-2:], kernel, stride, dilation):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return F.pad(x, (left, right, top, bottom))


def kernels():
    g = torch.Generator().manual_seed(2)
    r = lambda *shape: torch.randn(*shape, generator=g)
    t = {}
    # conv2d: grouped, strided, dilated, padded.
    t["conv.x"], t["conv.w"], t["conv.b"] = r(2, 6, 11, 9), r(4, 3, 3, 3), r(4)
    t["conv.y"] = F.conv2d(t["conv.x"], t["conv.w"], t["conv.b"], stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    # depthwise with TF-style same padding, stride 2.
    t["dw.x"], t["dw.w"] = r(1, 4, 10, 7), r(4, 1, 3, 3)
    t["dw.y"] = F.conv2d(tf_same_pad(t["dw.x"], (3, 3), (2, 2)), t["dw.w"], None, stride=2, groups=4)
    # conv1d as HuBERT's first feature-extractor layer (kernel 10, stride 5).
    t["conv1d.x"], t["conv1d.w"] = r(1, 1, 400), r(8, 1, 10)
    t["conv1d.y"] = F.conv1d(t["conv1d.x"], t["conv1d.w"], stride=5)
    # norms.
    t["ln.x"], t["ln.w"], t["ln.b"] = r(7, 33) * 4 + 2, r(33), r(33)
    t["ln.y"] = F.layer_norm(t["ln.x"], (33,), t["ln.w"], t["ln.b"], eps=1e-5)
    t["gn.x"], t["gn.w"], t["gn.b"] = r(1, 8, 50) * 3 - 1, r(8), r(8)
    t["gn.y"] = F.group_norm(t["gn.x"], 8, t["gn.w"], t["gn.b"], eps=1e-5)
    t["bn.x"], t["bn.w"], t["bn.b"], t["bn.mean"], t["bn.var"] = r(2, 5, 4, 4), r(5), r(5), r(5), r(5).abs() + 0.1
    t["bn.y"] = F.batch_norm(t["bn.x"], t["bn.mean"], t["bn.var"], t["bn.w"], t["bn.b"], training=False, eps=1e-5)
    # activations.
    t["act.x"] = torch.linspace(-8, 8, 1001)
    t["act.gelu"] = F.gelu(t["act.x"])
    t["act.tanh"] = torch.tanh(t["act.x"])
    t["prelu.x"], t["prelu.w"] = r(2, 3, 5), r(3).abs() * 0.3
    t["prelu.y"] = F.prelu(t["prelu.x"], t["prelu.w"])
    t["softmax.x"] = r(4, 9) * 10
    t["softmax.y"] = F.softmax(t["softmax.x"], dim=-1)
    # pooling with ceil mode (MTCNN) and padding.
    t["pool.x"] = r(1, 2, 9, 11)
    t["pool.max"] = F.max_pool2d(t["pool.x"], 3, 2, ceil_mode=True)
    t["pool.avg"] = F.avg_pool2d(t["pool.x"], 3, 2, padding=1, ceil_mode=True)
    t["pool.avg_nopad"] = F.avg_pool2d(t["pool.x"], 3, 2, padding=1, ceil_mode=True, count_include_pad=False)
    # attention as torch.nn.MultiheadAttention computes it (in_proj = q|k|v stacked).
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        t["mha.x"] = r(1, 12, 16)
        t["mha.in_proj_weight"] = mha.in_proj_weight.detach().clone()
        t["mha.in_proj_bias"] = mha.in_proj_bias.detach().clone()
        t["mha.out_proj.weight"] = mha.out_proj.weight.detach().clone()
        t["mha.out_proj.bias"] = mha.out_proj.bias.detach().clone()
        t["mha.y"] = mha(t["mha.x"], t["mha.x"], t["mha.x"], need_weights=False)[0]
    save_file({k: v.contiguous() for k, v in t.items()}, str(OUT / "torch_kernels.safetensors"), metadata=META)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    dtypes()
    kernels()
    print(f"wrote fixtures to {OUT}")
