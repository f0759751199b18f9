// newsarchive: the "Copy" buttons of an article's citation. Without this file the citation is
// still there to select and copy by hand; the buttons stay hidden.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select the text to copy it"; }
      );
      window.setTimeout(function () { button.textContent = label; }, 2500);
    });
  });
})();
