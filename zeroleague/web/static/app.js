// zeroleague web page: plain JavaScript, no build step, nothing fetched from the network but this server.
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const COLS = "ABCDEFGHJKLMNOPQRSTUVWXYZ";
const GAMES = [
  ["go9", "Go 9x9"], ["go13", "Go 13x13"], ["go19", "Go 19x19"],
  ["sixnimmt_v0", "6 nimmt! (104 cards)"], ["sixnimmt_tactical_v0", "6 nimmt! tactical (24 cards)"],
];
let meta = { examples: {}, dbs: [] };
let mode = "play";
let current = null;      // the latest view drawn
let playId = null, watchId = null, replayId = null, source = null;

// ------------------------------------------------------------------------------------------------ helpers
function el(tag, attrs = {}, children = []) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.appendChild(c);
  return e;
}
async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(url, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { detail: r.statusText }; }
  if (!r.ok) {
    let d = data && data.detail;
    if (Array.isArray(d)) d = d.map((x) => `${(x.loc || []).join(".")}: ${x.msg}`).join("; ");
    throw new Error(d || `HTTP ${r.status}`);
  }
  return data;
}
let draws = 0, messages = 0;  // counters the browser tests wait on
function say(msg) {
  $("message").textContent = msg || "";
  if (msg) document.body.dataset.messages = String(++messages);
}
function bulls(c) {
  if (c === 55) return 7;
  if (c % 11 === 0) return 5;
  if (c % 10 === 0) return 3;
  if (c % 5 === 0) return 2;
  return 1;
}
function gameSettings(prefix) {
  const g = $(prefix + "-env").value;
  const s = { env: g.startsWith("go") ? "go_v0" : g, explain: $(prefix + "-explain").checked };
  if (g.startsWith("go")) { s.board_size = parseInt(g.slice(2)); s.komi = parseFloat($(prefix + "-komi").value); }
  const seed = $(prefix + "-seed").value;
  if (seed !== "") s.seed = parseInt(seed);
  return s;
}
function fillSpecs() {
  for (const prefix of ["play", "watch"]) {
    const g = $(prefix + "-env").value, env = g.startsWith("go") ? "go_v0" : g;
    const list = $("specs-" + prefix);
    list.innerHTML = "";
    for (const s of (meta.examples[env] || [])) list.appendChild(el("option", { value: s }));
    for (const e of document.querySelectorAll(`#panel-${prefix} .go-only`)) e.classList.toggle("hidden", !g.startsWith("go"));
  }
}

// ------------------------------------------------------------------------------------------------ Go board
function goBoard(view, opts = {}) {
  const n = view.size, cell = 40, pad = 40, W = pad * 2 + cell * (n - 1);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${W}`, class: "goboard" + (opts.mini ? " mini-board" : "") });
  svg.appendChild(el("svg:rect", { x: 0, y: 0, width: W, height: W, fill: "#dcb35c" }));
  const xy = (i) => pad + i * cell;
  for (let i = 0; i < n; i++) {
    svg.appendChild(el("svg:line", { x1: xy(0), y1: xy(i), x2: xy(n - 1), y2: xy(i), stroke: "#333", "stroke-width": 1 }));
    svg.appendChild(el("svg:line", { x1: xy(i), y1: xy(0), x2: xy(i), y2: xy(n - 1), stroke: "#333", "stroke-width": 1 }));
    if (!opts.mini) {
      svg.appendChild(el("svg:text", { x: xy(i), y: 13, "text-anchor": "middle", "font-size": 12, text: COLS[i] }));
      svg.appendChild(el("svg:text", { x: 11, y: xy(i) + 4, "text-anchor": "middle", "font-size": 12, text: String(n - i) }));
    }
  }
  const heat = opts.heat || null;            // values in [0, 1] per point (or null)
  const labels = opts.labels || null;
  for (let p = 0; p < n * n; p++) {
    const r = Math.floor(p / n), c = p % n, x = xy(c), y = xy(r), s = view.board[p];
    if (view.area && s === 0 && view.area[p]) {
      svg.appendChild(el("svg:rect", { x: x - 7, y: y - 7, width: 14, height: 14, fill: view.area[p] === 1 ? "#111" : "#fff", opacity: 0.75 }));
    }
    if (heat && heat[p] > 0.02) {
      svg.appendChild(el("svg:circle", { cx: x, cy: y, r: cell * 0.45, fill: opts.heatColour || "#e53935", opacity: 0.1 + 0.85 * heat[p] }));
    }
    if (s) {
      svg.appendChild(el("svg:circle", { cx: x, cy: y, r: cell * 0.46, fill: s === 1 ? "#111" : "#f8f8f8", stroke: "#000", "stroke-width": 1 }));
      if (view.area && view.area[p] && view.area[p] !== s) { /* cannot happen under Tromp-Taylor: stones own their point */ }
    }
    if (view.last_move === p && !opts.mini) {
      svg.appendChild(el("svg:circle", { cx: x, cy: y, r: 6, fill: s === 1 ? "#fff" : "#d32f2f" }));
    }
    if (labels && labels[p]) {
      svg.appendChild(el("svg:text", { x: x, y: y + 4, "text-anchor": "middle", "font-size": 11, "font-weight": 700, fill: s === 1 ? "#fff" : "#000", text: labels[p] }));
    }
    if (!opts.mini) {
      const legal = opts.legal && opts.legal.has(p);
      const hit = el("svg:rect", { x: x - cell / 2, y: y - cell / 2, width: cell, height: cell, class: "pt" + (legal ? " legal" : ""), "data-action": p, "data-name": COLS[c] + (n - r) });
      if (opts.onclick) hit.addEventListener("click", () => opts.onclick(p));
      svg.appendChild(hit);
    }
  }
  return svg;
}

// ------------------------------------------------------------------------------------------------ 6 nimmt!
function card(c, extra = {}) {
  const e = el("div", { class: `card b${bulls(c)}`, "data-card": c, title: `card ${c}: ${bulls(c)} bullhead(s)` },
    [el("span", { text: String(c) }), el("span", { class: "bulls", text: "•".repeat(bulls(c)) })]);
  if (extra.action !== undefined) e.setAttribute("data-action", extra.action);
  if (extra.heat !== undefined) e.appendChild(el("div", { class: "heat", style: `height:${Math.round(60 * extra.heat)}%` }));
  return e;
}
function sixTable(view, onAction) {
  const box = el("div", { class: "sixnimmt" });
  const legal = new Set(view.legal || []);
  const rowAction = (j) => view.deck + j;
  view.rows.forEach((row, j) => {
    const choosable = legal.has(rowAction(j));
    const sum = row.reduce((a, c) => a + bulls(c), 0);
    const r = el("div", { class: "sixrow" + (choosable ? " choosable" : ""), id: `row-${j}`, "data-action": rowAction(j) },
      [el("span", { class: "rowlabel", text: `row ${j + 1} (${sum})` })]);
    for (const c of row) r.appendChild(card(c));
    if (choosable) r.addEventListener("click", () => onAction(rowAction(j)));
    box.appendChild(r);
  });
  if (view.revealed && view.revealed.some((c) => c > 0)) {
    box.appendChild(el("div", { class: "seatline", text: "Revealed this trick: " + view.revealed.map((c, s) => `${view.names[s] || view.seat_names[s]}: ${c || "?"}`).join(", ") }));
  }
  const heatOf = {};
  const sr = view.hint || view.search;
  if (sr && sr.actions && (sr.visits || sr.margins)) {
    const vals = sr.visits || sr.margins.map((m) => m - Math.min(...sr.margins));
    const mx = Math.max(...vals, 1e-9);
    sr.actions.forEach((a, i) => { heatOf[a] = vals[i] / mx; });
  }
  const seats = view.viewer === null || view.viewer === undefined ? [0, 1] : [view.viewer];
  for (const s of seats) {
    let hand = view.viewer === null || view.viewer === undefined ? view.hands[s] : view.hand;
    const pending = view.pending && view.pending[s] ? view.pending[s] : 0;  // spectators: the selected card
    if (pending) hand = hand.concat([pending]).sort((x, y) => x - y);
    const who = view.names[s] || view.seat_names[s];
    box.appendChild(el("div", { class: "seatline", text: `${who} — hand (${hand.length - (pending ? 1 : 0)})` + (pending ? `, selected ${pending} (outlined)` : "") }));
    const h = el("div", { class: "hand", id: `hand-${s}` });
    for (const c of hand) {
      const a = c - 1, ok = legal.has(a) && view.viewer === s;
      const heatHere = sr && sr.seat === s ? heatOf[a] : undefined;
      const e = card(c, { action: a, heat: heatHere });
      if (c === pending) e.classList.add("pending");
      if (ok) { e.classList.add("legal"); e.addEventListener("click", () => onAction(a)); }
      h.appendChild(e);
    }
    box.appendChild(h);
  }
  if (view.viewer !== null && view.viewer !== undefined) {
    const o = 1 - view.viewer;
    const h = el("div", { class: "hand" });
    for (let i = 0; i < (view.over ? 0 : view.hand.length); i++) h.appendChild(el("div", { class: "card back" }));
    box.appendChild(el("div", { class: "seatline", text: `${view.names[o]} — hidden hand` }));
    box.appendChild(h);
  }
  const log = el("div", { class: "tricks" });
  for (const t of view.tricks.slice().reverse()) {
    const took = t.bullheads.map((b, s) => (b ? `${view.names[s]} took ${b}` : "")).filter(Boolean).join(", ");
    log.appendChild(el("div", { class: "trickline", text: `trick ${t.trick}: ${view.names[0]} ${t.cards[0]}, ${view.names[1]} ${t.cards[1]}` + (took ? ` — ${took}` : "") }));
  }
  box.appendChild(log);
  return box;
}

// ------------------------------------------------------------------------------------------------ search
function pct(x) { return (100 * x).toFixed(1) + "%"; }
function drawSearch(view) {
  const body = $("search-body");
  body.innerHTML = "";
  const sr = view.hint || view.search;
  if (!sr) { body.textContent = "No search to show for this move (the agent does not explain its search, or the search is hidden)."; return; }
  if (sr.kind === "error") { body.textContent = sr.error; return; }
  const who = view.hint ? `Hint from ${sr.agent} for your move` : `${view.names[sr.seat] || "agent"}'s last search`;
  body.appendChild(el("div", { class: "seatline", text: who + ` (${sr.kind})` }));
  if (sr.kind === "mcs") {
    const t = el("table", { class: "bars", id: "search-table" });
    const mx = Math.max(...sr.margins.map(Math.abs), 1e-9);
    sr.actions.forEach((a, i) => {
      const m = sr.margins[i];
      t.appendChild(el("tr", {}, [el("td", { text: sr.labels[i] + (a === sr.chosen ? " ◀" : "") }), el("td", { text: m.toFixed(2) }),
        el("td", {}, [el("span", { class: "bar" + (m < 0 ? " neg" : ""), style: `width:${Math.round(90 * Math.abs(m) / mx)}px` })])]));
    });
    body.appendChild(el("div", { class: "small", text: "expected margin (bullheads) of each card over the sampled deals" }));
    body.appendChild(t);
    return;
  }
  const total = sr.visits.reduce((a, b) => a + b, 0) || 1;
  if (view.kind === "go") {
    const n = view.size, hv = new Array(n * n).fill(0), hp = new Array(n * n).fill(0), lv = new Array(n * n).fill("");
    const mxv = Math.max(...sr.visits, 1), mxp = Math.max(...sr.prior, 1e-9);
    sr.actions.forEach((a, i) => { if (a < n * n) { hv[a] = sr.visits[i] / mxv; hp[a] = sr.prior[i] / mxp; if (sr.visits[i] / total >= 0.05) lv[a] = Math.round(100 * sr.visits[i] / total); } });
    const shown = Object.assign({}, view, { last_move: null, area: null, board: sr.board || view.board });
    body.appendChild(el("div", { class: "mini" }, [el("div", { class: "small", text: "raw policy prior" }), goBoard(shown, { mini: true, heat: hp, heatColour: "#1565c0" })]));
    body.appendChild(el("div", { class: "mini", id: "search-heatmap" }, [el("div", { class: "small", text: "search visits (%)" }), goBoard(shown, { mini: true, heat: hv, labels: lv })]));
  }
  const t = el("table", { class: "bars", id: "search-table" });
  t.appendChild(el("tr", {}, [el("td", { text: "move" }), el("td", { text: "prior" }), el("td", { text: "visits" })]));
  const order = sr.actions.map((a, i) => i).sort((x, y) => sr.visits[y] - sr.visits[x] || sr.prior[y] - sr.prior[x]).slice(0, 10);
  for (const i of order) {
    t.appendChild(el("tr", {}, [el("td", { text: sr.labels[i] + (sr.actions[i] === sr.chosen ? " ◀" : "") }),
      el("td", {}, [el("span", { class: "bar prior", style: `width:${Math.round(60 * sr.prior[i])}px` }), el("span", { text: " " + pct(sr.prior[i]) })]),
      el("td", {}, [el("span", { class: "bar", style: `width:${Math.round(60 * sr.visits[i] / total)}px` }), el("span", { text: " " + sr.visits[i] })])]));
  }
  body.appendChild(t);
  if (sr.value !== null && sr.value !== undefined) {
    const v = sr.value * (sr.value_scale || 1);
    const text = view.kind === "go"
      ? `root value for the side to move: ${v.toFixed(3)} (win rate ${pct(Math.max(0, Math.min(1, (v + 1) / 2)))})`
      : `expected margin for the side to move: ${v >= 0 ? "+" : ""}${v.toFixed(2)} bullheads`;
    body.appendChild(el("div", { id: "search-value", text }));
  }
  if (sr.pv_labels) body.appendChild(el("div", { class: "pv", id: "search-pv", text: "PV: " + sr.pv_labels.join(" ") }));
}
function drawValues(view) {
  const box = $("value-graph");
  box.innerHTML = "";
  const pts = view.values || [];
  if (!pts.length) { box.textContent = "—"; return; }
  const W = 300, H = 120, go = view.kind === "go";
  const ys = pts.map((p) => (go ? (p.value + 1) / 2 : p.value));
  const lo = go ? 0 : Math.min(-1, ...ys), hi = go ? 1 : Math.max(1, ...ys);
  const maxPly = Math.max(...pts.map((p) => p.ply), 1);
  const X = (ply) => 20 + (W - 30) * ply / maxPly, Y = (v) => H - 8 - (H - 48) * (v - lo) / (hi - lo);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}` });
  svg.appendChild(el("svg:line", { x1: 20, x2: W - 10, y1: Y(go ? 0.5 : 0), y2: Y(go ? 0.5 : 0), stroke: "#bbb" }));
  const colours = ["#1f6feb", "#d97706"];
  for (const seat of [0, 1]) {
    const idx = pts.map((p, i) => i).filter((i) => (pts[i].seat === undefined ? 0 : pts[i].seat) === seat);
    if (!idx.length) continue;
    svg.appendChild(el("svg:polyline", { points: idx.map((i) => `${X(pts[i].ply)},${Y(ys[i])}`).join(" "), fill: "none", stroke: colours[seat], "stroke-width": 2, class: `values-seat-${seat}` }));
    svg.appendChild(el("svg:text", { x: 22, y: 24 + 11 * seat, "font-size": 9, fill: colours[seat], text: `— ${view.names[seat] || view.seat_names[seat]}'s search` }));
  }
  svg.appendChild(el("svg:text", { x: 22, y: 12, "font-size": 10, text: go ? "Black's win rate by each search" : `${view.names[0] || "player_0"}'s expected margin by each search` }));
  box.appendChild(svg);
}

// ------------------------------------------------------------------------------------------------ drawing
function shortName(spec) { return (spec || "").replace(/[^:,=]*\//g, ""); }  // checkpoint paths by file name
function draw(view) {
  current = view;
  view.names = view.names.map(shortName);
  const board = $("board");
  board.innerHTML = "";
  const onAction = (a) => (mode === "play" ? move(a) : null);
  if (view.kind === "go") {
    const legal = new Set(view.legal || []);
    board.appendChild(goBoard(view, { legal, onclick: (p) => { if (mode === "play") move(p); } }));
  } else {
    board.appendChild(sixTable(view, onAction));
  }
  const names = view.names.map((x, s) => x || view.seat_names[s]);
  let status;
  if (view.over) status = "Game over.";
  else if (mode === "play") status = view.to_play === view.viewer ? `Your move (${view.seat_names[view.viewer]})` : "Agent to move…";
  else status = `${names[view.to_play]} (${view.seat_names[view.to_play]}) to move`;
  if (view.kind === "sixnimmt") status += ` · trick ${Math.min(view.trick, view.hand_size)} · bullheads ${names[0]} ${view.penalties[0]} – ${view.penalties[1]} ${names[1]}`;
  if (view.kind === "go") status += ` · move ${view.ply}` + (view.mode === "replay" ? ` of ${view.num_plies}` : "") + ` · komi ${view.komi}`;
  else if (view.mode === "replay") status += ` · action ${view.ply} of ${view.num_plies}`;
  if (view.error) status += ` · error: ${view.error}`;
  $("status").textContent = status;
  let res = view.result ? view.result.text : "";
  if (view.result && view.kind === "go" && view.area_black !== null && view.area_black !== undefined) {
    res += ` — area Black ${view.area_black}, White ${view.area_white}, komi ${view.komi}: score ${view.result.score > 0 ? "B+" : "W+"}${Math.abs(view.result.score)}`;
  }
  $("result").textContent = res;
  $("result").setAttribute("data-over", view.over ? "1" : "0");
  if (view.kind === "go") $("moves").textContent = view.moves.map((m, i) => `${i + 1}.${m}`).join(" ");
  else $("moves").textContent = "";
  drawSearch(view);
  drawValues(view);
  if (mode === "play") {
    $("btn-undo").disabled = !view.can_undo;
    $("btn-pass").disabled = view.over || view.kind !== "go";
    $("btn-resign").disabled = view.over;
    $("btn-hint").disabled = view.over;
  }
  document.body.dataset.session = view.session || "";
  document.body.dataset.draws = String(++draws);
}

// ------------------------------------------------------------------------------------------------ play
async function playNew() {
  say("");
  const body = Object.assign(gameSettings("play"), { human_seat: parseInt($("play-seat").value), agent: $("play-agent").value.trim() });
  $("status").textContent = "Starting…";
  try { const v = await api("POST", "/api/play", body); playId = v.session; draw(v); }
  catch (e) { say(e.message); $("status").textContent = ""; }
}
async function playPost(path, body) {
  if (!playId) { say("start a game first"); return; }
  say("");
  try { draw(await api("POST", `/api/play/${playId}/${path}`, body)); } catch (e) { say(e.message); }
}
function move(a) { return playPost("move", { action: a }); }

// ------------------------------------------------------------------------------------------------ watch
async function watchStart() {
  say("");
  if (source) { source.close(); source = null; }
  $("watch-pause").textContent = "Pause";
  const body = Object.assign(gameSettings("watch"), { agent_a: $("watch-a").value.trim(), agent_b: $("watch-b").value.trim(), delay: parseFloat($("watch-delay").value) });
  try {
    const v = await api("POST", "/api/watch", body);
    watchId = v.session; draw(v);
    source = new EventSource(`/api/watch/${watchId}/events`);
    source.onmessage = (ev) => draw(JSON.parse(ev.data));
    source.addEventListener("end", () => { source.close(); source = null; });
    source.onerror = () => { if (source) { source.close(); source = null; } };
  } catch (e) { say(e.message); }
}
async function watchSpeed(extra) {
  $("watch-delay-text").textContent = $("watch-delay").value;
  if (!watchId) return;
  try {
    const r = await api("POST", `/api/watch/${watchId}/speed`, Object.assign({ delay: parseFloat($("watch-delay").value) }, extra || {}));
    $("watch-pause").textContent = r.paused ? "Resume" : "Pause";
  } catch (e) { say(e.message); }
}

// ------------------------------------------------------------------------------------------------ replay
function dbParam() { const d = $("replay-db").value.trim(); return d ? `db=${encodeURIComponent(d)}&` : ""; }
function options(select, items, label) {
  select.innerHTML = "";
  for (const it of items) select.appendChild(el("option", { value: it.value, text: label(it) }));
}
async function replayLoad() {
  say("");
  try {
    const r = await api("GET", `/api/store/tournaments?${dbParam()}`);
    if (!$("replay-db").value) $("replay-db").value = r.db;
    options($("replay-tournament"), r.tournaments.map((t) => Object.assign({ value: t.name }, t)), (t) => `${t.name} (${t.env}, ${t.games} games)`);
    await replayPairings();
  } catch (e) { say(e.message); }
}
async function replayPairings() {
  const t = $("replay-tournament").value;
  if (!t) return;
  try {
    const r = await api("GET", `/api/store/pairings?${dbParam()}tournament=${encodeURIComponent(t)}`);
    options($("replay-pairing"), r.pairings.map((p) => Object.assign({ value: p.pairing }, p)), (p) => `${p.pairing} (${p.wins}-${p.draws}-${p.losses})`);
    await replayGames();
  } catch (e) { say(e.message); }
}
async function replayGames() {
  const t = $("replay-tournament").value, p = $("replay-pairing").value;
  if (!p) return;
  try {
    const r = await api("GET", `/api/store/games?${dbParam()}tournament=${encodeURIComponent(t)}&pairing=${encodeURIComponent(p)}`);
    options($("replay-game"), r.games.map((g) => Object.assign({ value: g.index }, g)), (g) => `game ${g.index}: ${g.result > 0 ? "A won" : g.result < 0 ? "B won" : "draw"}, ${g.num_moves} moves`);
  } catch (e) { say(e.message); }
}
async function replayOpen(body) {
  say("");
  try {
    const v = await api("POST", "/api/replay", body);
    replayId = v.session;
    $("replay-ply").max = v.num_plies; $("replay-ply").value = v.num_plies;
    $("replay-title").textContent = v.title;
    draw(v);
  } catch (e) { say(e.message); }
}
async function replayGo(ply) {
  if (!replayId) return;
  ply = Math.max(0, Math.min(parseInt($("replay-ply").max), ply));
  $("replay-ply").value = ply;
  try { draw(await api("GET", `/api/replay/${replayId}/${ply}`)); } catch (e) { say(e.message); }
}

// ------------------------------------------------------------------------------------------------ wiring
function setMode(m) {
  mode = m;
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.dataset.tab === m);
  for (const p of ["play", "watch", "replay"]) $("panel-" + p).classList.toggle("hidden", p !== m);
  say("");
}
async function init() {
  for (const s of document.querySelectorAll(".env-select")) for (const [v, t] of GAMES) s.appendChild(el("option", { value: v, text: t }));
  try { meta = await api("GET", "/api/meta"); } catch (e) { say(e.message); }
  if (meta.dbs && meta.dbs.length) $("replay-db").value = meta.dbs[0];
  fillSpecs();
  for (const t of document.querySelectorAll(".tab")) t.addEventListener("click", () => setMode(t.dataset.tab));
  $("play-env").addEventListener("change", fillSpecs);
  $("watch-env").addEventListener("change", fillSpecs);
  $("play-new").addEventListener("click", playNew);
  $("btn-pass").addEventListener("click", () => playPost("pass"));
  $("btn-undo").addEventListener("click", () => playPost("undo"));
  $("btn-resign").addEventListener("click", () => playPost("resign"));
  $("btn-hint").addEventListener("click", () => playPost("hint", {}));
  $("watch-start").addEventListener("click", watchStart);
  $("watch-delay").addEventListener("input", () => watchSpeed());
  $("watch-pause").addEventListener("click", () => watchSpeed({ paused: $("watch-pause").textContent === "Pause" }));
  $("replay-load").addEventListener("click", replayLoad);
  $("replay-tournament").addEventListener("change", replayPairings);
  $("replay-pairing").addEventListener("change", replayGames);
  $("replay-open").addEventListener("click", () => replayOpen({ db: $("replay-db").value.trim() || null, tournament: $("replay-tournament").value, pairing: $("replay-pairing").value, index: parseInt($("replay-game").value) }));
  $("replay-sgf").addEventListener("change", async () => {
    const f = $("replay-sgf").files[0];
    if (f) replayOpen({ sgf: await f.text() });
  });
  $("replay-ply").addEventListener("input", () => replayGo(parseInt($("replay-ply").value)));
  $("replay-start").addEventListener("click", () => replayGo(0));
  $("replay-prev").addEventListener("click", () => replayGo(parseInt($("replay-ply").value) - 1));
  $("replay-next").addEventListener("click", () => replayGo(parseInt($("replay-ply").value) + 1));
  $("replay-end").addEventListener("click", () => replayGo(parseInt($("replay-ply").max)));
  document.addEventListener("keydown", (ev) => {  // replay: arrow keys step through the game
    if (mode !== "replay" || !replayId || ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
    if (ev.key === "ArrowLeft") replayGo(parseInt($("replay-ply").value) - 1);
    if (ev.key === "ArrowRight") replayGo(parseInt($("replay-ply").value) + 1);
  });
  document.body.setAttribute("data-ready", "1");
}
init();
