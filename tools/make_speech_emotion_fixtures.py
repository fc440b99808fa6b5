#!/usr/bin/env python3
"""A tiny, randomly initialised speech emotion model of audEERING's family and its reference outputs.

    tools/.venv/bin/python tools/make_speech_emotion_fixtures.py

The model is `audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim` in miniature: a Wav2Vec2Model of
the large-robust shape (layer norm after every conv layer, pre-layer-norm "stable" transformer, conv
bias) whose last hidden state is mean-pooled over time and fed to the model card's RegressionHead
(dense -> tanh -> dropout -> out_proj), outputs in the card's order arousal, dominance, valence.

Writes Tests/Fixtures/speech-emotion/tiny/ with
  config.json                 Wav2Vec2Config with the published checkpoint's extra keys (id2label,
                              pooling_mode, problem_type, architectures)
  preprocessor_config.json    the published one's settings (do_normalize: zero mean, unit variance)
  model.safetensors           EmotionModel's state dict under the published names: `wav2vec2.` for the
                              encoder (positional conv as weight_g / weight_v, as the published file
                              has them), `classifier.dense.*`, `classifier.out_proj.*`
  reference.safetensors       per input: `audio` (16 kHz mono, decoded by ffmpeg as below),
                              `last_hidden_state` [T, D], `pooled` [D] and `logits` [3] from the card's
                              EmotionModel in eval mode after Wav2Vec2FeatureExtractor; `input_values`
                              for the first input. Inputs: `` = emodb/wav/03a01Wa.wav (anger, 2 s,
                              22.05 kHz mono) and `grid.` = grid/id2_vcd_swwp2s.mpg (3 s, 44.1 kHz stereo
                              MP2, the channels averaged).
All generated, do not edit; regenerate with the command above (needs ../shared/data beside the
checkout and ffmpeg on PATH). Audio is decoded with `ffmpeg -ar 16000` and its channels averaged (libswresample,
as merd's AudioFileReader.decodeMono16k; a test checks the two agree); the parity test feeds the stored
samples, so it does not depend on the decoder.
"""
import json
import pathlib
import subprocess
import sys

# transformers imports torchvision for image helpers whenever it is installed; a torchvision
# built for another torch fails at import (`operator torchvision::nms does not exist`). Nothing
# here needs it: a None entry makes importlib report it absent.
sys.modules.setdefault("torchvision", None)

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor
from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2Model, Wav2Vec2PreTrainedModel

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "speech-emotion" / "tiny"
DATA = ROOT.parent / "shared" / "data"
INPUTS = {"": DATA / "emodb" / "wav" / "03a01Wa.wav", "grid.": DATA / "grid" / "id2_vcd_swwp2s.mpg"}

LABELS = ["arousal", "dominance", "valence"]
NOTE = "generated, do not edit; regenerate with tools/.venv/bin/python tools/make_speech_emotion_fixtures.py"

CONFIG = Wav2Vec2Config(
    hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=72,
    conv_dim=(16, 16, 16, 16, 16, 16, 16), conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
    conv_bias=True, feat_extract_norm="layer", do_stable_layer_norm=True,
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5,
    hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0,
    final_dropout=0.1, mask_time_prob=0.05,
    id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
    architectures=["Wav2Vec2ForSpeechClassification"], problem_type="regression", pooling_mode="mean",
    use_weighted_layer_sum=False,
)


class RegressionHead(nn.Module):
    """The model card's head: dense -> tanh -> dropout -> out_proj (dropout also first)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.final_dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features):
        x = self.dropout(features)
        x = torch.tanh(self.dense(x))
        x = self.dropout(x)
        return self.out_proj(x)


class EmotionModel(Wav2Vec2PreTrainedModel):
    """The model card's EmotionModel: mean over time of wav2vec2's last hidden state, then the head."""

    def __init__(self, config):
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self.classifier = RegressionHead(config)
        self.post_init()

    def forward(self, input_values):
        hidden_states = self.wav2vec2(input_values)[0]
        pooled = torch.mean(hidden_states, dim=1)
        return pooled, self.classifier(pooled)


def decode_16k_mono(path):
    """float32 samples at 16 kHz through ffmpeg's libswresample, the channels averaged here as merd's
    Resampler averages them (ffmpeg's own `-ac 1` downmix weighs them otherwise)."""
    channels = int(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels",
                                   "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True).stdout)
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ar", "16000",
                          "-f", "f32le", "-acodec", "pcm_f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).mean(axis=1, dtype=np.float64).astype(np.float32)


def randomise(model, seed):
    """Non-trivial values everywhere, including norms and biases that default to 1/0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name or "original0" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                scale = 0.5 / max(1, p.shape[-1]) ** 0.5 if p.dim() > 1 else 0.1
                p.copy_(scale * torch.randn(p.shape, generator=g) * (3 if p.dim() > 1 else 1))
        # Outputs in the published model's range (about 0…1) rather than anywhere.
        model.classifier.out_proj.weight.mul_(0.3)
        model.classifier.out_proj.bias.copy_(torch.tensor([0.55, 0.6, 0.4]))


def published_names(state):
    """The published model.safetensors (converted from the 2022 pytorch_model.bin) stores the
    positional conv's weight norm as weight_g / weight_v."""
    renamed = {}
    for name, value in state.items():
        name = name.replace("conv.parametrizations.weight.original0", "conv.weight_g")
        name = name.replace("conv.parametrizations.weight.original1", "conv.weight_v")
        renamed[name] = value.detach().contiguous().clone()
    return renamed


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    model = EmotionModel(CONFIG).eval()
    randomise(model, seed=7)
    weights = published_names(model.state_dict())
    assert "wav2vec2.encoder.pos_conv_embed.conv.weight_g" in weights and "wav2vec2.masked_spec_embed" in weights
    assert {k for k in weights if not k.startswith("wav2vec2.")} == {
        "classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"}
    save_file(weights, str(OUT / "model.safetensors"), metadata={"format": "pt", "note": NOTE})
    CONFIG.save_pretrained(OUT)
    # As published: Wav2Vec2FeatureExtractor, do_normalize, 16 kHz, attention mask (unused for one input).
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                         do_normalize=True, return_attention_mask=True)
    extractor.save_pretrained(OUT)

    reference = {}
    for prefix, path in INPUTS.items():
        signal = decode_16k_mono(path)
        # As the card's process_func: the processor normalises, its first (only) row is the input.
        values = torch.from_numpy(extractor(signal, sampling_rate=16000)["input_values"][0].reshape(1, -1))
        with torch.inference_mode():
            pooled, logits = model(values)
            last = model.wav2vec2(values).last_hidden_state
        reference[prefix + "audio"] = torch.from_numpy(signal)
        if prefix == "":
            reference["input_values"] = values[0]
        reference[prefix + "last_hidden_state"] = last[0]
        reference[prefix + "pooled"] = pooled[0]
        reference[prefix + "logits"] = logits[0]
        print(f"{path.name}: {len(signal)} samples, {last.shape[1]} frames, "
              + ", ".join(f"{label} {value:.4f}" for label, value in zip(LABELS, logits[0].tolist())))
    save_file({k: v.contiguous().float() for k, v in reference.items()}, str(OUT / "reference.safetensors"),
              metadata={"generator": "tools/make_speech_emotion_fixtures.py", "note": NOTE,
                        "torch": torch.__version__, "sources": ", ".join(str(p.relative_to(DATA)) for p in INPUTS.values())})
    config = json.loads((OUT / "config.json").read_text())
    print("config:", config["model_type"], config["id2label"], "tensors:", len(weights),
          "bytes:", sum(f.stat().st_size for f in OUT.iterdir()))


if __name__ == "__main__":
    main()
