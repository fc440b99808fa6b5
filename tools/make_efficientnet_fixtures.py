#!/usr/bin/env python3
"""Generate the EfficientNet / EmotiEffLib parity fixtures in Tests/Fixtures/vision/ (generated,
do not edit; regenerate with the command below).

The reference is timm itself (pytorch-image-models, `_gen_efficientnet`), at reduced width so
the random-weight models stay small; depth, kernels, strides, padding and squeeze-excite are
the full models':

  emotiefflib-enet-b0-va/  tf_efficientnet_b0 (TensorFlow "same" padding, BN eps 1e-3), 10
                           outputs: EmotiEffLib's enet_b0_8_va_mtl head (8 classes, valence,
                           arousal), a plain Linear (`classifier.*`)
  emotiefflib-enet-b2/     tf_efficientnet_b2 (depth x1.2), 8 outputs behind nn.Sequential
                           (`classifier.0.*`), as EmotiEffLib's 8-class heads are
  efficientnet-b0/         efficientnet_b0 (PyTorch symmetric padding, BN eps 1e-5), 8 outputs

each a models-directory folder: model.safetensors (timm's state_dict names) and config.json
(timm's `save_config_for_hf`). Random weights and random batch-norm statistics. Inputs: merd's
own crops of a GRID face for these encoders (`merd faces --crops`: the MTCNN box, resized as
Pillow does, checked here to be exactly Pillow's resize of a whole-pixel box; pretrained MTCNN
and landmark models needed, tools/fetch-default-models), normalised as EmotiEffLib does
(ToTensor, ImageNet mean/std) in torch. References: the pooled
features and the classifier outputs. Also: Pillow's bilinear resize of rectangles of a GRID
frame (the crop's resize), and the full-size tensor names and shapes of each architecture (the
loader's contract), as metadata.

    swift build && /work/venv/bin/python tools/make_efficientnet_fixtures.py

With --full-width DIR, also writes a full-width random tf_efficientnet_b0 (10 outputs) with its
references into DIR (not committed: 16 MB), times it in PyTorch on one thread, and prints how
to run the Swift parity test on it (MERD_EFFICIENTNET_FULL=DIR).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import types

import numpy as np

# The venv's torchvision is a CUDA build whose operators do not register against the CPU
# torch, and timm imports torchvision at load; nothing here uses those operators.
for _name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
    sys.modules[_name] = types.ModuleType(_name)

import timm  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from timm.models._hub import save_config_for_hf  # noqa: E402
from timm.models.efficientnet import _gen_efficientnet  # noqa: E402
from torch import nn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "vision")
VIDEO = os.path.join(ROOT, "..", "shared", "data", "grid", "lbax4n.mpg")
WIDTH = 0.1  # timm channel multiplier on top of the variant's own
FRAME = 37  # the GRID frame whose face the crops show
AFFECTNET = ["Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise"]
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# folder, timm variant, channel and depth multipliers, TF family, outputs, label names, feature, sequential head
MODELS = [
    ("emotiefflib-enet-b0-va", "tf_efficientnet_b0", 1.0, 1.0, True, AFFECTNET + ["valence", "arousal"], "EN", False),
    ("emotiefflib-enet-b2", "tf_efficientnet_b2", 1.1, 1.2, True, AFFECTNET, "EN2", True),
    ("efficientnet-b0", "efficientnet_b0", 1.0, 1.0, False, AFFECTNET, "EN", False),
]
RESOLUTION = {"tf_efficientnet_b0": 224, "tf_efficientnet_b2": 260, "efficientnet_b0": 224}


def build(variant, channel, depth, tf, outputs, sequential, width=WIDTH):
    kwargs = dict(bn_eps=1e-3, pad_type="same") if tf else {}
    model = _gen_efficientnet(variant, channel_multiplier=channel * width, depth_multiplier=depth, num_classes=outputs, **kwargs)
    if sequential:
        model.classifier = nn.Sequential(nn.Linear(model.num_features, outputs))
    return model.eval()


def randomise(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, 0, 0.2)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.3)
                nn.init.normal_(m.bias, 0, 0.1)
        # Stored as float16 to halve the fixtures: the reference runs on the rounded values.
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.copy_(value.half().float())


def save_folder(model, folder, variant, labels, size, half=True):
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().numpy().astype(np.float16 if half and v.is_floating_point() else v.numpy().dtype)
             for k, v in model.state_dict().items()}
    save_file(state, os.path.join(folder, "model.safetensors"),
              metadata={"generated": "tools/make_efficientnet_fixtures.py; do not edit"})
    save_config_for_hf(model, os.path.join(folder, "config.json"),
                       model_config={"label_names": labels},
                       data_config={"input_size": (3, size, size), "interpolation": "bilinear", "crop_pct": 1.0,
                                    "mean": MEAN, "std": STD})
    config = json.load(open(os.path.join(folder, "config.json")))
    config["architecture"] = variant  # the width-reduced build keeps timm's variant name
    json.dump(config, open(os.path.join(folder, "config.json"), "w"), indent=2)


def merd_crops(folders):
    """merd's crops (`merd faces --crops`) of GRID frame FRAME for the encoders installed from
    `folders` (folder name → directory), by feature name; each checked to be Pillow's bilinear
    resize of a whole-pixel rectangle next to the box merd reports (its corners truncated, as
    EmotiEffLib's `box.astype(int)` does)."""
    pretrained = os.environ.get("MERD_MODELS", os.path.expanduser("~/.local/share/merd/models"))
    with tempfile.TemporaryDirectory() as models, tempfile.TemporaryDirectory() as out:
        for name in ("mtcnn", "dlib-landmarks-68"):
            os.symlink(os.path.join(pretrained, name), os.path.join(models, name))
        for name, directory in folders.items():
            os.symlink(directory, os.path.join(models, name))
        # The frame as a PNG, so that merd reads exactly the pixels compared with below.
        image = frame(FRAME)
        still = os.path.join(out, "still.png")
        Image.fromarray(image).save(still)
        merd = os.path.join(ROOT, ".build", "debug", "merd")
        line = subprocess.run([merd, "faces", still, "--models", models, "--crops", out],
                              check=True, capture_output=True, text=True).stdout.splitlines()[0]
        x, y, w, h = json.loads(line)["faces"][0]["box"]
        crops = {}
        for path in sorted(glob.glob(os.path.join(out, "frame00000-*.png"))):
            feature = os.path.basename(path).rsplit("-", 1)[1][:-4]
            crop = np.array(Image.open(path).convert("RGB"))
            side = crop.shape[0]
            matches = [(x1, y1, x2, y2) for x1 in (x - 1, x) for y1 in (y - 1, y) for x2 in (x + w - 1, x + w) for y2 in (y + h - 1, y + h)
                       if np.array_equal(np.array(Image.fromarray(image[y1:y2, x1:x2]).resize((side, side), Image.BILINEAR)), crop)]
            assert matches, f"merd's {feature} crop is not Pillow's resize of a box next to {x, y, w, h}"
            print(f"{feature} crop {side} px = Pillow's bilinear resize of frame[{matches[0][1]}:{matches[0][3]}, {matches[0][0]}:{matches[0][2]}]")
            crops[feature] = crop[None]
    return crops


def normalise(crops):
    """EmotiEffLib's ToTensor and Normalize, in torch, in their order of operations."""
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous().to(torch.float32).div(255)
    return x.sub(torch.tensor(MEAN).view(1, 3, 1, 1)).div(torch.tensor(STD).view(1, 3, 1, 1))


def frame(index):
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", VIDEO, "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(288, 360, 3)


def resize_cases(tensors):
    """Pillow's bilinear resize of rectangles of a 120×120 region of a GRID frame: enlarging,
    shrinking (its antialiasing), one axis unchanged either way, a single pixel."""
    region = np.ascontiguousarray(frame(0)[60:180, 120:240])
    tensors["resize.region"] = region
    cases = [(30, 20, 40, 50, 72, 81), (5, 3, 110, 115, 64, 50), (20, 10, 60, 90, 60, 70),
             (0, 30, 90, 60, 70, 60), (3, 7, 1, 1, 5, 3)]
    for i, (left, top, w, h, ow, oh) in enumerate(cases):
        crop = Image.fromarray(region[top:top + h, left:left + w])
        tensors[f"resize.{i}.rect"] = np.array([left, top, w, h, ow, oh], dtype=np.int64)
        tensors[f"resize.{i}.pillow"] = np.array(crop.resize((ow, oh), Image.BILINEAR))


def contract():
    """Full-size tensor names and shapes, in state_dict order, per architecture."""
    shapes = {}
    for _, variant, channel, depth, tf, labels, _, sequential in MODELS:
        model = build(variant, channel, depth, tf, len(labels), sequential, width=1.0)
        shapes[f"contract.{variant}"] = json.dumps([[k, list(v.shape)] for k, v in model.state_dict().items()])
    return shapes


def full_width(directory, crops):
    torch.manual_seed(20261201)
    model = build("tf_efficientnet_b0", 1.0, 1.0, True, 10, False, width=1.0)
    randomise(model)
    save_folder(model, directory, "tf_efficientnet_b0", AFFECTNET + ["valence", "arousal"], 224, half=False)
    x = normalise(crops)
    with torch.no_grad():
        features = model.forward_head(model.forward_features(x), pre_logits=True)
        outputs = model(x)
        torch.set_num_threads(1)
        one = x[:1]
        for _ in range(3):
            model(one)
        times = []
        for _ in range(20):
            start = time.perf_counter()
            model(one)
            times.append(time.perf_counter() - start)
    save_file({"crops": crops, "features": features.numpy(), "outputs": outputs.numpy()}, os.path.join(directory, "reference.safetensors"))
    print(f"full-width tf_efficientnet_b0 in {directory}: PyTorch {torch.__version__}, 1 thread, median "
          f"{1000 * sorted(times)[len(times) // 2]:.2f} ms per face; Swift parity: "
          f"MERD_EFFICIENTNET_FULL={directory} swift test --skip-build --filter EfficientNetTests")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--full-width", help="also write a full-width random B0 and its references here")
    args = parser.parse_args()
    torch.manual_seed(20261130)
    models = {}
    for folder, variant, channel, depth, tf, labels, feature, sequential in MODELS:
        model = build(variant, channel, depth, tf, len(labels), sequential)
        randomise(model)
        save_folder(model, os.path.join(OUT, folder), variant, labels, RESOLUTION[variant])
        models[folder] = (model, feature)
    # One folder per feature name at a time: `efficientnet-b0` is installed as EN in a run of its own.
    crops = merd_crops({f: os.path.join(OUT, f) for f in ("emotiefflib-enet-b0-va", "emotiefflib-enet-b2")})
    tensors = {}
    for folder, (model, feature) in models.items():
        x = normalise(crops[feature])
        with torch.no_grad():
            features = model.forward_head(model.forward_features(x), pre_logits=True)
            outputs = model(x)
        tensors[f"crops.{feature}"] = crops[feature]
        tensors[f"{folder}.features"] = features.numpy()
        tensors[f"{folder}.outputs"] = outputs.numpy()
        print(folder, "features", tuple(features.shape), "max", float(features.abs().max()),
              "outputs max", float(outputs.abs().max()))
    resize_cases(tensors)
    metadata = {"generated": "tools/make_efficientnet_fixtures.py; do not edit", "timm": timm.__version__, "torch": torch.__version__}
    metadata.update(contract())
    save_file(tensors, os.path.join(OUT, "efficientnet_reference.safetensors"), metadata=metadata)
    total = 0
    for path in [os.path.join(OUT, "efficientnet_reference.safetensors")] + [os.path.join(OUT, m[0], f) for m in MODELS
                                                                            for f in ("model.safetensors", "config.json")]:
        total += os.path.getsize(path)
        print(os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")
    print("total", total, "bytes")
    if args.full_width:
        full_width(args.full_width, crops["EN"])


if __name__ == "__main__":
    main()
