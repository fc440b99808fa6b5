#!/usr/bin/env python3
"""Convert an MA-Net checkpoint (the MER 2023 baseline's RAF-DB model, a PyTorch pickle holding
{"state_dict": {"module.conv1.weight": …}}) to safetensors with the module's own tensor names.

    convert_manet.py CHECKPOINT.pth OUT.safetensors

`module.` (DataParallel's prefix) is removed and batch-norm step counters dropped; nothing else
changes: merd's loader (MANet.swift) folds the batch norms. Needs torch and safetensors
(tools/requirements.txt). torch.load runs with weights_only=True, so the pickle cannot run code.
"""
import sys


def convert(source, target):
    import torch
    from safetensors.torch import save_file

    checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    tensors = {}
    for name, value in state.items():
        name = name[len("module."):] if name.startswith("module.") else name
        if name.endswith("num_batches_tracked"):
            continue
        tensors[name] = value.detach().to(torch.float32).contiguous()
    save_file(tensors, target, metadata={"format": "manet-rafdb-pytorch"})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(sys.argv[1], sys.argv[2])
