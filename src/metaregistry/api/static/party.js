// The party view (issue 19): a party's Article 6 ledger from GET /v1/article6/parties/{party}:
// totals per year as bars (authorized, first-transferred, used) and its open Article 6
// alerts. Uses app.js's helpers ($, el, number, getJson); values go in with textContent.
"use strict";

const PARTY_SERIES = [
  ["authorized", "authorized"],
  ["first_transferred", "first-transferred"],
  ["used", "used"],
];

function partyTotals(totals) {
  const most = Math.max(1, ...totals.flatMap((t) => PARTY_SERIES.map(([key]) => t[key] || 0)));
  const rows = totals.map((t) =>
    el("tr", {},
      el("th", { scope: "row" }, String(t.year)),
      ...PARTY_SERIES.map(([key, label]) =>
        el("td", { class: `bar-cell ${label}` },
          el("span", {
            class: `bar ${label}`,
            style: `width: ${Math.round((100 * (t[key] || 0)) / most)}%`,
            title: `${label}: ${number(t[key] || 0)} t`,
          }),
          el("span", { class: "bar-label" }, number(t[key] || 0)))),
      el("td", {}, number(t.cancelled || 0))));
  return el("table", { class: "party-totals" },
    el("thead", {}, el("tr", {}, el("th", {}, "Year"), el("th", {}, "Authorized (t)"),
      el("th", {}, "First-transferred"), el("th", {}, "Used"), el("th", {}, "Cancelled"))),
    el("tbody", {}, rows));
}

function partyAlerts(alerts) {
  if (!alerts.length) return el("p", { class: "muted" }, "No open Article 6 alert.");
  return el("ol", { class: "alerts" }, alerts.map((a) =>
    el("li", { class: `alert ${a.severity}` },
      el("strong", {}, a.kind.replaceAll("_", " ")), ` (${a.severity}): `, a.explanation)));
}

async function showParty(party) {
  const out = $("party-result");
  out.replaceChildren(el("p", { class: "muted" }, "Reading the ledger…"));
  const code = party.trim().toUpperCase();
  const { status, body } = await getJson(`/v1/article6/parties/${encodeURIComponent(code)}`);
  if (status !== 200 || !body) {
    out.replaceChildren(el("p", { class: "error" }, (body && body.message) || `HTTP ${status}`));
    return;
  }
  out.replaceChildren(
    el("h3", {}, `${body.party}: ${number(body.authorizations)} authorizations`),
    body.totals.length
      ? partyTotals(body.totals)
      : el("p", { class: "muted" }, "No Article 6 action of this party in the index."),
    el("h3", {}, "Open Article 6 alerts"),
    partyAlerts(body.alerts),
    el("p", { class: "muted" }, "AEF tables of a year: ",
      el("code", {}, `/v1/article6/parties/${body.party}?year=YYYY`), " or ",
      el("code", {}, `metaregistry article6 report --party ${body.party} --year YYYY --xlsx FILE`)));
}

document.addEventListener("DOMContentLoaded", () => {
  const form = $("party-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showParty($("party").value);
  });
});
