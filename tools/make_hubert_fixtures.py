#!/usr/bin/env python3
"""Tiny, randomly initialised HuBERT/wav2vec2 models and their transformers reference outputs.

    tools/.venv/bin/python tools/make_hubert_fixtures.py

For each family merd loads, writes Tests/Fixtures/hubert/<name>/ with
  config.json, model.safetensors   the model in HuggingFace layout (as save_pretrained writes it,
                                   or with the weight-norm names of the published checkpoints)
  preprocessor_config.json         the feature extractor's settings (do_normalize)
  reference.safetensors            `audio` (16 kHz speech from ../shared/data/emodb),
                                   `input_values` (after the feature extractor), `extract_features`
                                   (conv front end output, [T, C]) and `hidden_states.K` for every K,
                                   from HubertModel/Wav2Vec2Model(output_hidden_states=True) in eval mode,
                                   float32; plus the same for a second, odd-length input (`short.*`).
All generated, do not edit; regenerate with the command above (needs ../shared/data beside the checkout).

The configs are small but not trivial: the real 7-layer conv geometry (kernels 10,3,3,3,3,2,2,
strides 5,2,2,2,2,2,2: 50 frames a second), several layers and heads, an intermediate size that
is not a multiple of the hidden size, even and odd positional-conv kernels.
"""
import json
import pathlib
import wave

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "hubert"
SPEECH = ROOT.parent / "shared" / "data" / "emodb" / "wav" / "03a01Fa.wav"

COMMON = dict(
    hidden_size=32, num_hidden_layers=5, num_attention_heads=4, intermediate_size=72,
    conv_dim=(16, 16, 16, 16, 16, 16, 16), conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
    num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5,
    hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0,
)

FAMILIES = {
    # hubert-base style: group norm in conv layer 0, post-layer-norm transformer, no conv bias.
    "base": (HubertModel, HubertConfig(**COMMON, feat_extract_norm="group", do_stable_layer_norm=False,
                                       conv_bias=False, feat_proj_layer_norm=False, num_conv_pos_embeddings=16),
             False, "parametrizations"),
    # hubert-large style: layer norm in every conv layer, pre-layer-norm ("stable") transformer, conv bias.
    "large": (HubertModel, HubertConfig(**COMMON, feat_extract_norm="layer", do_stable_layer_norm=True,
                                        conv_bias=True, feat_proj_layer_norm=True, num_conv_pos_embeddings=16),
              True, "legacy"),
    # wav2vec2 of the large shape, odd positional kernel.
    "wav2vec2": (Wav2Vec2Model, Wav2Vec2Config(**COMMON, feat_extract_norm="layer", do_stable_layer_norm=True,
                                               conv_bias=True, num_conv_pos_embeddings=13),
                 True, "parametrizations"),
}


def speech_16k():
    with wave.open(str(SPEECH)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    # Linear interpolation is enough here: the fixture stores the 16 kHz signal it used.
    n = int(len(pcm) * 16000 / rate)
    t = np.arange(n) * rate / 16000
    return np.interp(t, np.arange(len(pcm)), pcm).astype(np.float32)


def randomise(model, seed):
    """Non-trivial values everywhere, including norms and biases that default to 1/0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name or "weight_g" in name or "original0" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                scale = 0.5 / max(1, p.shape[-1]) ** 0.5 if p.dim() > 1 else 0.1
                p.copy_(scale * torch.randn(p.shape, generator=g) * (3 if p.dim() > 1 else 1))


def legacy_weight_norm_names(tensors):
    """The published HuBERT checkpoints store the positional conv as weight_g / weight_v."""
    renamed = {}
    for name, value in tensors.items():
        name = name.replace("conv.parametrizations.weight.original0", "conv.weight_g")
        name = name.replace("conv.parametrizations.weight.original1", "conv.weight_v")
        renamed[name] = value
    return renamed


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    audio = speech_16k()
    inputs = {"": audio[:16000], "short.": audio[3000:3000 + 12345]}
    for index, (name, (cls, config, normalize, names)) in enumerate(FAMILIES.items()):
        directory = OUT / name
        directory.mkdir(parents=True, exist_ok=True)
        model = cls(config).eval()
        randomise(model, seed=100 + index)
        model.save_pretrained(directory, safe_serialization=True)
        weights = load_file(str(directory / "model.safetensors"))
        if names == "legacy":
            weights = legacy_weight_norm_names(weights)
        else:
            assert any("parametrizations" in k for k in weights), sorted(weights)
        save_file(weights, str(directory / "model.safetensors"), metadata={"format": "pt"})
        extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                             do_normalize=normalize, return_attention_mask=False)
        extractor.save_pretrained(directory)

        reference = {}
        for prefix, signal in inputs.items():
            values = extractor(signal, sampling_rate=16000, return_tensors="pt").input_values
            with torch.inference_mode():
                out = model(values, output_hidden_states=True)
                features = model.feature_extractor(values).transpose(1, 2)
            reference[prefix + "audio"] = torch.from_numpy(signal)
            reference[prefix + "input_values"] = values[0]
            reference[prefix + "extract_features"] = features[0]
            for k, h in enumerate(out.hidden_states):
                reference[f"{prefix}hidden_states.{k}"] = h[0]
        save_file({k: v.contiguous().float() for k, v in reference.items()}, str(directory / "reference.safetensors"),
                  metadata={"generator": "tools/make_hubert_fixtures.py", "note": "generated, do not edit",
                            "torch": torch.__version__, "source": "emodb/wav/03a01Fa.wav"})
        config_json = json.loads((directory / "config.json").read_text())
        print(name, config_json.get("model_type"), "tensors:", len(weights),
              "frames:", reference["hidden_states.0"].shape[0], "layers:", config.num_hidden_layers)


if __name__ == "__main__":
    main()
