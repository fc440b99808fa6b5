#!/usr/bin/env python3
"""Generate MA-Net's parity fixtures in Tests/Fixtures/vision/ (generated, do not edit).

The reference: MA-Net as the MER 2023 baseline defines it (feature_extraction/visual/manet/model/
{manet,attention}.py: ResNet-18 stem and layer1-2, four local patch branches of CBAM attention
blocks, a multi-scale branch, fc_1/fc_2), written out below with the same parameter names, at
1/8 of its width so the random-weight model stays small; every block, split and patch is the
full model's. Random weights and batch-norm statistics; saved as the published checkpoint is
({"state_dict": {"module.…": …}}) and converted by tools/convert_manet.py, so the converter is
what the test reads. Inputs: merd's own aligned 224×224 crops of GRID frames (`merd faces
--crops`, pretrained face models needed: tools/fetch-default-models).

    swift build && tools/.venv/bin/python tools/make_manet_fixtures.py
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn
from torch.nn import functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "vision")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_manet import convert  # noqa: E402

DIVISOR = 8


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class ChannelGate(nn.Module):
    def __init__(self, channels):
        super().__init__()
        # Index 0 is the flatten, 2 the ReLU: parameter names mlp.1.* and mlp.3.*, as the baseline's.
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, channels // 16), nn.ReLU(), nn.Linear(channels // 16, channels))

    def forward(self, x):
        gate = self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3)))
        return x * torch.sigmoid(gate)[:, :, None, None]


class SpatialConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, 1, 3, bias=False)
        self.bn = nn.BatchNorm2d(1)


class SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.spatial = SpatialConv()

    def forward(self, x):
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial.bn(self.spatial.conv(pooled)))


class CBAM(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.ChannelGate = ChannelGate(channels)
        self.SpatialGate = SpatialGate()

    def forward(self, x):
        return self.SpatialGate(self.ChannelGate(x))


def downsample(cin, cout, stride):
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride=1, attention=False):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv3x3(cout, cout), nn.BatchNorm2d(cout)
        self.downsample = downsample(cin, cout, stride)
        if attention:
            self.cbam = CBAM(cout)

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if hasattr(self, "cbam"):
            out = self.cbam(out)
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


class MultiScale(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.width = cout // 4
        self.conv1, self.bn1 = conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        for path in (1, 2):
            for i in range(1, 5):
                setattr(self, f"conv{path}_2_{i}", conv3x3(self.width, self.width))
                setattr(self, f"bn{path}_2_{i}", nn.BatchNorm2d(self.width))
        self.downsample = downsample(cin, cout, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        groups = torch.split(out, self.width, 1)
        total = 0
        for path in (1, 2):
            outputs, previous = [], None
            for i in range(1, 5):
                inp = groups[i - 1] if previous is None else F.relu(previous) + groups[i - 1]
                previous = getattr(self, f"bn{path}_2_{i}")(getattr(self, f"conv{path}_2_{i}")(inp))
                outputs.append(previous)
            total = total + torch.cat(outputs, 1)
        return F.relu(total + (self.downsample(x) if self.downsample is not None else x))


class MANet(nn.Module):
    def __init__(self, classes=7, d=DIVISOR):
        super().__init__()
        w = [64 // d, 128 // d, 256 // d, 512 // d]
        self.conv1, self.bn1 = nn.Conv2d(3, w[0], 7, 2, 3, bias=False), nn.BatchNorm2d(w[0])
        self.layer1 = nn.Sequential(Basic(w[0], w[0]), Basic(w[0], w[0]))
        self.layer2 = nn.Sequential(Basic(w[0], w[1], 2), Basic(w[1], w[1]))
        for p in range(1, 5):
            setattr(self, f"layer3_1_p{p}", nn.Sequential(Basic(w[1], w[2], 2, True), Basic(w[2], w[2], 1, True)))
            setattr(self, f"layer4_1_p{p}", nn.Sequential(Basic(w[2], w[3], 1, True), Basic(w[3], w[3], 1, True)))
        self.layer3_2 = nn.Sequential(MultiScale(w[1], w[2], 2), MultiScale(w[2], w[2]))
        self.layer4_2 = nn.Sequential(MultiScale(w[2], w[3], 2), MultiScale(w[3], w[3]))
        self.fc_1, self.fc_2 = nn.Linear(w[3], classes), nn.Linear(w[3], classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer2(self.layer1(x))
        patches = [x[:, :, 0:14, 0:14], x[:, :, 0:14, 14:28], x[:, :, 14:28, 0:14], x[:, :, 14:28, 14:28]]
        outs = [getattr(self, f"layer4_1_p{p}")(getattr(self, f"layer3_1_p{p}")(patch)) for p, patch in enumerate(patches, 1)]
        local = torch.cat([torch.cat(outs[:2], 3), torch.cat(outs[2:], 3)], 2).mean((2, 3))
        glob_ = self.layer4_2(self.layer3_2(x)).mean((2, 3))
        return torch.cat([local, glob_], 1), 0.6 * self.fc_1(local) + 0.4 * self.fc_2(glob_)


def aligned_crops(model):
    """merd's MA-Net crops (224 px, MA-Net's margin) of GRID frames, made with the pretrained
    detector and landmarks and this model installed as manet-rafdb."""
    pretrained = os.environ.get("MERD_MODELS", os.path.expanduser("~/.local/share/merd/models"))
    with tempfile.TemporaryDirectory() as models, tempfile.TemporaryDirectory() as folder:
        for name in ("mtcnn", "dlib-landmarks-68"):
            os.symlink(os.path.join(pretrained, name), os.path.join(models, name))
        os.makedirs(os.path.join(models, "manet-rafdb"))
        os.symlink(model, os.path.join(models, "manet-rafdb", "model.safetensors"))
        merd = os.path.join(ROOT, ".build", "debug", "merd")
        subprocess.run([merd, "faces", os.path.join(ROOT, "..", "shared", "data", "grid", "lbax4n.mpg"), "--every", "37",
                        "--models", models, "--crops", folder], check=True, stdout=subprocess.DEVNULL)
        crops = []
        for path in sorted(glob.glob(os.path.join(folder, "*-MR.png")))[:2]:
            raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                                 check=True, capture_output=True).stdout
            crops.append(np.frombuffer(raw, dtype=np.uint8).reshape(224, 224, 3))
    assert len(crops) == 2, "merd faces wrote no MA-Net crops"
    return np.stack(crops)


def main():
    torch.manual_seed(20261125)
    net = MANet().eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.3)
                nn.init.normal_(m.bias, 0, 0.1)
    with tempfile.TemporaryDirectory() as work:
        checkpoint = os.path.join(work, "manet.pth")
        torch.save({"state_dict": {"module." + k: v for k, v in net.state_dict().items()}, "epoch": 1}, checkpoint)
        convert(checkpoint, os.path.join(OUT, "manet_narrow_random.safetensors"))
    crops = aligned_crops(os.path.join(OUT, "manet_narrow_random.safetensors"))
    inputs = torch.from_numpy(crops.astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        embedding, scores = net(inputs)
    save_file({"manet.crops": crops, "manet.embedding": embedding.numpy(), "manet.scores": scores.numpy()},
              os.path.join(OUT, "manet_reference.safetensors"), metadata={"generated": "tools/make_manet_fixtures.py; do not edit"})
    for name in ("manet_narrow_random.safetensors", "manet_reference.safetensors"):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
