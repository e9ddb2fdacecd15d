// Overlay web UI: chat (streaming), runs (reasoning graph, ledger, drafts, candidates), vault, frames.
// Plain JavaScript, no build step; Cytoscape.js is vendored under vendor/.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
};

// -- API with the optional bearer token -----------------------------------------------------------
function headers(extra = {}) {
  const token = localStorage.getItem("overlay-token");
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (response.status === 401) {
    const token = window.prompt("This Overlay server needs its API token:");
    if (token) {
      localStorage.setItem("overlay-token", token);
      return api(path, options);
    }
  }
  if (!response.ok) {
    const text = await response.text();
    throw new Error(`${response.status}: ${text.slice(0, 300)}`);
  }
  return response.json();
}

function status(text) { $("status").textContent = text; }

// -- pages ----------------------------------------------------------------------------------------
function route() {
  const [, page = "chat", arg] = location.hash.split("/");
  for (const section of document.querySelectorAll(".page")) {
    section.classList.toggle("active", section.id === `page-${page}`);
  }
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.page === page);
  }
  const load = { chat: loadChat, runs: () => loadRuns(arg), vault: () => {}, frames: loadFrames }[page];
  if (load) load().catch((err) => status(err.message));
}

// -- chat -----------------------------------------------------------------------------------------
let session = localStorage.getItem("overlay-session") || newSessionName();

function newSessionName() {
  const name = `web-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-")}`;
  localStorage.setItem("overlay-session", name);
  return name;
}

async function loadChat() {
  $("session-name").textContent = session;
  const models = await api("/v1/models");
  const select = $("model");
  if (!select.options.length) {
    for (const m of models.data) select.append(el("option", { value: m.id }, m.id));
    select.value = models.data.some((m) => m.id === "overlay/direct") ? "overlay/direct" : models.data[0].id;
  }
  await refreshSessions();
  await showSession();
}

let knownSessions = new Set();

async function refreshSessions() {
  const sessions = await api("/api/sessions");
  knownSessions = new Set(sessions.map((s) => s.name));
  $("sessions").replaceChildren(
    ...sessions.map((s) =>
      el("li", { class: s.name === session ? "active" : "", onclick: () => openSession(s.name) },
        `${s.name} (${s.messages})`))
  );
}

async function openSession(name) {
  session = name;
  localStorage.setItem("overlay-session", name);
  await loadChat();
}

async function showSession() {
  const box = $("messages");
  box.replaceChildren();
  if (!knownSessions.has(session)) return;  // a new session has no messages yet
  const data = await api(`/api/sessions/${encodeURIComponent(session)}`);
  for (const m of data.messages) addMessage(m.role, m.content, m.run_id);
}

function addMessage(role, text, runId) {
  const node = el("div", { class: `msg ${role}` }, text);
  if (runId) node.append(runLink(runId));
  $("messages").append(node);
  node.scrollIntoView({ block: "end" });
  return node;
}

function runLink(runId) {
  return el("span", { class: "meta" }, el("a", { href: `#/runs/${runId}` }, "open the run graph"));
}

async function send(event) {
  event.preventDefault();
  const text = $("prompt").value.trim();
  if (!text) return;
  $("prompt").value = "";
  $("send").disabled = true;
  addMessage("user", text);
  const answer = addMessage("assistant", "");
  answer.classList.add("streaming");
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({
        model: $("model").value, stream: true, user: session,
        messages: [{ role: "user", content: text }],
      }),
    });
    if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
    await readSSE(response, (data) => {
      if (data === "[DONE]") return;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) answer.firstChild ? (answer.firstChild.textContent += delta) : answer.append(delta);
      if (chunk.overlay?.run_id) answer.append(runLink(chunk.overlay.run_id));
    });
    status("");
  } catch (err) {
    answer.append(el("span", { class: "meta" }, `error: ${err.message}`));
  } finally {
    answer.classList.remove("streaming");
    answer.classList.add("done");
    $("send").disabled = false;
    refreshSessions().catch(() => {});
  }
}

async function readSSE(response, onData) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (data) onData(data);
    }
  }
}

// -- runs -----------------------------------------------------------------------------------------
let graph = null;

async function loadRuns(runId) {
  const runs = await api("/api/runs?limit=100");
  $("runs").replaceChildren(
    ...runs.map((r) =>
      el("li", { class: r.run_id === runId ? "active" : "", title: r.input,
                 onclick: () => { location.hash = `#/runs/${r.run_id}`; } },
        `${r.frame} · ${r.status} · ${r.input.slice(0, 40)}`))
  );
  if (runId) await openRun(runId);
}

const COLORS = { run: "#1d232a", phase: "#3559c7", llm_call: "#2f9e6e", tool_call: "#c77d35", decision: "#9b35c7" };

async function openRun(runId) {
  // Both fetched before anything is drawn, so the page never shows a graph beside an empty
  // timeline (and a test that sees the graph sees the timeline too).
  const [run, records] = await Promise.all([api(`/api/runs/${runId}`), api(`/api/ledger/${runId}`)]);
  $("run-title").textContent = `${run.frame} — ${run.run_id}`;
  $("run-summary").textContent =
    `${run.status}${run.reason ? ` (${run.reason})` : ""} · ${run.trace?.llm_calls ?? 0} LLM calls · ${run.trace?.tokens ?? 0} tokens`;
  drawTimeline(records);
  drawGraph(run.trace);
  drawDecisions(records);
  drawDeltas(records);
}

function drawGraph(trace) {
  const elements = [];
  let counter = 0;
  const walk = (node, parent, previous) => {
    const id = `n${counter++}`;
    const secs = node.duration_s != null ? ` ${node.duration_s.toFixed(2)}s` : "";
    const tokens = node.tokens ? ` ${node.tokens} tok` : "";
    elements.push({ data: { id, label: `${node.name}${secs}${tokens}`, kind: node.kind, detail: node } });
    if (parent) elements.push({ data: { id: `${parent}-${id}`, source: parent, target: id } });
    if (previous) elements.push({ data: { id: `${previous}~${id}`, source: previous, target: id, flow: 1 } });
    let prev = null;
    for (const child of node.children || []) {
      const childId = walk(child, id, node.kind === "run" && child.kind === "phase" ? prev : null);
      if (child.kind === "phase") prev = childId;
    }
    return id;
  };
  if (trace) walk(trace, null, null);
  if (graph) graph.destroy();
  graph = cytoscape({
    container: $("graph"),
    elements,
    layout: { name: "breadthfirst", directed: true, spacingFactor: 1.1, fit: true, padding: 40 },
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 9, "text-wrap": "wrap",
        "text-max-width": 110, "background-color": (n) => COLORS[n.data("kind")] || "#888", width: 14, height: 14 } },
      { selector: "edge", style: { width: 1, "line-color": "#c5cbd3", "curve-style": "bezier",
        "target-arrow-shape": "triangle", "target-arrow-color": "#c5cbd3" } },
      { selector: "edge[flow]", style: { "line-style": "dashed", "line-color": "#3559c7" } },
    ],
  });
  graph.ready(() => graph.fit(undefined, 40));
  window.overlayGraph = graph;  // for tests and the console
  graph.on("tap", "node", (evt) => {
    const d = evt.target.data("detail");
    const shown = { kind: d.kind, name: d.name, status: d.status, duration_s: d.duration_s,
                    llm_calls: d.llm_calls, tokens: d.tokens, ...d.detail };
    $("node-detail").textContent = JSON.stringify(shown, null, 2);
  });
}

function drawTimeline(records) {
  const t0 = records.length ? records[0].ts : 0;
  $("timeline").replaceChildren(
    ...records.map((r) => el("li", {},
      `+${(r.ts - t0).toFixed(2)}s ${r.type}${r.phase ? ` · ${r.phase}` : ""}${r.name ? ` · ${r.name}` : ""} · ${r.hash.slice(0, 10)}`))
  );
}

function drawDecisions(records) {
  const box = $("decisions");
  box.replaceChildren();
  for (const d of records.filter((r) => r.type === "decision")) {
    const scores = d.scores || d.options.map(() => 1);
    const total = scores.reduce((a, b) => a + b, 0) || 1;
    box.append(el("div", { class: "muted" }, `${d.phase} (${d.kind})`));
    d.options.forEach((option, i) => {
      const p = scores[i] / total;
      box.append(el("div", { class: `cand${i === d.chosen ? " chosen" : ""}` },
        `${(p * 100).toFixed(1)}% ${i === d.chosen ? "✔ " : ""}${String(option).slice(0, 160)}`,
        el("div", { class: "bar", style: `width:${Math.max(2, p * 100)}%` })));
    });
  }
  if (!box.childNodes.length) box.append(el("div", { class: "muted" }, "no select or vote in this run"));
}

function drawDeltas(records) {
  const drafts = records.filter((r) => r.type === "phase_finished" &&
    ["generate", "refine"].includes(r.kind) && r.output?.text);
  const box = $("deltas");
  box.replaceChildren();
  drafts.forEach((d, i) => {
    const title = el("div", { class: "muted" }, `${d.phase} #${d.iteration}`);
    const body = el("div", {});
    if (i === 0) body.append(d.output.text);
    else body.append(...wordDiff(drafts[i - 1].output.text, d.output.text));
    box.append(title, body);
  });
  if (!drafts.length) box.append(el("div", { class: "muted" }, "no drafts in this run"));
}

function wordDiff(before, after) {
  const a = before.split(/(\s+)/), b = after.split(/(\s+)/);
  const n = a.length, m = b.length;
  if (n * m > 4_000_000) return [after];  // too long to diff in the browser
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push(a[i]); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(el("del", {}, a[i++]));
    else out.push(el("ins", {}, b[j++]));
  }
  while (i < n) out.push(el("del", {}, a[i++]));
  while (j < m) out.push(el("ins", {}, b[j++]));
  return out;
}

// -- vault ----------------------------------------------------------------------------------------
async function searchVault(event) {
  event.preventDefault();
  const q = $("vault-query").value.trim();
  if (!q) return;
  try {
    const result = await api(`/api/vault/search?q=${encodeURIComponent(q)}&k=10`);
    status(`${result.hits.length} notes in ${result.ms.toFixed(0)} ms${result.found ? "" : " · the vault may not hold the answer"}`);
    $("hits").replaceChildren(...result.hits.map((h) =>
      el("li", { onclick: () => openNote(h.path, h.heading_path.at(-1)) },
        el("div", { class: "cite" }, h.citation),
        el("div", { class: "muted" }, h.path),
        el("div", {}, h.snippet.replace(/\*\*/g, "")))));
  } catch (err) {
    status(err.message.includes("no vault") ? "No vault indexed yet: run `overlay ingest PATH`." : err.message);
  }
}

async function openNote(path, heading) {
  const query = `name=${encodeURIComponent(path)}${heading ? `&heading=${encodeURIComponent(heading)}` : ""}`;
  const note = await api(`/api/vault/note?${query}`);
  $("note").replaceChildren(el("h3", {}, note.path), note.text,
    el("p", { class: "muted" }, `links to: ${note.links.join(", ") || "none"}`),
    el("p", { class: "muted" }, `linked from: ${note.backlinks.join(", ") || "none"}`));
}

// -- frames ---------------------------------------------------------------------------------------
async function loadFrames() {
  const data = await api("/api/frames");
  $("frames").replaceChildren(...data.frames.map((f) =>
    el("li", { title: f.description || "", onclick: () => openFrame(f.id) }, `${f.id} ${f.version}`)));
}

async function openFrame(id) {
  const frame = await api(`/api/frames/${id}`);
  $("frame-title").textContent = `${id} — ${frame.spec.version}`;
  $("frame-yaml").textContent = frame.yaml;
  const history = await api(`/api/frames/${id}/history`);
  $("frame-history").replaceChildren(...history.map((v) =>
    el("li", {}, `${v.version ?? "?"} · ${v.time.slice(0, 19)} · ${v.commit.slice(0, 10)} · ${v.message}`)));
}

// -- start ----------------------------------------------------------------------------------------
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  $("chat-form").addEventListener("submit", send);
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) send(e);
  });
  $("new-session").addEventListener("click", () => { session = newSessionName(); loadChat(); });
  $("vault-form").addEventListener("submit", searchVault);
  if (!location.hash) location.hash = "#/chat";
  route();
});
