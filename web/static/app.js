// claimrisk: the one script. Every page works without it; it only adds keyboard moves on the
// worklist: "j" / "k" go to the next / previous claim, "/" to the first filter.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var links = Array.prototype.slice.call(document.querySelectorAll("table.queue tbody td:nth-child(2) a"));
    if (event.key === "/") {
      var first = document.querySelector("form.filters select, form.filters input");
      if (first) { event.preventDefault(); first.focus(); }
      return;
    }
    if (!links.length || (event.key !== "j" && event.key !== "k")) { return; }
    var at = links.indexOf(document.activeElement);
    var next = event.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
    links[next].focus();
    event.preventDefault();
  });
}());
