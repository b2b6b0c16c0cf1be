// journey serve: live counts on a journey page, and a step's contacts without leaving it.
// Plain script, no build step; it only reads this server's own JSON and HTML fragments.
"use strict";

(function () {
  var POLL_MS = 2000;

  function setText(root, selector, value) {
    root.querySelectorAll(selector).forEach(function (el) {
      var text = String(value);
      el.classList.toggle("zero", text === "0");
      if (el.textContent !== text) {
        el.textContent = text;
        el.classList.add("changed");
        setTimeout(function () { el.classList.remove("changed"); }, 1200);
      }
    });
  }

  function applyCounts(data) {
    data.steps.forEach(function (step) {
      var sel = '[data-step="' + CSS.escape(step.step) + '"]';
      document.querySelectorAll(sel).forEach(function (holder) {
        ["entered", "waiting", "done", "failed"].forEach(function (kind) {
          setText(holder, '[data-count="' + kind + '"]', step[kind]);
        });
      });
    });
    ["live", "failed", "finished"].forEach(function (kind) {
      setText(document, '#totals [data-total="' + kind + '"]', data[kind]);
    });
    var updated = document.getElementById("updated");
    if (updated) { updated.textContent = "updated " + new Date().toLocaleTimeString(); }
  }

  function panelUrl(href) {
    return href + (href.indexOf("?") >= 0 ? "&" : "?") + "fragment=contacts";
  }

  function loadPanel(href) {
    var panel = document.getElementById("step-panel");
    if (!panel) { return Promise.resolve(); }
    return fetch(panelUrl(href), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { panel.innerHTML = html; });
  }

  function poll(url) {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        applyCounts(data);
        var step = new URLSearchParams(location.search).get("step");
        if (step !== null) { loadPanel(location.pathname + location.search); }
      })
      .catch(function () {
        var updated = document.getElementById("updated");
        if (updated) { updated.textContent = "not updated: the server did not answer"; }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var totals = document.getElementById("totals");
    if (!totals) { return; }
    var url = totals.getAttribute("data-live-url");
    setInterval(function () { poll(url); }, POLL_MS);
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a.step-link") : null;
      if (!link || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
      event.preventDefault();
      var href = link.getAttribute("href");
      loadPanel(href).then(function () { history.replaceState(null, "", href); });
      document.querySelectorAll(".step.selected").forEach(function (g) { g.classList.remove("selected"); });
      var g = link.querySelector(".step");
      if (g) { g.classList.add("selected"); }
    });
  });
})();
