#!/usr/bin/env python3
"""Reference speech probabilities of Silero VAD (v6, 16 kHz) on real speech, for merd's parity test.

    tools/.venv/bin/python tools/make_silero_vad_fixtures.py

merd runs the PyPI package silero-vad 6.2.3's `silero_vad_16k.safetensors` (weights under their
public names). The package's reference code for that file is `silero_vad/tinygrad_model.py`
(TinySileroVAD), run as its docstring runs it: chunks of 512 samples at 16 kHz, each with the
previous chunk's last 64 samples before it, the LSTM state carried over, zeros at the start. That
code is written out here in torch (`from_safetensors`), because tinygrad compiles a kernel per call
(about 4 s a chunk here); the script checks the transcription against TinySileroVAD itself on the
first CHECKED chunks of every input (pip install tinygrad==0.14.0).

The package's TorchScript model (`silero_vad.jit`, what `load_silero_vad()` returns) holds other
weights (only the STFT basis is shared): its probabilities differ by up to about 0.25 on the same
chunks. The script prints that gap for the record; it is not what merd's file is.

Writes Tests/Fixtures/silero-vad/reference.safetensors with, per input NAME,
  NAME.audio          float32 16 kHz mono (ffmpeg -ar 16000 through libswresample, channels
                      averaged, as merd's AudioFileReader.decodeMono16k), zero-padded to whole chunks
  NAME.probabilities  float32 [chunks], the reference's speech probability per chunk
Inputs: `grid` = grid/id2_vcd_swwp2s.mpg (3 s), `emodb` = emodb/wav/03a01Wa.wav (2 s), and
`babble` = emodb 03a01Wa with emodb 11b03Wb (another speaker) mixed in 6 dB below it (2 s), so that
probabilities between 0 and 1 are compared too.
All generated, do not edit; regenerate with the command above (needs ../shared/data beside the
checkout, ffmpeg on PATH, and `pip install --no-deps silero-vad==6.2.3` and `pip install tinygrad==0.14.0`
in the venv).
"""
import pathlib
import subprocess

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file
from safetensors.torch import load_file

import silero_vad
from silero_vad.tinygrad_model import TinySileroVAD
from tinygrad import Tensor
from tinygrad.nn.state import load_state_dict, safe_load

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "silero-vad"
DATA = ROOT.parent / "shared" / "data"
CHUNK, CONTEXT = 512, 64
CHECKED = 24
WEIGHTS = pathlib.Path(silero_vad.__file__).parent / "data" / "silero_vad_16k.safetensors"


def decode_16k_mono(path):
    channels = int(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels",
                                   "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True).stdout)
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ar", "16000",
                          "-f", "f32le", "-acodec", "pcm_f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).mean(axis=1, dtype=np.float64).astype(np.float32)


def padded(audio):
    rest = (-len(audio)) % CHUNK
    return np.concatenate([audio, np.zeros(rest, dtype=np.float32)])


def tinygrad_reference(model, audio, chunks):
    """TinySileroVAD as its docstring streams it."""
    context, state, out = np.zeros((1, CONTEXT), dtype=np.float32), None, []
    for i in range(0, chunks * CHUNK, CHUNK):
        x = np.concatenate([context, audio[None, i:i + CHUNK]], axis=1)
        context = x[:, -CONTEXT:]
        y, state = model(Tensor(x), state)
        out.append(float(y.numpy()[0, 0]))
    return np.array(out, dtype=np.float32)


def published(model, audio):
    model.reset_states()
    with torch.no_grad():
        return np.array([float(model(torch.from_numpy(audio[i:i + CHUNK]).unsqueeze(0), 16000))
                         for i in range(0, len(audio), CHUNK)], dtype=np.float32)


def from_safetensors(weights, audio):
    """The package's tinygrad_model.py recipe, in torch."""
    w = weights
    context = torch.zeros(1, CONTEXT)
    h = c = torch.zeros(1, 128)
    out = []
    x_all = torch.from_numpy(audio).unsqueeze(0)
    for i in range(0, len(audio), CHUNK):
        chunk = x_all[:, i:i + CHUNK]
        x = torch.cat([context, chunk], dim=1)
        context = chunk[:, -CONTEXT:]
        x = F.pad(x, (0, 64), mode="reflect").unsqueeze(1)
        x = F.conv1d(x, w["stft_conv.weight"], stride=128)
        x = (x[:, :129] ** 2 + x[:, 129:] ** 2).sqrt()
        x = F.relu(F.conv1d(x, w["conv1.weight"], w["conv1.bias"], padding=1))
        x = F.relu(F.conv1d(x, w["conv2.weight"], w["conv2.bias"], stride=2, padding=1))
        x = F.relu(F.conv1d(x, w["conv3.weight"], w["conv3.bias"], stride=2, padding=1))
        x = F.relu(F.conv1d(x, w["conv4.weight"], w["conv4.bias"], padding=1)).squeeze(-1)
        gates = x @ w["lstm_cell.weight_ih"].T + w["lstm_cell.bias_ih"] + h @ w["lstm_cell.weight_hh"].T + w["lstm_cell.bias_hh"]
        i_g, f_g, g_g, o_g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f_g) * c + torch.sigmoid(i_g) * torch.tanh(g_g)
        h = torch.sigmoid(o_g) * torch.tanh(c)
        y = torch.sigmoid(F.conv1d(F.relu(h).unsqueeze(-1), w["final_conv.weight"], w["final_conv.bias"]))
        out.append(float(y.mean()))
    return np.array(out, dtype=np.float32)


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    jit = silero_vad.load_silero_vad()
    weights = load_file(str(WEIGHTS))
    tiny = TinySileroVAD()
    load_state_dict(tiny, safe_load(str(WEIGHTS)))
    emodb = decode_16k_mono(DATA / "emodb" / "wav" / "03a01Wa.wav")
    other = decode_16k_mono(DATA / "emodb" / "wav" / "11b03Wb.wav")
    def rms(x): return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    babble = (emodb + other * (rms(emodb) / rms(other) * 10 ** (-6 / 20))).astype(np.float32)
    inputs = {"grid": decode_16k_mono(DATA / "grid" / "id2_vcd_swwp2s.mpg"), "emodb": emodb, "babble": babble}
    tensors = {}
    for name, audio in inputs.items():
        audio = padded(audio)
        reference = from_safetensors(weights, audio)
        checked = tinygrad_reference(tiny, audio, CHECKED)
        gap = float(np.abs(reference[:CHECKED] - checked).max())
        assert gap < 1e-6, f"{name}: the torch transcription is {gap} from TinySileroVAD"
        jit_gap = float(np.abs(reference - published(jit, audio)).max())
        tensors[f"{name}.audio"] = audio
        tensors[f"{name}.probabilities"] = reference
        print(f"{name}: {len(reference)} chunks, probabilities {reference.min():.3f}…{reference.max():.3f}; "
              f"transcription within {gap:.1e} of TinySileroVAD on {CHECKED} chunks; silero_vad.jit differs by up to {jit_gap:.3f}")
    save_file(tensors, str(OUT / "reference.safetensors"),
              metadata={"note": "generated, do not edit; regenerate with tools/.venv/bin/python tools/make_silero_vad_fixtures.py",
                        "model": "silero-vad 6.2.3 silero_vad_16k.safetensors by tinygrad_model.py"})


if __name__ == "__main__":
    main()
