// The reports page: reads the JSON reports with the token kept in this tab (sessionStorage) and
// draws them with Chart.js (served from /static/vendor/chartjs). No figures live in the page.
"use strict";

const TOKEN_KEY = "escalations.reports.token";
const PALETTE = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096", "#d69e2e",
                 "#319795", "#e53e3e"];
const charts = {};

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function isoDay(d) { return d.toISOString().slice(0, 10); }

function query(form, extra) {
  const data = new FormData(form);
  const params = new URLSearchParams();
  const since = data.get("since");
  const until = data.get("until");
  params.set("since", since + "T00:00:00Z");
  const end = new Date(until + "T00:00:00Z");
  end.setUTCDate(end.getUTCDate() + 1);  // "To" is inclusive: until the next midnight
  params.set("until", end.toISOString());
  for (const key of ["team", "severity", "trigger", "channel"]) {
    const value = (data.get(key) || "").trim();
    if (value) params.set(key, value);
  }
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  return params;
}

const EXTRA = { volume: { interval: "week" }, avoidable: { interval: "week" } };

async function fetchReport(name, params, accept) {
  const response = await fetch(`/reports/${name}?${params}`, {
    headers: { Authorization: `Bearer ${token()}`, Accept: accept },
  });
  return response;
}

function showSignin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("signin").hidden = false;
  document.getElementById("filters").hidden = true;
  document.getElementById("charts").hidden = true;
  document.getElementById("signin-error").textContent = message || "";
}

function draw(name, config) {
  const section = document.getElementById(`chart-${name}`);
  if (charts[name]) charts[name].destroy();
  const empty = !config.data.labels.length;
  section.querySelector(".empty").hidden = !empty;
  section.querySelector(".canvas-box").hidden = empty;
  if (empty) return;
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options);
  charts[name] = new Chart(section.querySelector("canvas"), config);
}

function axes(xTitle, yTitle, extraY) {
  const counts = !yTitle.includes("%") && yTitle !== "hours";  // whole numbers on the axis
  return {
    x: { title: { display: true, text: xTitle } },
    y: Object.assign({ beginAtZero: true, title: { display: true, text: yTitle },
                       ticks: counts ? { precision: 0 } : {} }, extraY || {}),
  };
}

function uniq(values) { return [...new Set(values)]; }

const BUILD = {
  volume(rows) {
    const periods = uniq(rows.map((r) => r.period)).sort();
    const triggers = uniq(rows.map((r) => r.trigger)).sort();
    return {
      type: "bar",
      data: {
        labels: periods.map((p) => `w/c ${p}`),
        datasets: triggers.map((t, i) => ({
          label: t,
          backgroundColor: PALETTE[i % PALETTE.length],
          data: periods.map((p) => {
            const row = rows.find((r) => r.period === p && r.trigger === t);
            return row ? row.escalations : 0;
          }),
        })),
      },
      options: {
        scales: {
          x: { stacked: true, title: { display: true, text: "week commencing (UTC)" } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "escalations" } },
        },
      },
    };
  },
  avoidable(rows) {
    return {
      type: "line",
      data: {
        labels: rows.map((r) => `w/c ${r.period}`),
        datasets: [{
          label: "avoidable share (%)",
          borderColor: PALETTE[1],
          backgroundColor: PALETTE[1],
          data: rows.map((r) => (r.avoidable_share === null ? null : r.avoidable_share * 100)),
        }],
      },
      options: { scales: axes("week commencing (UTC)", "% of judged cases", { max: 100 }) },
    };
  },
  resolution(rows) {
    const total = rows.reduce((n, r) => n + r.cases, 0);
    return {
      type: "bar",
      data: {
        labels: total ? rows.map((r) => r.tier) : [],
        datasets: [{ label: "cases resolved", backgroundColor: PALETTE[2],
                     data: rows.map((r) => r.cases) }],
      },
      options: { scales: axes("resolved at", "cases") },
    };
  },
  sla(rows) {
    const severities = uniq(rows.map((r) => r.severity)).sort();
    const clocks = uniq(rows.map((r) => r.clock)).sort();
    return {
      type: "bar",
      data: {
        labels: severities,
        datasets: clocks.map((c, i) => ({
          label: c.replace("_", " "),
          backgroundColor: PALETTE[i],
          data: severities.map((s) => {
            const mine = rows.filter((r) => r.clock === c && r.severity === s);
            const met = mine.reduce((n, r) => n + r.met, 0);
            const all = mine.reduce((n, r) => n + r.met + r.breached, 0);
            return all ? (100 * met) / all : null;
          }),
        })),
      },
      options: { scales: axes("severity", "% of clocks met", { max: 100 }) },
    };
  },
  stages(rows) {
    const hours = (s) => (s === null ? null : s / 3600);
    return {
      type: "bar",
      data: {
        labels: rows.map((r) => r.stage),
        datasets: [
          { label: "p50 (hours)", backgroundColor: PALETTE[0], data: rows.map((r) => hours(r.p50_s)) },
          { label: "p90 (hours)", backgroundColor: PALETTE[3], data: rows.map((r) => hours(r.p90_s)) },
        ],
      },
      options: { scales: axes("stage", "hours") },
    };
  },
  approvals(rows) {
    return {
      type: "bar",
      data: {
        labels: rows.map((r) => r.level),
        datasets: [
          { label: "granted", backgroundColor: PALETTE[2], data: rows.map((r) => r.granted) },
          { label: "rejected", backgroundColor: PALETTE[8], data: rows.map((r) => r.rejected) },
        ],
      },
      options: { scales: axes("approver level", "decisions") },
    };
  },
  "root-causes"(rows) {
    return {
      type: "bar",
      data: {
        labels: rows.map((r) => r.root_cause),
        datasets: [{ label: "cases", backgroundColor: PALETTE[4], data: rows.map((r) => r.cases) }],
      },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true, title: { display: true, text: "cases" } } } },
    };
  },
  feedback(rows) {
    return {
      type: "bar",
      data: {
        labels: rows.map((r) => String(r.score)),
        datasets: [{ label: "cases", backgroundColor: PALETTE[6], data: rows.map((r) => r.cases) }],
      },
      options: { scales: axes("score", "cases") },
    };
  },
  coaching(rows) {
    const top = rows.slice(0, 15);
    return {
      type: "bar",
      data: {
        labels: top.map((r) => `${r.agent} · ${r.trigger}`),
        datasets: [{ label: "avoidable escalations opened", backgroundColor: PALETTE[1],
                     data: top.map((r) => r.avoidable_escalations) }],
      },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true, title: { display: true, text: "escalations" } } } },
    };
  },
};

async function load() {
  const form = document.getElementById("filters");
  const data = new FormData(form);
  document.getElementById("period").textContent =
    `Escalations opened ${data.get("since")} to ${data.get("until")} (UTC), figures from the report store`;
  for (const name of Object.keys(BUILD)) {
    const section = document.getElementById(`chart-${name}`);
    const response = await fetchReport(name, query(form, EXTRA[name]), "application/json");
    if (response.status === 401) { showSignin("The token was not accepted."); return; }
    if (response.status === 403) {
      if (charts[name]) { charts[name].destroy(); delete charts[name]; }
      section.querySelector(".canvas-box").hidden = true;
      const note = section.querySelector(".empty");
      note.hidden = false;
      note.textContent = (await response.json()).detail;
      continue;
    }
    if (!response.ok) {
      section.querySelector(".empty").hidden = false;
      section.querySelector(".empty").textContent = `Could not load (${response.status}).`;
      continue;
    }
    draw(name, BUILD[name]((await response.json()).rows));
  }
  document.body.dataset.loaded = "true";  // (the browser test waits for this)
}

async function downloadCsv(event) {
  event.preventDefault();
  const name = event.target.dataset.report;
  const form = document.getElementById("filters");
  const response = await fetchReport(name, query(form, Object.assign({ format: "csv" }, EXTRA[name])), "text/csv");
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `${name}.csv`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function start() {
  const form = document.getElementById("filters");
  const today = new Date();
  const from = new Date(today);
  from.setUTCDate(from.getUTCDate() - 83);  // twelve weeks, today included
  const params = new URLSearchParams(location.search);
  form.elements.since.value = params.get("since") || isoDay(from);
  form.elements.until.value = params.get("until") || isoDay(today);
  form.addEventListener("submit", (e) => { e.preventDefault(); document.body.dataset.loaded = "false"; load(); });
  document.getElementById("signout").addEventListener("click", () => showSignin(""));
  document.getElementById("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
    document.getElementById("signin").hidden = true;
    form.hidden = false;
    document.getElementById("charts").hidden = false;
    load();
  });
  for (const link of document.querySelectorAll("a.csv")) link.addEventListener("click", downloadCsv);
  if (token()) {
    form.hidden = false;
    document.getElementById("charts").hidden = false;
    load();
  } else {
    showSignin("");
  }
}

start();
