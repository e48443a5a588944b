// Progressive enhancement of the console's server-rendered pages: times in the reader's time
// zone, live countdowns, and a poll of the page's live fragment so it follows the case.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });

  function left(ms) {
    var past = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    var parts = d ? [d + " d", h + " h"] : h ? [h + " h", m + " min"] : [m + " min", sec + " s"];
    return past ? "overdue by " + parts.join(" ") : parts.join(" ") + " left";
  }

  function refresh(root) {
    // forms with times send the reader's zone, so the server reads their inputs as local times
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    root.querySelectorAll("input[data-tz-input]").forEach(function (el) { el.value = zone; });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      el.textContent = fmt.format(new Date(el.getAttribute("datetime")));
    });
    tick(root);
  }

  function tick(root) {
    var now = Date.now();
    root.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var ms = new Date(el.getAttribute("data-due")).getTime() - now;
      el.textContent = left(ms);
      el.classList.toggle("overdue", ms < 0);
    });
  }

  // Someone typing in a form of the fragment: do not replace it under their hands.
  function busy(el) {
    // a refused form, its errors beside the fields: kept until sent again or left
    if (el.querySelector("form[data-refused]")) return true;
    var active = document.activeElement;
    if (active && el.contains(active) && active.matches("input, textarea, select")) return true;
    return Array.prototype.some.call(el.querySelectorAll("textarea, input"), function (f) {
      return f.type === "checkbox" ? f.checked !== f.defaultChecked : f.value !== f.defaultValue;
    });
  }

  function poll(el, every) {
    var last = null;
    setInterval(function () {
      if (document.hidden || busy(el)) return;
      fetch(el.getAttribute("data-live"), {
        headers: { "X-Console-Fragment": "1" }, credentials: "same-origin",
      }).then(function (r) {
        if (r.status === 401) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || html === last) return;
        last = html;
        el.innerHTML = html;
        refresh(el);
      }).catch(function () { /* offline for a moment: the next poll tries again */ });
    }, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    // the intake form's draft is done with once its case is open
    if (new URLSearchParams(window.location.search).get("opened") === "1") {
      try {
        Object.keys(localStorage).forEach(function (k) {
          if (k.indexOf("escalate-draft:") === 0) localStorage.removeItem(k);
        });
      } catch (e) { /* storage off: nothing kept */ }
    }
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    document.querySelectorAll("[data-tz]").forEach(function (el) { el.textContent = tz; });
    refresh(document);
    setInterval(function () { tick(document); }, 1000);
    document.querySelectorAll("[data-live]").forEach(function (el) {
      poll(el, Number(document.body.getAttribute("data-poll-ms")) || 3000);
    });
  });
})();
