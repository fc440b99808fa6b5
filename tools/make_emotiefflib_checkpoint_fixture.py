#!/usr/bin/env python3
"""Generate Tests/Fixtures/torch/emotiefflib_enet_b0_va.pt (generated, do not edit):
EmotiEffLib's enet_b0_8_va_mtl as EmotiEffLib publishes it — `torch.save(model)` of the whole
timm model, not a state dict — at the reduced width of the committed parity fixture
Tests/Fixtures/vision/emotiefflib-enet-b0-va (tools/make_efficientnet_fixtures.py), whose
weights it loads. So the Swift tests can check that the `.pt` as published loads to the same
encoder as the safetensors export (outputs equal), and `merd models fetch` can be tested
against a local server serving it as EmotiEffLib's GitHub would.

    /work/venv/bin/python tools/make_emotiefflib_checkpoint_fixture.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_efficientnet_fixtures as enet  # noqa: E402  (stubs torchvision's CUDA registrations, imports timm)
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

FOLDER = os.path.join(enet.OUT, "emotiefflib-enet-b0-va")
OUT = os.path.join(enet.ROOT, "Tests", "Fixtures", "torch", "emotiefflib_enet_b0_va.pt")

if __name__ == "__main__":
    name, variant, channel, depth, tf, labels, _, sequential = enet.MODELS[0]
    assert name == "emotiefflib-enet-b0-va"
    model = enet.build(variant, channel, depth, tf, len(labels), sequential)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(os.path.join(FOLDER, "model.safetensors")).items()}
    model.load_state_dict(state, strict=True)
    torch.save(model.eval(), OUT)
    print(f"{OUT}: {os.path.getsize(OUT)} bytes")
