#!/usr/bin/env python3
"""The soak's clients and sampler (scripts/soak runs it beside `merd run`).

Connects three subscribers to the events socket — a reader that records every utterance's
latency_ms, a stuck client that never reads, and one that reconnects every 30 s after reading a
few lines — and every minute appends one row to the CSV: minutes since start, the daemon's RSS
(MiB), file descriptors, threads, CPU seconds used in that minute, utterances seen, their median
and worst latency, the reader's events, and the reconnecting client's connections so far. At the
end it writes an SVG plot of RSS, fds, threads and latency against time, and the RSS slope after
the first 10 minutes (MiB per hour, least squares).

    tools/soak.py PID SOCKET MINUTES OUT.csv OUT.svg
"""
import json
import os
import socket
import statistics
import sys
import threading
import time

pid, path, minutes, csv_path, svg_path = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
lock = threading.Lock()
latencies, events, reconnects = [], [0], [0]
stop = threading.Event()


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def reader():
    s = connect()
    buffer = b""
    while not stop.is_set():
        s.settimeout(1)
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            return
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            event = json.loads(line)
            with lock:
                events[0] += 1
                if event.get("type") == "utterance" and event.get("latency_ms") is not None:
                    latencies.append(event["latency_ms"])


def reconnecting():
    while not stop.is_set():
        s = connect()
        s.settimeout(5)
        try:
            s.recv(4096)
        except socket.timeout:
            pass
        s.close()
        with lock:
            reconnects[0] += 1
        stop.wait(30)


def proc(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def cpu_seconds():
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


stuck = connect()  # never read
threading.Thread(target=reader, daemon=True).start()
threading.Thread(target=reconnecting, daemon=True).start()
rows = []
start, last_cpu = time.time(), cpu_seconds()
with open(csv_path, "w") as out:
    out.write("minute,rss_mib,fds,threads,cpu_s,utterances,latency_median_ms,latency_max_ms,events,connections\n")
    for minute in range(1, int(minutes) + 1):
        time.sleep(max(0, start + 60 * minute - time.time()))
        if not os.path.exists(f"/proc/{pid}"):
            print(f"soak: merd (pid {pid}) is gone at minute {minute}", file=sys.stderr)
            sys.exit(1)
        with lock:
            window, latencies[:] = list(latencies), []
            seen, connections = events[0], reconnects[0]
        cpu = cpu_seconds()
        row = (minute, proc("VmRSS:") / 1024, len(os.listdir(f"/proc/{pid}/fd")), proc("Threads:"), cpu - last_cpu, len(window),
               statistics.median(window) if window else "", max(window) if window else "", seen, connections)
        last_cpu = cpu
        rows.append(row)
        out.write(",".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row) + "\n")
        out.flush()
stop.set()

# RSS slope after warm-up (the first 10 minutes), MiB per hour.
tail = [(r[0], r[1]) for r in rows if r[0] > 10]
slope = None
if len(tail) >= 2:
    mx = sum(m for m, _ in tail) / len(tail)
    my = sum(r for _, r in tail) / len(tail)
    slope = 60 * sum((m - mx) * (r - my) for m, r in tail) / sum((m - mx) ** 2 for m, _ in tail)


def polyline(values, colour, top):
    points = [(60 + 640 * (i / max(1, len(values) - 1)), 300 - 240 * (v / top if top else 0)) for i, v in enumerate(values)]
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>'


series = [("RSS MiB", [r[1] for r in rows], "#1f77b4"), ("fds", [r[2] for r in rows], "#2ca02c"),
          ("threads", [r[3] for r in rows], "#9467bd"), ("median latency ms", [r[6] or 0 for r in rows], "#d62728")]
svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="760" height="360" font-family="sans-serif" font-size="11">',
       f'<text x="60" y="20">merd soak: {len(rows)} minutes; each series scaled to its own maximum'
       f'{"" if slope is None else f"; RSS slope after 10 min {slope:+.2f} MiB/h"}</text>',
       '<line x1="60" y1="300" x2="700" y2="300" stroke="#888"/><line x1="60" y1="60" x2="60" y2="300" stroke="#888"/>']
for i, (name, values, colour) in enumerate(series):
    top = max(values) if values else 1
    svg.append(polyline(values, colour, top))
    svg.append(f'<text x="{70 + 170 * i}" y="340" fill="{colour}">{name} (max {top:.0f})</text>')
svg.append("</svg>")
open(svg_path, "w").write("\n".join(svg))
print(f"soak: {len(rows)} minutes; RSS {rows[0][1]:.0f} → {rows[-1][1]:.0f} MiB"
      f"{'' if slope is None else f', slope after warm-up {slope:+.2f} MiB/h'}; fds {rows[0][2]} → {rows[-1][2]}; threads {rows[0][3]} → {rows[-1][3]}")
