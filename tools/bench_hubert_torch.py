#!/usr/bin/env python3
"""PyTorch reference for `merd bench hubert`: the same HuBERT-large work in transformers.

    tools/.venv/bin/python tools/bench_hubert_torch.py --model DIR [--seconds 1,4,10] [--threads 2] [--repeat 5]
    tools/.venv/bin/python tools/bench_hubert_torch.py --make-random DIR     # HuBERT-large, random weights

With --make-random, writes a HubertModel with the hubert-large-ll60k architecture and random
weights (config.json, model.safetensors, preprocessor_config.json; ~1.26 GB) to DIR, for
benchmarks only: never commit it. Otherwise loads DIR and prints, per length, the median
wall time of a forward pass with all hidden states (torch.inference_mode, the given thread
count) after one warm-up, the real-time factor, and the peak RSS of the process.
"""
import argparse
import resource
import statistics
import sys
import time

# transformers imports torchvision for image helpers whenever it is installed; a torchvision
# built for another torch (PyPI's, beside the +cpu torch) fails at import (`operator
# torchvision::nms does not exist`). Nothing here needs it: a None entry makes importlib report
# it absent.
sys.modules.setdefault("torchvision", None)

import numpy as np
import torch
from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor


def large_config():
    return HubertConfig(
        hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
        feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, feat_proj_layer_norm=True,
        hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0)


def make_random(directory):
    torch.manual_seed(0)
    model = HubertModel(large_config()).eval()
    model.save_pretrained(directory, safe_serialization=True)
    Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=False).save_pretrained(directory)
    print(f"wrote random HuBERT-large ({sum(p.numel() for p in model.parameters())} parameters) to {directory}")


def cpu_ticks():
    """(steal, total) clock ticks of the machine's CPUs from /proc/stat, as `StolenTime` in merd
    reads them (guest time is already in user and nice); None where it cannot be read."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        ticks = [int(v) for v in fields[1:9]]
        return ticks[7], sum(ticks)
    except (OSError, ValueError, IndexError):
        return None


def stolen_summary(before):
    after = cpu_ticks()
    if before is None or after is None or after[1] <= before[1]:
        return ""
    return f"; {100 * (after[0] - before[0]) / (after[1] - before[1]):.1f} % of the CPU time stolen by the hypervisor"


def bench(directory, seconds, threads, repeat):
    torch.set_num_threads(threads)
    model = HubertModel.from_pretrained(directory).eval()
    rng = np.random.default_rng(1)
    print(f"torch {torch.__version__}, {threads} threads, MKL {torch.backends.mkl.is_available()}, "
          f"oneDNN {torch.backends.mkldnn.is_available()}")
    for s in seconds:
        audio = torch.from_numpy(rng.standard_normal(int(16000 * s)).astype(np.float32) * 0.1)[None]
        times = []
        before = cpu_ticks()
        with torch.inference_mode():
            model(audio, output_hidden_states=True)
            for _ in range(repeat):
                start = time.perf_counter()
                model(audio, output_hidden_states=True)
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"pytorch hubert {s:g} s: median {median * 1000:.0f} ms, real-time factor {median / s:.3f}{stolen_summary(before)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch peak RSS: {rss:.0f} MiB")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--make-random")
    parser.add_argument("--seconds", default="1,4,10")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.make_random:
        make_random(args.make_random)
    else:
        bench(args.model, [float(s) for s in args.seconds.split(",")], args.threads, args.repeat)


if __name__ == "__main__":
    main()
