// The intake form (/console/escalate): a draft kept in this browser's local storage while the
// agent is on the call (a reload loses nothing, the idempotency key included, so a retry opens
// the same case), and the help panel asked again as the answers change.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("escalate");
    if (!form) return;
    var store = form.getAttribute("data-draft");
    var fields = form.querySelectorAll("input[name], select[name], textarea[name]");
    var skip = { csrf: true };

    function save() {
      var draft = {};
      try { draft = JSON.parse(localStorage.getItem(store) || "{}") || {}; } catch (e) { draft = {}; }
      fields.forEach(function (f) {
        // another category's questions keep what the draft had (they may share a name)
        if (skip[f.name] || f.closest("fieldset[disabled]")) return;
        if (f.type === "checkbox") draft[f.name] = f.checked ? "on" : "";
        else draft[f.name] = f.value;
      });
      try { localStorage.setItem(store, JSON.stringify(draft)); } catch (e) { /* full: no draft */ }
    }

    function restore() {
      var draft = null;
      try { draft = JSON.parse(localStorage.getItem(store) || "null"); } catch (e) { draft = null; }
      if (!draft) return;
      fields.forEach(function (f) {
        // what the server drew after a refusal wins over an older draft
        if (!skip[f.name] && draft[f.name] !== undefined && !f.hasAttribute("aria-invalid")) {
          if (f.type === "checkbox") f.checked = draft[f.name] === "on";
          else f.value = draft[f.name];
        }
      });
    }

    var panel = document.getElementById("intake-help"), timer = null, asked = "";
    function ask() {
      var q = new URLSearchParams();
      ["category", "customer_id", "remedy_kind", "remedy_amount", "summary", "details"].forEach(
        function (n) { var f = form.elements[n]; if (f) q.set(n, f.value.slice(0, 2000)); });
      var url = panel.getAttribute("data-help") + "?" + q.toString();
      if (url === asked) return;
      asked = url;
      fetch(url, { headers: { "X-Console-Fragment": "1" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && url === asked) panel.innerHTML = html; })
        .catch(function () { asked = ""; /* offline for a moment: the next change asks again */ });
    }

    // the policy's questions for the chosen category (a hidden guide is disabled: not sent,
    // and its required questions do not block the form)
    var holder = form.querySelector("[data-capture-map]");
    var guides = JSON.parse(holder ? holder.getAttribute("data-capture-map") : "{}");
    function showGuide() {
      var chosen = form.elements["category"] ? form.elements["category"].value : "";
      var at = guides[chosen] === undefined ? -1 : guides[chosen];
      form.querySelectorAll("fieldset[data-guide]").forEach(function (fs) {
        var on = Number(fs.getAttribute("data-guide")) === at;
        fs.hidden = !on;
        fs.disabled = !on;
      });
    }

    restore();
    showGuide();
    ask();
    if (form.elements["category"]) form.elements["category"].addEventListener("change", showGuide);
    form.addEventListener("input", function () {
      showGuide();  // (a select's input event comes before its change event)
      save();
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
    form.addEventListener("submit", function () {
      save();  // kept until the case page says it is open (console.js clears it)
      form.querySelector("button[type=submit]").disabled = true;  // one click, one request
    });
  });
})();
