// The metaregistry web page: a client of the public API, nothing more.
// Every value from the API is put in the page with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const number = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? ""));
const range = (a, b) => (a === b ? number(a) : `${number(a)} – ${number(b)}`);

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  return { status: response.status, body };
}

// -- search ------------------------------------------------------------------------------

async function search(serial, push) {
  const result = $("result");
  result.replaceChildren(el("p", { class: "muted" }, "Looking up…"));
  if (push) {
    const url = new URL(window.location.href);
    url.searchParams.set("serial", serial);
    window.history.replaceState(null, "", url);
  }
  let answer;
  try {
    answer = await getJson(`/v1/serials/${encodeURIComponent(serial)}`);
  } catch (err) {
    result.replaceChildren(el("p", { class: "error" }, `The API did not answer: ${err}`));
    return;
  }
  if (answer.status !== 200) {
    result.replaceChildren(renderError(answer));
    return;
  }
  result.replaceChildren(renderAnswer(answer.body));
}

function renderError({ status, body }) {
  const box = el("div", { class: "error", id: "lookup-error" });
  box.append(el("strong", {}, status === 404 ? "Not found. " : `Error ${status}. `));
  box.append(body && body.message ? body.message : "The lookup failed.");
  if (body && body.hint) box.append(el("p", {}, body.hint));
  return box;
}

function openAlertKinds(blocks) {
  // "double use (high)": the open alerts the blocks carry, each once
  const seen = new Map();
  for (const b of blocks) {
    for (const a of b.alerts || []) {
      if (a.status === "resolved") continue;
      seen.set(a.id, `${a.kind.replaceAll("_", " ")} (${a.severity})`);
    }
  }
  return [...new Set(seen.values())];
}

function renderAnswer(data) {
  const out = el("div", { id: "lookup" });
  const q = data.query;
  const alerts = data.summary.open_alerts;
  const kinds = openAlertKinds(data.blocks);
  const summary = el("div", { class: "summary" + (alerts ? " bad" : "") },
    el("h3", {}, `${q.serial}`),
    el("p", {}, `Units ${range(q.block_start, q.block_end)} of scheme `, el("code", {}, q.scheme),
      q.scope ? [" scope ", el("code", {}, q.scope)] : "",
      ` (${number(q.quantity)} units, read as ${q.family}).`),
    el("p", {}, `Held in ${data.summary.registries.length} registr` +
      (data.summary.registries.length === 1 ? "y" : "ies") + `, ${data.summary.blocks} block` +
      (data.summary.blocks === 1 ? "" : "s") +
      (alerts ? `, ${alerts} open alert${alerts === 1 ? "" : "s"}` +
        (kinds.length ? `: ${kinds.join(", ")}.` : ".") : ", no open alert.")),
    el("ul", { class: "chips", id: "registries" },
      data.summary.registries.map((r) =>
        el("li", { class: "chip", "data-registry": r.registry },
          `${r.registry}: ${r.statuses.join(", ")}`))));
  out.append(summary);
  for (const block of data.blocks) out.append(renderBlock(block));
  if (data.next_cursor) {
    out.append(el("p", { class: "muted" },
      "More blocks hold these units; narrow the search or use the API's cursor."));
  }
  return out;
}

function renderBlock(b) {
  const facts = el("dl", { class: "facts" });
  const fact = (name, value) => {
    if (value === null || value === undefined || value === "") return;
    facts.append(el("dt", {}, name), el("dd", {}, value));
  };
  fact("Serial", el("span", { class: "mono" }, b.serial));
  // numbering "own": the record states a quantity (per project and vintage), not unit numbers
  fact("Units", b.numbering === "own"
    ? `${number(b.quantity)} (the record's own count, not unit numbers: never range-compared)`
    : `${range(b.block_start, b.block_end)} (${number(b.quantity)})`);
  if (b.overlap) fact("Matching", `${range(b.overlap.block_start, b.overlap.block_end)} ` +
    `(${number(b.overlap.quantity)} units)`);
  fact("Project", b.project_id);
  fact("Vintage", b.vintage_start ? `${b.vintage_start} – ${b.vintage_end ?? ""}` : null);
  fact("Country", b.country);
  fact("Status reason", b.status_reason);
  fact("Status date", b.status_date);
  fact("Origin", b.origin ? el("span", { class: "mono" }, b.origin) : null);
  // what the record names elsewhere (kind=registry:id; ...): CARB's OPR project, a bridge's
  // VCS project and source serial
  fact("Names", b.cross_refs ? el("span", { class: "mono" }, b.cross_refs) : null);
  fact("Seen", `${b.provenance.observed_at} via ${b.provenance.connector}`);

  const card = el("article", { class: "block", "data-registry": b.registry },
    el("header", {},
      el("h3", {}, b.registry),
      el("span", { class: `status status-${b.status}` }, b.status)),
    facts);
  for (const a of b.alerts) card.append(renderAlert(a));
  if (b.links.length) {
    card.append(el("details", {}, el("summary", {}, `Links (${b.links.length})`),
      el("ul", {}, b.links.map((l) => el("li", {}, `${l.relation}: ${l.registry} `,
        el("span", { class: "mono" }, l.serial), ` (${l.status})`)))));
  }
  card.append(el("details", {}, el("summary", {}, `History (${b.history.length} version` +
    (b.history.length === 1 ? ")" : "s)")), renderHistory(b.history)));
  card.append(el("p", { class: "muted" }, proofText(b.proof)));
  return card;
}

function renderHistory(history) {
  const rows = history.map((h) => el("tr", {},
    el("td", {}, h.version), el("td", {}, h.status), el("td", {}, h.observed_at),
    el("td", {}, Object.entries(h.changes).map(([k, v]) => `${k}: ${v.from} → ${v.to}`)
      .join("; ") || (h.version === 1 ? "first seen" : "—"))));
  return el("table", { class: "history" },
    el("thead", {}, el("tr", {}, ["Version", "Status", "Seen", "Changes"].map((t) =>
      el("th", {}, t)))),
    el("tbody", {}, rows));
}

function proofText(proof) {
  if (!proof) return "Not in the tamper-evident log yet.";
  if (proof.pending) return `Logged as leaf ${proof.leaf_index}; proof after the next checkpoint.`;
  return `Logged as leaf ${number(proof.leaf_index)}: inclusion proof of ` +
    `${proof.hashes.length} hashes against the checkpoint of size ${number(proof.tree_size)}.`;
}

// -- alerts ------------------------------------------------------------------------------

function serialLink(serial) {
  // a link that looks the serial up on this page (and works as a plain link too)
  const link = el("a", { href: `/?serial=${encodeURIComponent(serial)}`, class: "mono serial-link",
    "data-serial": serial }, serial);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    $("serial").value = serial;
    search(serial, true);
    $("search-title").scrollIntoView();
  });
  return link;
}

function renderAlert(a) {
  const text = a.explanation || `${a.kind} (${a.severity})`;
  const box = el("div", { class: `alert sev-${a.severity}`, "data-alert": a.id },
    el("strong", {}, `${a.kind.replaceAll("_", " ")} · ${a.severity} · ${a.status}` +
      (a.basis === "project" ? " · by project" : "")),
    el("div", {}, text));
  const sides = (a.sides || []).filter((s) => s.serial);
  if (sides.length) {
    box.append(el("ul", { class: "sides" }, sides.map((s) =>
      el("li", {}, `${s.registry} (${s.status}): `, serialLink(s.serial)))));
  }
  return box;
}

let alertCursor = null;

async function loadAlerts(reset) {
  const list = $("alerts");
  const more = $("alerts-more");
  const note = $("alerts-note");
  if (reset) { list.replaceChildren(); alertCursor = null; }
  const params = new URLSearchParams({ limit: "20" });
  for (const [id, name] of [["alert-status", "status"], ["alert-kind", "kind"],
    ["alert-severity", "severity"], ["alert-registry", "registry"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  if (alertCursor) params.set("cursor", alertCursor);
  let answer;
  try {
    answer = await getJson(`/v1/alerts?${params}`);
  } catch (err) {
    note.textContent = `The alert feed did not answer: ${err}`;
    return;
  }
  if (answer.status === 404) {
    $("alerts-section").hidden = true;  // this server does not run the feed
    return;
  }
  if (answer.status !== 200) {
    note.textContent = (answer.body && answer.body.message) || `Error ${answer.status}`;
    return;
  }
  for (const a of answer.body.alerts) list.append(el("li", {}, renderAlert(a)));
  alertCursor = answer.body.next_cursor;
  more.hidden = !alertCursor;
  note.textContent = list.children.length ? "" : "No alerts.";
}

// -- registries --------------------------------------------------------------------------

async function loadRegistries() {
  const body = $("registries-table").querySelector("tbody");
  const note = $("registries-note");
  let answer;
  try {
    answer = await getJson("/v1/registries");
  } catch (err) {
    note.textContent = `The registries did not answer: ${err}`;
    return;
  }
  if (answer.status !== 200) {
    note.textContent = (answer.body && answer.body.message) || `Error ${answer.status}`;
    return;
  }
  const connectors = answer.body.connectors || [];
  const rows = [];
  for (const r of answer.body.registries) {
    const mine = connectors.filter((c) => (r.connectors || []).includes(c.name));
    const synced = mine.map((c) => c.last_success_at).filter(Boolean).sort().pop()
      ?.replace(/\.\d+Z$/, "Z");  // to the second
    const errors = mine.filter((c) => c.last_error).map((c) =>
      `${c.name}: ${c.last_error.message || c.last_error.outcome}`);
    const drift = mine.flatMap((c) => (c.last_run && c.last_run.drift) || [])
      .map((d) => `drift: ${d}`);
    const said = sourceSays(mine);
    rows.push(el("tr", { "data-registry": r.registry },
      el("td", {}, r.registry), el("td", { class: "num" }, number(r.blocks)),
      el("td", { class: "num" }, number(r.units)),
      el("td", {}, synced || "not synced (imported)", said ? el("br") : null,
        said ? el("span", { class: "muted", "data-source-totals": "" }, said) : null),
      el("td", { class: errors.length || drift.length ? "error" : "" },
        [...errors, ...drift].join("; ") || "—")));
  }
  body.replaceChildren(...rows);
  const totals = answer.body.totals;
  note.textContent = `${number(totals.blocks)} blocks, ${number(totals.units)} units in all.`;
}

// What each connector's source said of itself at its last sync ("source: transactions 1,200
// records"), when the source states totals; the sync's disagreements are the drift lines.
function sourceSays(connectors) {
  const parts = [];
  for (const c of connectors) {
    const totals = (c.last_run && c.last_run.source_totals) || {};
    for (const [stream, counts] of Object.entries(totals)) {
      // the sources call the units they state "quantity"
      const figures = Object.entries(counts)
        .map(([what, n]) => `${number(n)} ${what === "quantity" ? "units" : what}`);
      if (figures.length) parts.push(`${stream} ${figures.join(", ")}`);
    }
  }
  return parts.length ? `source: ${parts.join("; ")}` : "";
}

// -- wiring ------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    const serial = $("serial").value.trim();
    if (serial) search(serial, true);
  });
  const url = new URL(window.location.href);
  for (const [id, name] of [["alert-status", "alert_status"], ["alert-kind", "alert_kind"],
    ["alert-severity", "alert_severity"], ["alert-registry", "alert_registry"]]) {
    const given = url.searchParams.get(name);
    if (given !== null) $(id).value = given;
    $(id).addEventListener("change", () => loadAlerts(true));
  }
  $("alerts-more").addEventListener("click", () => loadAlerts(false));
  const initial = new URL(window.location.href).searchParams.get("serial");
  if (initial) {
    $("serial").value = initial;
    search(initial, false);
  }
  loadAlerts(true);
  loadRegistries();
});
