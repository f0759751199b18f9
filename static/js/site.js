// newsarchive: small progressive enhancements. Every page works without this file.
//  1. The filters panel (a <details data-open-wide>) is open whenever it stands beside the
//     results, so assistive technology reads it as open; on phones it starts closed.
//  2. The search box (data-suggest) lists matching titles from the JSON API as you type.
//  3. Empty fields are left out of a submitted search, so its URL stays short and shareable.
// Nothing submits a form by itself: the sort menu and the filters change the page only when
// their button is pressed, so looking through them (arrow keys, ticking boxes) is safe.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var WIDE = window.matchMedia ? window.matchMedia("(min-width: 56rem)") : null;

  function openWhenWide() {
    if (!WIDE || !WIDE.matches) return;
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) {
      details.open = true;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "search-form") return;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && field.value === "" && !field.disabled) {
        field.disabled = true;
        field.setAttribute("data-was-empty", "");
      }
    });
  });

  // Coming back with the Back button restores the page as it was left: re-enable those fields.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-was-empty]").forEach(function (field) {
      field.disabled = false;
      field.removeAttribute("data-was-empty");
    });
  });

  function suggest(input) {
    var box = document.getElementById(input.getAttribute("aria-controls"));
    if (!box) return;
    var timer = null;
    var latest = 0;

    function clear() { box.replaceChildren(); }

    function show(data, asked) {
      if (asked !== latest) return; // an older, slower answer
      clear();
      if (!data.results || !data.results.length) return;
      var note = document.createElement("p");
      note.textContent = data.total + (data.total === 1 ? " article matches" : " articles match") + ". Top titles:";
      var list = document.createElement("ul");
      data.results.forEach(function (hit) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = hit.url;
        link.textContent = hit.title; // text, never HTML
        item.appendChild(link);
        list.appendChild(item);
      });
      box.appendChild(note);
      box.appendChild(list);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 3) { latest += 1; clear(); return; }
      timer = setTimeout(function () {
        var asked = ++latest;
        var url = input.getAttribute("data-suggest") + "?per_page=5&q=" + encodeURIComponent(q);
        fetch(url, { headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (data) { if (data) show(data, asked); else if (asked === latest) clear(); })
          .catch(function () { if (asked === latest) clear(); });
      }, 250);
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { latest += 1; clear(); }
    });
  }

  function start() {
    openWhenWide();
    if (WIDE && WIDE.addEventListener) WIDE.addEventListener("change", openWhenWide);
    document.querySelectorAll("input[data-suggest]").forEach(suggest);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
