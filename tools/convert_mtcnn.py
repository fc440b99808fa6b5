#!/usr/bin/env python3
"""Convert the MTCNN weights of the PyPI package `mtcnn` 1.0.0 (MIT) to one safetensors file.

The package ships mtcnn/assets/weights/{p,r,o}net.lz4: LZ4 frames holding a joblib pickle of
a list of float32 arrays, in the order of the Keras model's `weights` (mtcnn/network/*.py).
Each array is named after its Keras variable (`p_net/conv1/kernel` -> `pnet.conv1.kernel`)
and kept in Keras layout; merd's loader (MTCNNNetworks.swift) does the transposes.

    convert_mtcnn.py PNET.lz4 RNET.lz4 ONET.lz4 OUT.safetensors

Needs numpy, joblib, lz4 and safetensors (no TensorFlow).
"""
import sys

import numpy as np

# (name, shape) in the order of each net's `weights`, as mtcnn 1.0.0 builds them.
LAYOUT = {
    "pnet": [
        ("conv1.kernel", (3, 3, 3, 10)), ("conv1.bias", (10,)), ("prelu1.alpha", (1, 1, 10)),
        ("conv2.kernel", (3, 3, 10, 16)), ("conv2.bias", (16,)), ("prelu2.alpha", (1, 1, 16)),
        ("conv3.kernel", (3, 3, 16, 32)), ("conv3.bias", (32,)), ("prelu3.alpha", (1, 1, 32)),
        ("conv4-1.kernel", (1, 1, 32, 4)), ("conv4-1.bias", (4,)),
        ("conv4-2.kernel", (1, 1, 32, 2)), ("conv4-2.bias", (2,)),
    ],
    "rnet": [
        ("conv1.kernel", (3, 3, 3, 28)), ("conv1.bias", (28,)), ("prelu1.alpha", (1, 1, 28)),
        ("conv2.kernel", (3, 3, 28, 48)), ("conv2.bias", (48,)), ("prelu2.alpha", (1, 1, 48)),
        ("conv3.kernel", (2, 2, 48, 64)), ("conv3.bias", (64,)), ("prelu3.alpha", (1, 1, 64)),
        ("fc4.kernel", (576, 128)), ("fc4.bias", (128,)), ("prelu4.alpha", (128,)),
        ("fc5-1.kernel", (128, 4)), ("fc5-1.bias", (4,)),
        ("fc5-2.kernel", (128, 2)), ("fc5-2.bias", (2,)),
    ],
    "onet": [
        ("conv1.kernel", (3, 3, 3, 32)), ("conv1.bias", (32,)), ("prelu1.alpha", (1, 1, 32)),
        ("conv2.kernel", (3, 3, 32, 64)), ("conv2.bias", (64,)), ("prelu2.alpha", (1, 1, 64)),
        ("conv3.kernel", (3, 3, 64, 64)), ("conv3.bias", (64,)), ("prelu3.alpha", (1, 1, 64)),
        ("conv4.kernel", (2, 2, 64, 128)), ("conv4.bias", (128,)), ("prelu4.alpha", (1, 1, 128)),
        ("fc5.kernel", (1152, 256)), ("fc5.bias", (256,)), ("prelu5.alpha", (256,)),
        ("fc6-1.kernel", (256, 4)), ("fc6-1.bias", (4,)),
        ("fc6-2.kernel", (256, 10)), ("fc6-2.bias", (10,)),
        ("fc6-3.kernel", (256, 2)), ("fc6-3.bias", (2,)),
    ],
}


def named_tensors(net, arrays):
    """The arrays of one net's weight list, named and checked against LAYOUT."""
    layout = LAYOUT[net]
    if len(arrays) != len(layout):
        raise SystemExit(f"{net}: {len(arrays)} arrays, expected {len(layout)}")
    tensors = {}
    for (name, shape), array in zip(layout, arrays):
        array = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
        if array.shape != shape:
            raise SystemExit(f"{net}.{name}: shape {array.shape}, expected {shape}")
        tensors[f"{net}.{name}"] = array
    return tensors


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    import joblib
    from safetensors.numpy import save_file

    tensors = {}
    for net, path in zip(["pnet", "rnet", "onet"], sys.argv[1:4]):
        tensors.update(named_tensors(net, joblib.load(path)))
    save_file(tensors, sys.argv[4], metadata={"format": "mtcnn-1.0.0-keras"})


if __name__ == "__main__":
    main()
