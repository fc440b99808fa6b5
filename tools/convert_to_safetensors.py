#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (pytorch_model.bin, a state dict) to model.safetensors.

    tools/.venv/bin/python tools/convert_to_safetensors.py MODEL_DIR

Optional: merd reads pytorch_model.bin as published (NeuralKit's TorchCheckpoint, a
restricted unpickler that runs no Python; docs/models.md, "PyTorch checkpoints"). Convert when
a tool wants safetensors, or for a checkpoint merd refuses: the legacy formats of torch < 1.6,
or a pickle holding Python objects merd does not read as data (torch.load with
weights_only=True reads the former). Tensor names are kept as they are.
"""
import pathlib
import sys

import torch
from safetensors.torch import save_file


def main():
    directory = pathlib.Path(sys.argv[1])
    state = torch.load(directory / "pytorch_model.bin", map_location="cpu", weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(directory / "model.safetensors"), metadata={"format": "pt"})
    print(f"wrote {directory / 'model.safetensors'} ({len(state)} tensors)")


if __name__ == "__main__":
    main()
