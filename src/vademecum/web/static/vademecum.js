// Citations open the passage they quote in place: fetched from /passages/{id}, shown right after the
// sentence or bullet, closed by the button, by Escape or by activating the citation again. Without
// JavaScript a citation is a plain link to its reference.
(function () {
  "use strict";

  function container(link) {
    return link.closest("li, p, blockquote") || link.parentElement;
  }

  // The quoted sentence's offsets inside the passage, from the sentence spans beside the citation.
  function offsets(link, passageId) {
    var span = container(link).querySelector('.sentence[data-key="ev-' + passageId + '"]');
    if (!span) return "";
    return "?start=" + encodeURIComponent(span.dataset.start) + "&end=" + encodeURIComponent(span.dataset.end);
  }

  function close(panel, link, restoreFocus) {
    panel.remove();
    link.setAttribute("aria-expanded", "false");
    link.removeAttribute("aria-controls");
    if (restoreFocus) link.focus();
  }

  var counter = 0;

  function open(link) {
    var passageId = link.dataset.passage;
    var existing = document.getElementById(link.getAttribute("aria-controls") || "");
    if (existing) {
      close(existing, link, true);
      return;
    }
    var panel = document.createElement("section");
    panel.className = "passage-panel";
    panel.id = "passage-panel-" + ++counter;
    panel.tabIndex = -1;
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", "Quoted passage for reference " + link.textContent);
    panel.setAttribute("aria-busy", "true");
    panel.innerHTML = '<div class="passage-head"><strong>Source passage</strong>' +
      '<button type="button" class="passage-close">Close</button></div><p class="passage-loading">Loading…</p>';
    var place = container(link);
    if (place.tagName === "LI") place.appendChild(panel); else place.insertAdjacentElement("afterend", panel);
    link.setAttribute("aria-expanded", "true");
    link.setAttribute("aria-controls", panel.id);
    panel.querySelector(".passage-close").addEventListener("click", function () { close(panel, link, true); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); close(panel, link, true); }
    });
    fetch("/passages/" + encodeURIComponent(passageId) + offsets(link, passageId), { headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("the passage could not be loaded (" + response.status + ")");
        return response.text();
      })
      .then(function (html) {
        // The fragment is rendered by our server with every source string escaped.
        panel.querySelector(".passage-loading").outerHTML = html;
      })
      .catch(function (error) {
        var loading = panel.querySelector(".passage-loading");
        if (loading) { loading.className = "error"; loading.textContent = error.message; }
      })
      .finally(function () {
        panel.removeAttribute("aria-busy");
        panel.focus();
      });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("sup.cite a[data-passage]");
    if (!link || !link.dataset.passage || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    open(link);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("sup.cite a[data-passage]").forEach(function (link) {
      if (link.dataset.passage) link.setAttribute("aria-expanded", "false");
    });
  });
})();
