"use strict";
// The staff page. Served from the kiosk itself; no outside scripts, no inline code.
(function () {
  const $ = (id) => document.getElementById(id);
  const WORDS = {
    happy: "Happy", sad: "Sad", angry: "Angry", fear: "Worried", surprise: "Surprised",
    disgust: "Put off", neutral: "Calm / neutral",
  };
  let csrf = "";
  let state = null;
  let msgTimer = null;

  function say(text, bad) {
    const m = $("msg");
    m.textContent = text;
    m.className = "msg " + (bad ? "bad" : "good");
    clearTimeout(msgTimer);
    if (!bad) msgTimer = setTimeout(() => { m.textContent = ""; m.className = "msg"; }, 3000);
  }

  // -- login page ---------------------------------------------------------------------------
  if ($("login-form")) {
    $("login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("login").disabled = true;
      try {
        const r = await fetch("/login", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ password: $("password").value }),
          credentials: "same-origin",
        });
        const data = await r.json().catch(() => ({}));
        if (r.ok && data.ok) { location.reload(); return; }
        say(data.error || ("login failed (" + r.status + ")"), true);
        $("password").value = "";
      } catch (e) {
        say("the kiosk does not answer", true);
      } finally {
        $("login").disabled = false;
      }
    });
    return;
  }

  // -- staff page ---------------------------------------------------------------------------
  async function send(name, body) {
    try {
      const r = await fetch("/api/cmd/" + name, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body || {}),
      });
      if (r.status === 401) { location.reload(); return null; }
      const data = await r.json().catch(() => ({ ok: false, error: "bad answer" }));
      if (data.ok) say("Done", false); else say(data.error || "refused", true);
      return data;
    } catch (e) {
      say("the kiosk does not answer", true);
      return null;
    }
  }

  function bar(parent, key, label, share) {
    const row = document.createElement("div");
    row.className = "drow";
    const name = document.createElement("span");
    name.textContent = label;
    const track = document.createElement("span");
    track.className = "dbar";
    const fill = document.createElement("span");
    fill.style.width = Math.round(share * 100) + "%";
    fill.className = "m-" + key;
    track.appendChild(fill);
    const pct = document.createElement("span");
    pct.textContent = Math.round(share * 100) + "%";
    row.append(name, track, pct);
    parent.appendChild(row);
  }

  function render(s) {
    state = s;
    $("role").textContent = s.role;
    $("operator").hidden = s.role !== "operator";
    // now playing
    $("track-title").textContent = s.track ? (s.track.title || "unknown title") : "Nothing playing";
    $("track-artist").textContent = s.track && s.track.artist ? s.track.artist : "";
    $("playlist").textContent = s.playlist || "silence";
    $("paused-tag").hidden = !s.paused;
    $("override-tag").hidden = !s.override;
    if (s.override) {
      const until = new Date(s.override.expires_at * 1000);
      $("override-tag").textContent = "override until " +
        until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    const sk = s.skips;
    let info = "";
    if (s.role === "operator" || !sk || !sk.limit) info = "Skips are not limited for you.";
    else info = sk.left + " of " + sk.limit + " skips left this hour.";
    $("skip-info").textContent = info;
    $("skip").disabled = !s.track;
    $("block").disabled = !s.track;
    // volume
    const [lo, hi] = s.volume_limits;
    $("volume").min = lo; $("volume").max = hi;
    if (document.activeElement !== $("volume")) $("volume").value = s.volume;
    $("volume-value").textContent = s.volume;
    // mood
    $("mood-word").textContent = s.mood ? (WORDS[s.mood] || s.mood) : "Nobody in view";
    $("mood-sure").textContent = s.mood ? Math.round(s.confidence * 100) + "% sure" : "";
    $("gauge-fill").style.width = Math.round((s.mood ? s.confidence : 0) * 100) + "%";
    $("gauge-fill").className = "m-" + (s.mood || "none");
    $("faces").textContent = s.faces;
    $("camera").textContent = s.camera_ok ? "ok" : "not working";
    const dist = $("dist");
    dist.textContent = "";
    if (s.mood) for (const k of s.moods) bar(dist, k, WORDS[k] || k, s.distribution[k] || 0);
    // "this track belongs in": every other playlist
    const rsel = $("retag-to");
    const ropts = s.playlists.filter((p) => p !== s.playlist);
    if (rsel.options.length !== ropts.length || [...rsel.options].some((o, i) => o.value !== ropts[i])) {
      rsel.textContent = "";
      for (const o of ropts) {
        const opt = document.createElement("option");
        opt.value = o;
        opt.textContent = WORDS[o] || o;
        rsel.appendChild(opt);
      }
    }
    $("retag-box").hidden = !ropts.length;  // one playlist only: nothing to move it to
    $("retag").disabled = !s.track;
    // operator
    const sel = $("ov-mood");
    const options = ["", ...s.moods, ...s.playlists.filter((p) => !s.moods.includes(p))];
    if (sel.options.length !== options.length) {
      sel.textContent = "";
      for (const o of options) {
        const opt = document.createElement("option");
        opt.value = o;
        opt.textContent = o ? (WORDS[o] || o) : "choose…";
        sel.appendChild(opt);
      }
    }
    // import
    const imp = s.import;
    $("import-box").hidden = !imp;
    if (imp) {
      const done = imp.files_done || 0, total = imp.files_total || 0;
      let text = imp.state;
      if (imp.state === "copying" && total) text = "copying " + done + " of " + total + " files";
      if (imp.state === "done") text = "finished";
      if (imp.state === "failed") text = "failed: " + (imp.error || "see the log");
      $("import-text").textContent = text;
      const pct = imp.state === "done" ? 100 : total ? Math.round(done * 100 / total) : 0;
      $("import-fill").style.width = pct + "%";
    }
    // blocks
    const ul = $("blocks");
    ul.textContent = "";
    if (!s.blocks.length) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "Nothing is blocked.";
      ul.appendChild(li);
    }
    for (const b of s.blocks) {
      const kind = ["track", "artist", "pattern"].find((k) => k in b);
      const li = document.createElement("li");
      const t = document.createElement("span");
      t.textContent = kind + ": " + b[kind] + (b.source === "config" ? " (config)" : "");
      li.appendChild(t);
      if (s.role === "operator" && b.source !== "config") {
        const u = document.createElement("button");
        u.className = "small";
        u.textContent = "Unblock";
        u.addEventListener("click", () => send("unblock", { [kind]: b[kind] }).then(refresh));
        li.appendChild(u);
      }
      ul.appendChild(li);
    }
  }

  async function refresh() {
    const r = await fetch("/api/state", { credentials: "same-origin" });
    if (r.status === 401) { location.reload(); return; }
    const s = await r.json();
    csrf = s.csrf;
    render(s);
  }

  async function today() {
    const r = await fetch("/api/today", { credentials: "same-origin" }).catch(() => null);
    if (!r || !r.ok) return;  // no history module on this kiosk: the box stays hidden
    const data = await r.json();
    const pts = (data.points || []).filter((p) => typeof p.t === "number");
    if (!pts.length) return;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 240 40");
    svg.setAttribute("preserveAspectRatio", "none");
    const t0 = pts[0].t, t1 = pts[pts.length - 1].t || t0 + 1;
    pts.forEach((p, i) => {
      const next = pts[i + 1] ? pts[i + 1].t : t1;
      const r = document.createElementNS(ns, "rect");
      const x = ((p.t - t0) / Math.max(1, t1 - t0)) * 240;
      const w = Math.max(0.5, ((next - p.t) / Math.max(1, t1 - t0)) * 240);
      const h = 40 * (p.mood ? Math.max(0.15, p.confidence || 0.5) : 0.1);
      r.setAttribute("x", x); r.setAttribute("width", w);
      r.setAttribute("y", 40 - h); r.setAttribute("height", h);
      r.setAttribute("class", "m-" + (p.mood || "none"));
      svg.appendChild(r);
    });
    $("today-chart").appendChild(svg);
    $("today-box").hidden = false;
  }

  function listen() {
    const es = new EventSource("/api/events");
    es.addEventListener("state", (ev) => { $("live").className = "live on"; render(JSON.parse(ev.data)); });
    es.addEventListener("logout", () => { es.close(); location.reload(); });
    es.onerror = () => {
      $("live").className = "live";
      // A closed stream (logged out, kiosk restarted) is not retried by the browser.
      if (es.readyState === EventSource.CLOSED) setTimeout(() => refresh().then(listen), 3000);
    };
  }

  $("skip").addEventListener("click", () => send("next"));
  $("retag").addEventListener("click", () => {
    const to = $("retag-to").value;
    if (to) send("retag", { track: "current", playlist: to });
  });
  // Staff cannot unblock, so a block takes two taps: the first one asks.
  let blockArmed = null;
  $("block").addEventListener("click", () => {
    if (!blockArmed) {
      $("block").textContent = "Tap again to block";
      blockArmed = setTimeout(() => { blockArmed = null; $("block").textContent = "Block this track"; }, 4000);
      return;
    }
    clearTimeout(blockArmed);
    blockArmed = null;
    $("block").textContent = "Block this track";
    send("block", { track: "current" });
  });
  const setVol = (v) => send("volume", { level: Math.round(v) });
  $("volume").addEventListener("change", (ev) => setVol(Number(ev.target.value)));
  $("vol-down").addEventListener("click", () => state && setVol(Math.max(state.volume_limits[0], state.volume - 5)));
  $("vol-up").addEventListener("click", () => state && setVol(Math.min(state.volume_limits[1], state.volume + 5)));
  $("pause").addEventListener("click", () => send("pause"));
  $("resume").addEventListener("click", () => send("resume"));
  $("ov-go").addEventListener("click", () => {
    const mood = $("ov-mood").value;
    if (!mood) { say("choose a mood or playlist first", true); return; }
    send("override", { mood: mood, minutes: Number($("ov-minutes").value) });
  });
  $("ov-auto").addEventListener("click", () => send("clear_override"));
  $("logout").addEventListener("click", async () => {
    await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
    location.reload();
  });
  refresh().then(listen).then(today);
})();
