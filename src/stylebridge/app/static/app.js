// stylebridge web app: one page over the JSON API of app/server.py (no framework, no build).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, input: null, reference: null, job: null, timer: null, shown: new Set() };

async function api(path, options = {}) {
  let resp;
  try {
    resp = await fetch(path, options);
  } catch (e) {
    throw new Error("the server cannot be reached (is `stylebridge app` still running?)");
  }
  const type = resp.headers.get("content-type") || "";
  const body = type.includes("json") ? await resp.json() : { error: await resp.text() };
  if (!resp.ok) throw new Error(body.error || `request failed (${resp.status})`);
  return body;
}

function showMessage(text, kind = "error") {
  const m = $("message");
  m.textContent = text;
  m.className = "message " + kind;
}
function clearMessage() { $("message").className = "message hidden"; $("message").textContent = ""; }

function setChosen(label, src, note) {
  const c = $("chosen");
  c.replaceChildren();
  if (src) {
    const img = document.createElement("img");
    img.src = src; img.alt = "chosen input"; img.className = "pix";
    c.append(img);
  }
  const span = document.createElement("span");
  span.textContent = label + (note ? ` (${note})` : "");
  c.append(span);
}

// ---------------------------------------------------------------- set-up

async function init() {
  let info;
  try {
    info = await api("api/info");
  } catch (e) { showMessage(e.message); return; }
  state.info = info;
  $("zoo-name").textContent = `zoo: ${info.zoo} · ${info.models.length} models · ${info.resolution}px`;
  for (const m of info.models) {
    const o = new Option(m.name + (m.base ? " (base)" : ""), m.name);
    if (m.base) o.selected = true;
    $("source").append(o);
  }
  renderTargets();
  $("source").addEventListener("change", renderTargets);
  for (const m of info.methods) $("method").append(new Option(m, m));
  for (const p of info.perceptual) $("perceptual").append(new Option(p, p));
  for (const a of info.appearances) $("appearance").append(new Option(a, a));
  const d = info.defaults, l = info.limits;
  $("method").value = d.method; $("perceptual").value = d.perceptual;
  $("steps").value = d.steps; $("steps").max = l.max_steps;
  const methodSteps = () => {  // each method's own defaults: the encoder's refinement steps may be 0, its
                               // appearance the zoo's measured one
    const m = $("method").value;
    if (d.steps_by_method && m in d.steps_by_method) $("steps").value = d.steps_by_method[m];
    if (d.appearance_by_method && m in d.appearance_by_method) $("appearance").value = d.appearance_by_method[m];
    $("steps").min = m === "encoder" ? 0 : 1;
  };
  $("method").addEventListener("change", methodSteps);
  methodSteps();
  $("modes").value = d.modes; $("modes").max = l.max_modes;
  $("strength").value = d.strength === null ? "" : d.strength; $("strength").max = l.max_strength;
  $("seed").value = d.seed;
  $("content-layers").value = d.content_layers; $("content-layers").max = info.num_ws;
  $("truncation").value = d.truncation; $("truncation-value").textContent = d.truncation;
  $("truncation").addEventListener("input", () => { $("truncation-value").textContent = $("truncation").value; });
  for (const url of info.examples) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "example";
    const img = document.createElement("img");
    img.src = url; img.alt = "example"; img.className = "pix";
    b.append(img);
    b.addEventListener("click", () => {
      document.querySelectorAll(".example.selected").forEach((x) => x.classList.remove("selected"));
      b.classList.add("selected");
      state.input = { type: "example", name: url.split("/").pop() };
      setChosen("example " + url.split("/").pop(), url);
      clearMessage();
    });
    $("examples").append(b);
  }
  if (info.text_input) {
    $("tab-text").classList.remove("hidden");
    $("text").maxLength = l.max_text + 8;
  }
  document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => selectTab(t.dataset.tab)));
  $("text").addEventListener("input", () => {
    const v = $("text").value.trim();
    state.input = v ? { type: "text", text: v } : null;
    setChosen(v ? `text “${v}”` : "No input chosen yet.", null);
  });
  $("file").addEventListener("change", () => $("file").files[0] && uploadInput($("file").files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files[0]) uploadInput(e.dataTransfer.files[0]);
  });
  $("reference").addEventListener("change", () => $("reference").files[0] && uploadReference($("reference").files[0]));
  $("reference-clear").addEventListener("click", () => {
    state.reference = null; $("reference").value = "";
    $("reference-chosen").replaceChildren(); $("reference-clear").classList.add("hidden");
  });
  $("all-targets").addEventListener("click", () => setTargets(true));
  $("no-targets").addEventListener("click", () => setTargets(false));
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", cancel);
  document.body.dataset.ready = "1";
}

function selectTab(name) {
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === name));
  document.querySelectorAll(".tabpane").forEach((p) => p.classList.toggle("hidden", p.id !== "pane-" + name));
}

function renderTargets() {
  const src = $("source").value, box = $("targets");
  const before = new Set([...box.querySelectorAll("input:checked")].map((x) => x.value));
  box.replaceChildren();
  for (const m of state.info.models) {
    if (m.name === src) continue;
    const label = document.createElement("label");
    label.className = "target";
    const cb = document.createElement("input");
    cb.type = "checkbox"; cb.value = m.name; cb.checked = before.size ? before.has(m.name) : true;
    label.append(cb, document.createTextNode(" " + m.name));
    const s = state.info.defaults.strength_by_model[m.name];
    label.title = (m.description || m.name) + (s !== 1 ? ` (drawn at style strength ${s} unless Options say otherwise)` : "");
    box.append(label);
  }
}
function setTargets(on) { $("targets").querySelectorAll("input").forEach((x) => { x.checked = on; }); }

async function sendFile(file) {
  return api("api/uploads?name=" + encodeURIComponent(file.name),
             { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
}

async function uploadInput(file) {
  clearMessage();
  setChosen(`uploading ${file.name}…`, null);
  state.input = null;
  try {
    const up = await sendFile(file);
    state.input = { type: "upload", id: up.id };
    setChosen(`${file.name} (${up.width}×${up.height}), as the model sees it`, up.preview, up.note);
  } catch (e) {
    setChosen("No input chosen yet.", null);
    showMessage(e.message);
  }
}

async function uploadReference(file) {
  clearMessage();
  try {
    const up = await sendFile(file);
    state.reference = up.id;
    const img = document.createElement("img");
    img.src = up.preview; img.className = "pix small"; img.alt = "reference";
    $("reference-chosen").replaceChildren(img, document.createTextNode(" " + file.name));
    $("reference-clear").classList.remove("hidden");
  } catch (e) {
    state.reference = null; $("reference").value = "";
    showMessage("reference: " + e.message);
  }
}

// ---------------------------------------------------------------- jobs

function request() {
  const targets = [...$("targets").querySelectorAll("input:checked")].map((x) => x.value);
  const num = (id) => ($(id).value === "" ? null : Number($(id).value));
  return {
    input: state.input, source: $("source").value, targets,
    method: $("method").value, perceptual: $("perceptual").value, steps: num("steps"),
    appearance: $("appearance").value, strength: num("strength"),
    modes: num("modes"), seed: num("seed"), content_layers: num("content-layers"),
    truncation: num("truncation"), reference: state.reference,
  };
}

async function run() {
  clearMessage();
  const req = request();
  if (!req.input) { showMessage("Choose an input first: upload an image, pick an example" + (state.info.text_input ? " or type some text." : ".")); return; }
  if (!req.targets.length) { showMessage("Choose at least one target model."); return; }
  let job;
  try {
    job = await api("api/jobs", { method: "POST", body: JSON.stringify(req), headers: { "Content-Type": "application/json" } });
  } catch (e) { showMessage(e.message); return; }
  state.job = job.id; state.shown = new Set();
  $("outputs").replaceChildren();
  $("notes").replaceChildren();
  $("downloads").classList.add("hidden");
  $("run").disabled = true; $("cancel").disabled = false;
  update(job);
  poll();
}

async function cancel() {
  if (!state.job) return;
  try { update(await api(`api/jobs/${state.job}/cancel`, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } })); } catch (e) { showMessage(e.message); }
}

async function poll() {
  clearTimeout(state.timer);
  if (!state.job) return;
  const id = state.job;
  try {
    const s = await api(`api/jobs/${id}`);
    if (id !== state.job) return;
    update(s);
    if (!["done", "failed", "cancelled"].includes(s.state)) state.timer = setTimeout(poll, 250);
  } catch (e) {
    showMessage(e.message); finish();
  }
}

function finish() { $("run").disabled = false; $("cancel").disabled = true; }

function update(s) {
  document.body.dataset.jobState = s.state;
  $("bar-fill").style.width = (100 * s.progress).toFixed(1) + "%";
  $("bar-fill").className = s.state;
  let stage = s.stage;
  if (s.state === "queued" && s.queue_position) stage = `waiting in the queue (position ${s.queue_position})`;
  if (s.state === "done") stage = `done in ${s.seconds} s`;
  $("stage").textContent = stage;
  $("notes").replaceChildren(...s.notes.map((n) => { const p = document.createElement("p"); p.textContent = n; return p; }));
  const live = $("live");
  if (s.preview && s.state === "running" && !s.files.some((f) => f.kind === "reconstruction")) {
    live.classList.remove("hidden");
    if ($("live-img").getAttribute("src") !== s.preview) $("live-img").src = s.preview;
  } else live.classList.add("hidden");
  for (const f of s.files) if (!state.shown.has(f.name)) { state.shown.add(f.name); addOutput(f); }
  if (s.files.length) {
    $("downloads").classList.remove("hidden");
    $("zip-link").href = `api/jobs/${s.id}/all.zip`;
    const npz = s.files.find((f) => f.kind === "latent");
    $("npz-link").classList.toggle("hidden", !npz);
    if (npz) $("npz-link").href = npz.url + "?download=1";
  }
  if (s.state === "failed") showMessage(s.error || "the translation failed");
  if (s.state === "cancelled") showMessage("Cancelled.", "info");
  if (["done", "failed", "cancelled"].includes(s.state)) finish();
}

function rowFor(f) {
  const key = f.group ? "t-" + f.group : "source";  // a target's translations and its real glyphs
  let row = document.querySelector(`.row-out[data-key="${CSS.escape(key)}"]`);
  if (!row) {
    row = document.createElement("div");
    row.className = "row-out"; row.dataset.key = key;
    const h = document.createElement("h3");
    h.textContent = f.group ? f.group : "input → reconstruction";
    const cards = document.createElement("div");
    cards.className = "cards";
    row.append(h, cards);
    $("outputs").append(row);
  }
  return row.querySelector(".cards");
}

function addOutput(f) {
  if (f.kind === "latent") return;
  const card = document.createElement("figure");
  card.className = "card " + f.kind;
  const img = document.createElement("img");
  img.className = "pix result"; img.alt = f.label; img.dataset.name = f.name;
  img.addEventListener("load", () => {  // strips of several characters: keep a row of them on screen
    const r = img.naturalWidth / img.naturalHeight;
    if (r > 1) img.style.height = Math.max(48, Math.min(160, 330 / r)) + "px";
  });
  img.src = f.url;
  const cap = document.createElement("figcaption");
  const a = document.createElement("a");
  a.href = f.url + "?download=1"; a.download = f.name; a.textContent = "PNG"; a.title = "download " + f.name;
  cap.append(document.createTextNode(f.label + " "), a);
  card.append(img, cap);
  rowFor(f).append(card);
}

init();
