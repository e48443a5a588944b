// The console's reports page: draws each report's rows (read with the console's session from
// the URL in its section's data-rows) with Chart.js, served from /static/vendor/chartjs. The
// page itself holds no figures; each chart's numbers are its CSV link.
"use strict";

const PALETTE = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096", "#d69e2e",
                 "#319795", "#e53e3e"];
const charts = {};

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
      options: {
        indexAxis: "y",
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "cases" } },
          y: { title: { display: true, text: "root cause" } },
        },
      },
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
      options: {
        indexAxis: "y",
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "escalations" } },
          y: { title: { display: true, text: "agent · trigger" } },
        },
      },
    };
  },
};

function draw(section, config) {
  const name = section.dataset.report;
  if (charts[name]) charts[name].destroy();
  const empty = !config.data.labels.length;
  section.querySelector(".empty").hidden = !empty;
  section.querySelector(".canvas-box").hidden = empty;
  if (empty) return;
  config.options = Object.assign({
    responsive: true,
    maintainAspectRatio: false,
    plugins: { legend: { position: "top", labels: { boxWidth: 14 } } },
  }, config.options);
  charts[name] = new Chart(section.querySelector("canvas"), config);
}

function say(section, text) {
  section.querySelector(".canvas-box").hidden = true;
  const note = section.querySelector(".empty");
  note.hidden = false;
  note.textContent = text;
}

async function load(section) {
  const response = await fetch(section.dataset.rows, {
    headers: { Accept: "application/json", "X-Console-Fragment": "1" },
    credentials: "same-origin",
  });
  if (response.status === 401) { window.location.reload(); return; }  // to the sign-in page
  if (!response.ok) {
    let detail = `Could not load (HTTP ${response.status}).`;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    say(section, detail);
    return;
  }
  draw(section, BUILD[section.dataset.report]((await response.json()).rows));
}

document.addEventListener("DOMContentLoaded", async () => {
  Chart.defaults.font.size = 13;
  Chart.defaults.color = "#1b1f24";
  const sections = [...document.querySelectorAll("section.chart[data-rows]")];
  await Promise.all(sections.map((s) => load(s).catch(() => say(s, "Could not load."))));
  document.body.dataset.loaded = "true";  // (the browser tests wait for this)
});
