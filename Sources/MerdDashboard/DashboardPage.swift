/// The dashboard's one page, its style and its script, served by merd itself: no build step,
/// no CDN, nothing fetched from elsewhere (the page's Content-Security-Policy says so).
///
/// The script keeps the events it has seen (the last ten minutes), draws the timeline on a
/// canvas as each arrives — emotion bands for utterances and face estimates, the valence line,
/// utterance spans — the latest face box, each source's status and a few metrics. `Live`
/// follows the stream (Server-Sent Events from `/events`, resumed by the browser after a
/// reconnect through `Last-Event-ID`, which the server turns into `since`); a time range
/// draws the history instead (`/history`). `window.merdDraws` records, for each event drawn,
/// when it was emitted and when it was drawn.
enum DashboardPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>merd</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="dashboard.css">
    </head>
    <body>
    <header>
      <h1>merd</h1>
      <span id="who">connecting…</span>
      <span id="connection" class="chip">connecting</span>
      <span id="sources"></span>
    </header>
    <main>
      <section class="timeline">
        <div class="controls">
          <button id="live" class="active" type="button">Live</button>
          <label>from <input id="from" type="datetime-local" step="1"></label>
          <label>until <input id="until" type="datetime-local" step="1"></label>
          <button id="show" type="button">Show range</button>
          <span id="note"></span>
        </div>
        <canvas id="timeline" width="1200" height="380" aria-label="timeline: emotion, valence and utterances"></canvas>
        <div id="legend"></div>
      </section>
      <aside>
        <h2>Face</h2>
        <canvas id="face" width="240" height="180" aria-label="the latest face box"></canvas>
        <p id="face-text">no face yet</p>
        <h2>Latest utterances</h2>
        <ol id="utterances"></ol>
        <h2>Metrics</h2>
        <table id="metrics"><tbody></tbody></table>
      </aside>
    </main>
    <script src="dashboard.js"></script>
    </body>
    </html>
    """#

    static let css = #"""
    :root { color-scheme: light; font-family: "DejaVu Sans", system-ui, sans-serif; font-size: 14px; }
    body { margin: 0; background: #f6f7f9; color: #1c2024; }
    header { display: flex; gap: 12px; align-items: center; padding: 10px 16px; background: #1c2024; color: #fff; flex-wrap: wrap; }
    header h1 { font-size: 18px; margin: 0 8px 0 0; }
    .chip { border-radius: 10px; padding: 2px 9px; background: #60646c; font-size: 12px; }
    #sources { display: flex; gap: 6px; }
    .chip.running, .chip.connected { background: #30a46c; }
    .chip.lost, .chip.reconnecting, .chip.unreachable { background: #e5484d; }
    .chip.stopped { background: #8b8d98; }
    main { display: grid; grid-template-columns: 1fr 280px; gap: 16px; padding: 16px; }
    section, aside { background: #fff; border-radius: 8px; padding: 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
    .controls { display: flex; gap: 10px; align-items: center; margin-bottom: 8px; flex-wrap: wrap; }
    button { border: 1px solid #c1c8cd; background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
    button.active { background: #1c2024; color: #fff; }
    canvas#timeline { width: 100%; height: 380px; display: block; }
    #legend { display: flex; gap: 12px; margin-top: 6px; flex-wrap: wrap; font-size: 12px; }
    #legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px; vertical-align: -2px; }
    aside h2 { font-size: 14px; margin: 12px 0 6px; }
    aside h2:first-child { margin-top: 0; }
    canvas#face { background: #eceef0; border-radius: 4px; }
    #utterances { padding-left: 18px; margin: 0; font-size: 12px; }
    #metrics { font-size: 12px; border-collapse: collapse; width: 100%; }
    #metrics td { padding: 2px 4px; border-bottom: 1px solid #eceef0; }
    #metrics td:last-child { text-align: right; font-variant-numeric: tabular-nums; }
    #note { color: #60646c; font-size: 12px; }
    """#

    static let script = #"""
    "use strict";
    (() => {
      const COLORS = { neutral: "#8b8d98", angry: "#e5484d", happy: "#f5a524", sad: "#3e63dd", worried: "#8e4ec6",
                       surprise: "#12a594", fear: "#8e4ec6", disgust: "#6e8d3a", contempt: "#a05a2c" };
      const KEEP_SECONDS = 600;
      const state = { events: [], status: {}, hello: null, connected: false, live: true, windowSeconds: 60, range: null,
                      frame: { w: 640, h: 480 }, draws: [], lastFace: null };
      window.merdDraws = state.draws;
      const $ = (id) => document.getElementById(id);
      const timeline = $("timeline"), faceCanvas = $("face");

      function wall(e) { return Date.parse(e.time) / 1000; }
      // An utterance's span on the wall clock: it ended latency_ms before its event left.
      function span(e) { const end = wall(e) - (e.latency_ms || 0) / 1000; return [end - (e.end - e.start), end]; }
      function color(label) { return COLORS[label] || "#60646c"; }
      function clock(seconds) { return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false }); }

      // ---- the stream ----
      function connect() {
        const source = new EventSource("events");
        source.onopen = () => setChip($("connection"), "connected", "connecting to the daemon");
        source.onerror = () => setChip($("connection"), "reconnecting", "reconnecting");
        source.onmessage = (message) => {
          let event;
          try { event = JSON.parse(message.data); } catch (_) { return; }
          receive(event);
        };
      }

      function receive(e) {
        switch (e.type) {
          case "hello":
            state.hello = e;
            state.connected = true;
            setChip($("connection"), "connected", "live");
            refreshMetrics();
            $("who").textContent = `merd ${e.version}` + (e.run ? ` · run ${e.run.slice(0, 8)}` : "");
            break;
          case "status":
            state.status[e.source] = e;
            const size = /(\d+)x(\d+)/.exec(e.detail || "");
            if (e.source === "video" && size) state.frame = { w: +size[1], h: +size[2] };
            showSources();
            add(e);
            break;
          case "utterance":
            add(e);
            showUtterance(e);
            break;
          case "face":
            state.lastFace = e;
            add(e);
            break;
          case "daemon":
            state.connected = false;
            setChip($("connection"), "unreachable", "daemon unreachable");
            break;
          case "dropped":
            $("note").textContent = `${e.count} events dropped`;
            break;
        }
      }

      function add(e) {
        state.events.push(e);
        const oldest = Date.now() / 1000 - KEEP_SECONDS;
        while (state.events.length && wall(state.events[0]) < oldest) state.events.shift();
        if (!state.live) return;
        draw();
        const drawn = Date.now();
        state.draws.push({ seq: e.seq, type: e.type, emitted: Date.parse(e.time), drawn: drawn });
      }

      // ---- drawing ----
      function draw() {
        const ratio = window.devicePixelRatio || 1;
        const width = timeline.clientWidth || 1200, height = 380;
        if (timeline.width !== Math.round(width * ratio)) { timeline.width = Math.round(width * ratio); timeline.height = Math.round(height * ratio); }
        const g = timeline.getContext("2d");
        g.setTransform(ratio, 0, 0, ratio, 0, 0);
        g.clearRect(0, 0, width, height);
        const [t0, t1] = state.range || [Date.now() / 1000 - state.windowSeconds, Date.now() / 1000];
        const left = 70, right = width - 10;
        const x = (t) => left + (t - t0) / (t1 - t0) * (right - left);
        const events = state.range ? state.rangeEvents : state.events;

        // Axis: a tick every tenth of the window.
        g.fillStyle = "#60646c"; g.font = "11px DejaVu Sans, sans-serif"; g.textAlign = "center";
        const step = niceStep((t1 - t0) / 8);
        for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
          g.fillText(clock(t), x(t), 12);
          g.strokeStyle = "#eceef0"; g.beginPath(); g.moveTo(x(t), 18); g.lineTo(x(t), height - 10); g.stroke();
        }
        g.textAlign = "right";
        g.fillText("speech", left - 8, 52); g.fillText("face", left - 8, 102); g.fillText("valence", left - 8, 200);

        // Emotion bands: utterances (their spans) and face estimates (their windows).
        for (const e of events) {
          if (e.type === "utterance") {
            const [a, b] = span(e);
            if (b < t0 || a > t1) continue;
            const label = e.emotion ? e.emotion.label : null;
            g.globalAlpha = 0.35 + 0.65 * (e.confidence == null ? 0.5 : e.confidence);
            g.fillStyle = label ? color(label) : "#c1c8cd";
            g.fillRect(x(a), 30, Math.max(2, x(b) - x(a)), 36);
            g.globalAlpha = 1;
            if (label && x(b) - x(a) > 40) { g.fillStyle = "#fff"; g.textAlign = "left"; g.fillText(label, x(a) + 4, 52); }
            // The span itself, under the valence plot.
            g.strokeStyle = "#1c2024"; g.beginPath(); g.moveTo(x(a), height - 16); g.lineTo(x(b), height - 16); g.stroke();
            g.beginPath(); g.moveTo(x(a), height - 20); g.lineTo(x(a), height - 12); g.moveTo(x(b), height - 20); g.lineTo(x(b), height - 12); g.stroke();
          } else if (e.type === "face" && e.emotion) {
            const b = wall(e), a = b - (e.window || 1);
            if (b < t0 || a > t1) continue;
            g.fillStyle = color(e.emotion.label);
            g.fillRect(x(a), 84, Math.max(2, x(b) - x(a) - 1), 28);
          }
        }

        // Valence: −5 … 5, utterances solid, faces dashed.
        const top = 130, bottom = height - 30;
        const y = (v) => bottom - (v + 5) / 10 * (bottom - top);
        g.strokeStyle = "#c1c8cd"; g.setLineDash([]);
        for (const v of [-5, 0, 5]) {
          g.beginPath(); g.moveTo(left, y(v)); g.lineTo(right, y(v)); g.stroke();
          g.fillStyle = "#60646c"; g.textAlign = "right"; g.fillText(String(v), left - 8, y(v) + 4);
        }
        line(g, events.filter((e) => e.type === "utterance" && e.valence != null).map((e) => [x(span(e)[1]), y(e.valence)]), "#1c2024", []);
        line(g, events.filter((e) => e.type === "face" && e.valence != null).map((e) => [x(wall(e)), y(e.valence)]), "#3e63dd", [4, 3]);
        drawFace();
      }

      function line(g, points, stroke, dash) {
        if (!points.length) return;
        g.strokeStyle = stroke; g.lineWidth = 2; g.setLineDash(dash);
        g.beginPath();
        points.forEach(([px, py], i) => (i ? g.lineTo(px, py) : g.moveTo(px, py)));
        g.stroke();
        for (const [px, py] of points) { g.fillStyle = stroke; g.beginPath(); g.arc(px, py, 3, 0, 2 * Math.PI); g.fill(); }
        g.lineWidth = 1; g.setLineDash([]);
      }

      function niceStep(seconds) {
        for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400]) if (s >= seconds) return s;
        return 86400;
      }

      function drawFace() {
        const g = faceCanvas.getContext("2d");
        g.clearRect(0, 0, faceCanvas.width, faceCanvas.height);
        const e = state.lastFace;
        if (!e || !e.box) return;
        const sx = faceCanvas.width / state.frame.w, sy = faceCanvas.height / state.frame.h;
        // Every tracked face when the daemon sends them, else the one box.
        const faces = Array.isArray(e.faces) ? e.faces : [{ id: null, box: e.box, emotion: e.emotion }];
        for (const face of faces) {
          const [bx, by, bw, bh] = face.box;
          g.strokeStyle = face.emotion ? color(face.emotion.label) : "#1c2024"; g.lineWidth = 2;
          g.strokeRect(bx * sx, by * sy, bw * sx, bh * sy);
          g.fillStyle = g.strokeStyle; g.font = "11px DejaVu Sans, sans-serif"; g.textAlign = "left";
          const text = (face.id != null ? `#${face.id} ` : "") + (face.emotion ? face.emotion.label : "");
          g.fillText(text, bx * sx, Math.max(10, by * sy - 4));
        }
        const count = Array.isArray(e.faces) ? e.faces.length : e.faces;
        $("face-text").textContent = `${count} ${count === 1 ? "face" : "faces"} at ${clock(wall(e))}` +
          (e.emotion ? `: ${e.emotion.label} ${Math.round((e.emotion.probs[e.emotion.label] || 0) * 100)} %` : "");
      }

      // ---- panels ----
      function setChip(element, cls, text) { element.className = "chip " + cls; element.textContent = text; }

      function showSources() {
        const box = $("sources");
        box.textContent = "";
        for (const name of Object.keys(state.status).sort()) {
          const s = state.status[name];
          const chip = document.createElement("span");
          setChip(chip, s.state, `${name}: ${s.state}`);
          chip.title = s.detail || "";
          box.appendChild(chip);
        }
      }

      function showUtterance(e) {
        const item = document.createElement("li");
        const label = e.emotion ? `${e.emotion.label} ${Math.round((e.emotion.probs[e.emotion.label] || 0) * 100)} %` : "no emotion";
        const valence = e.valence == null ? "" : `, valence ${e.valence > 0 ? "+" : ""}${e.valence.toFixed(1)}`;
        // Who spoke (with a face stage): the track's id as face events list it, or a voice
        // no visible face made; nothing when it could not be told.
        const speaker = e.speaker ? `, face ${e.speaker.track} spoke` : e.speaker_visible === false ? ", unseen speaker" : "";
        item.textContent = `${clock(wall(e))} ${(e.end - e.start).toFixed(1)} s: ${label}${valence}${speaker} (${e.latency_ms} ms)`;
        const list = $("utterances");
        list.insertBefore(item, list.firstChild);
        while (list.children.length > 8) list.removeChild(list.lastChild);
      }

      async function refreshMetrics() {
        // Asked only while the daemon answers: the page's console stays clean while it is away.
        if (!state.connected) return;
        let text;
        try {
          const response = await fetch("metrics");
          if (!response.ok) throw new Error(String(response.status));
          text = await response.text();
        } catch (_) {
          $("metrics").tBodies[0].innerHTML = "<tr><td>metrics unavailable</td></tr>";
          return;
        }
        const value = (name) => {
          const match = text.split("\n").find((l) => l.startsWith(name + " "));
          return match ? Number(match.slice(name.length + 1)) : null;
        };
        const count = value("merd_utterance_latency_seconds_count"), sum = value("merd_utterance_latency_seconds_sum");
        const rows = [
          ["utterances", value('merd_events_total{type="utterance"}')],
          ["face events", value('merd_events_total{type="face"}')],
          ["mean latency", count ? `${Math.round(sum / count * 1000)} ms` : "–"],
          ["frames analysed", value("merd_video_frames_analysed_total")],
          ["subscribers", value("merd_subscribers")],
          ["dropped for slow readers", value("merd_subscriber_dropped_events_total")],
        ];
        const body = $("metrics").tBodies[0];
        body.textContent = "";
        for (const [name, v] of rows) {
          const row = body.insertRow();
          row.insertCell().textContent = name;
          row.insertCell().textContent = v == null ? "–" : String(v);
        }
      }

      // ---- live or a range from the history ----
      async function showRange() {
        const from = $("from").value, until = $("until").value;
        if (!from || !until) { $("note").textContent = "choose both ends of the range"; return; }
        const a = new Date(from).getTime() / 1000, b = new Date(until).getTime() / 1000;
        if (!(b > a)) { $("note").textContent = "the range must end after it starts"; return; }
        let events;
        try {
          const response = await fetch(`history?from=${encodeURIComponent(new Date(a * 1000).toISOString())}&until=${encodeURIComponent(new Date(b * 1000).toISOString())}`);
          if (!response.ok) throw new Error(await response.text());
          events = await response.json();
        } catch (error) {
          $("note").textContent = `history unavailable: ${error.message}`;
          return;
        }
        state.live = false; state.range = [a, b]; state.rangeEvents = events;
        // The panels as they stood at the end of the range.
        const faces = events.filter((e) => e.type === "face");
        if (faces.length) state.lastFace = faces[faces.length - 1];
        state.status = {};
        for (const e of events) if (e.type === "status") state.status[e.source] = e;
        showSources();
        $("utterances").textContent = "";
        for (const e of events) if (e.type === "utterance") showUtterance(e);
        $("live").classList.remove("active");
        $("note").textContent = `${events.length} stored events`;
        draw();
      }

      function goLive() {
        state.live = true; state.range = null;
        $("live").classList.add("active");
        $("note").textContent = "";
        draw();
      }

      function legend() {
        const box = $("legend");
        for (const label of ["neutral", "angry", "happy", "sad", "worried", "surprise"]) {
          const item = document.createElement("span");
          const swatch = document.createElement("i");
          swatch.style.background = color(label);
          item.append(swatch, label);
          box.appendChild(item);
        }
        const note = document.createElement("span");
        note.textContent = "valence: speech — solid, face — dashed; bars under the plot: utterances";
        box.appendChild(note);
      }

      // A range in the address (…/?from=…&until=…) is shown at once.
      const query = new URLSearchParams(location.search);
      const local = (seconds) => { const d = new Date(seconds * 1000 - new Date().getTimezoneOffset() * 60000); return d.toISOString().slice(0, 19); };
      $("from").value = local(Date.now() / 1000 - 3600);
      $("until").value = local(Date.now() / 1000);
      if (query.get("from") && query.get("until")) {
        $("from").value = local(Date.parse(query.get("from")) / 1000);
        $("until").value = local(Date.parse(query.get("until")) / 1000);
      }
      $("live").addEventListener("click", goLive);
      $("show").addEventListener("click", showRange);
      legend();
      connect();
      if (query.get("from") && query.get("until")) showRange();
      refreshMetrics();
      setInterval(refreshMetrics, 5000);
      setInterval(() => { if (state.live) draw(); }, 1000);
      draw();
    })();
    """#
}
