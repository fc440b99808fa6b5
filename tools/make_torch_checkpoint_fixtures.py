#!/usr/bin/env python3
"""PyTorch checkpoints written by torch.save, and their tensors as safetensors, for the tests of
NeuralKit's TorchCheckpoint (a reader of torch's zip format that runs no Python).

    tools/.venv/bin/python tools/make_torch_checkpoint_fixtures.py

Generated, do not edit; regenerate with the command above. Writes Tests/Fixtures/torch/:
  state_dict.pt            torch.save(dict, path): the archive folder is the file's stem
                           ("state_dict/"). F32, F16, BF16, F64, I64, U8, BOOL and U16 (saved
                           through _rebuild_tensor_v3 on an UntypedStorage), a 0-d and an empty
                           tensor, non-contiguous views (a transpose, a strided slice, a column,
                           a stride-0 expand), a view at a storage offset, and several tensors
                           sharing one storage.
  state_dict_archive.pt    the same dict saved to a file object: folder "archive/". torch writes
                           both layouts today (a path gives the stem, a file object "archive"),
                           and published files have both, so neither needs rewriting by hand.
  wrapped.pth              a training script's checkpoint: {"epoch", "state_dict", "best_loss"}.
  module.pt                torch.save(model) of a small nn.Module subclass defined here
                           (__main__.TinyNet): conv without bias (a None parameter), batch norm
                           (its I64 num_batches_tracked), a persistent and a non-persistent
                           buffer, a Sequential, a ModuleDict, tied weights, torch.sigmoid and a
                           Python function kept as attributes.
  timm_efficientnet.pt     torch.save(model) of a timm EfficientNet at minimal size, its
                           classifier replaced by nn.Sequential(nn.Linear), as EmotiEffLib saves
                           its face models.
  <each of the above>.safetensors
                           safetensors.torch.save_file of the same state dict (contiguous
                           clones); metadata "order" lists state_dict()'s names in its order.
  legacy.pt                torch.save(..., _use_new_zipfile_serialization=False): the pre-1.6
                           non-zip format, to be refused.
  legacy_tar.pt            a tar archive of 'storages', 'tensors' and 'pickle' as torch < 0.4
                           wrote (torch cannot write one any more; tarfile lays it out), to be
                           refused.
  os_system.pt             torch.save of an object whose __reduce__ is (os.system, (command,)):
                           what a malicious checkpoint looks like. Loading it with pickle would
                           run the command; the reader must refuse it naming posix.system.
  hubert-large/pytorch_model.bin
                           the tiny HuBERT fixture's model.safetensors (Tests/Fixtures/hubert/
                           large) saved with torch.save(state_dict, path), as transformers
                           writes pytorch_model.bin.

timm imports torchvision at import time; when the installed torchvision cannot load (its C
extension built for another torch), a stub stands in for it: the tiny model uses no torchvision
class, and nothing of the stub is pickled.
"""
import io
import os
import pathlib
import sys
import tarfile

import torch
from safetensors.torch import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "torch"
HUBERT = ROOT / "Tests" / "Fixtures" / "hubert" / "large" / "model.safetensors"


def state_dict():
    g = torch.Generator().manual_seed(7)
    base = torch.randn(4, 6, generator=g)
    shared = torch.randn(5, 3, generator=g)
    sd = {
        "f32": base,
        "f16": torch.randn(3, 5, generator=g).to(torch.float16),
        "bf16": torch.randn(2, 7, generator=g).to(torch.bfloat16),
        "f64": torch.randn(3, 2, generator=g).to(torch.float64),
        "i64": torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4),
        "u8": torch.arange(250, 256, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "u16": torch.tensor([1, 2, 60000], dtype=torch.uint16),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        # Views of `base`, saved as views: one storage, offsets and strides.
        "transposed": base.t(),
        "strided": base[::2, 1::2],
        "column": base[:, 2],
        "rows": base[1:3],
        "expanded": torch.randn(1, 3, generator=g).expand(4, 3),
        "half_transposed": torch.randn(3, 4, generator=g).to(torch.float16).t(),
        # Two names for one tensor, and a view of it: one storage for the three.
        "shared.a": shared,
        "shared.b": shared,
        "shared.tail": shared[2:],
    }
    assert not sd["transposed"].is_contiguous() and not sd["strided"].is_contiguous()
    return sd


class TinyNet(torch.nn.Module):
    """A network with every kind of entry state_dict() has, and some it leaves out."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, bias=False)
        self.norm = torch.nn.BatchNorm2d(4)
        self.blocks = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 1), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 1))
        self.heads = torch.nn.ModuleDict({"emotion": torch.nn.Linear(2, 3), "valence": torch.nn.Linear(2, 1)})
        self.embed = torch.nn.Embedding(5, 2)
        self.tied = torch.nn.Linear(2, 5, bias=False)
        self.tied.weight = self.embed.weight
        self.register_buffer("scale", torch.tensor([0.5, 2.0]))
        self.register_buffer("cache", torch.ones(3), persistent=False)
        self.gate = torch.sigmoid
        self.activation = swish
        self.unused = None
        self.label_names = ["neutral", "happy", "sad"]


def swish(x):
    return x * torch.sigmoid(x)


def tiny_module():
    torch.manual_seed(3)
    model = TinyNet()
    with torch.no_grad():
        model.norm.running_mean.uniform_(-1, 1)
        model.norm.running_var.uniform_(0.5, 2)
    model.norm.num_batches_tracked += 17
    return model.eval()


def import_timm():
    try:
        import timm  # noqa: F401
    except Exception:
        install_torchvision_stub()
    import timm
    return timm


def install_torchvision_stub():
    import importlib.abc
    import importlib.machinery
    import types

    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.") or n.startswith("timm")]:
        del sys.modules[name]

    class Anything(type):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Anything(name, (torch.nn.Module,), {})

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            value = Anything(name, (torch.nn.Module,), {})
            setattr(self, name, value)
            return value

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            if fullname == "torchvision" or fullname.startswith("torchvision."):
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            module = Stub(spec.name)
            module.__path__ = []
            return module

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())


def timm_efficientnet():
    import_timm()
    from timm.models._efficientnet_builder import decode_arch_def
    from timm.models.efficientnet import EfficientNet

    torch.manual_seed(5)
    arch = decode_arch_def([["ds_r1_k3_s1_e1_c4"], ["ir_r1_k3_s2_e2_c8_se0.25"]])
    model = EfficientNet(arch, num_classes=3, stem_size=4, num_features=16)
    model.classifier = torch.nn.Sequential(torch.nn.Linear(16, 3))
    return model.eval()


def export(name, sd):
    """The tensors as safetensors, contiguous clones, with state_dict()'s order as metadata."""
    save_file({k: v.contiguous().clone() for k, v in sd.items()}, str(OUT / f"{name}.safetensors"),
              metadata={"order": ",".join(sd.keys()), "generator": "tools/make_torch_checkpoint_fixtures.py",
                        "torch": torch.__version__})


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/merd-torch-fixture-pwned",))


def legacy_tar(path):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for member, content in [("storages", b"\x80\x02K\x00."), ("tensors", b"\x80\x02K\x00."), ("pickle", b"\x80\x02}q\x00.")]:
            info = tarfile.TarInfo(member)
            info.size = len(content)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    sd = state_dict()
    torch.save(sd, OUT / "state_dict.pt")
    export("state_dict", sd)
    with open(OUT / "state_dict_archive.pt", "wb") as f:
        torch.save(sd, f)
    export("state_dict_archive", sd)

    wrapped = {"epoch": 3, "state_dict": {k: sd[k] for k in ["f32", "f16", "transposed"]}, "best_loss": 0.25}
    torch.save(wrapped, OUT / "wrapped.pth")
    export("wrapped", wrapped["state_dict"])

    module = tiny_module()
    torch.save(module, OUT / "module.pt")
    export("module", module.state_dict())

    efficientnet = timm_efficientnet()
    torch.save(efficientnet, OUT / "timm_efficientnet.pt")
    export("timm_efficientnet", efficientnet.state_dict())

    torch.save({k: sd[k] for k in ["f32", "i64"]}, OUT / "legacy.pt", _use_new_zipfile_serialization=False)
    legacy_tar(OUT / "legacy_tar.pt")
    torch.save({"weight": torch.zeros(2), "payload": Exploit()}, OUT / "os_system.pt")

    (OUT / "hubert-large").mkdir(exist_ok=True)
    torch.save(load_file(str(HUBERT)), OUT / "hubert-large" / "pytorch_model.bin")

    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
