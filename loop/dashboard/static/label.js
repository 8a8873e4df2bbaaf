// The labelling view without the mouse: a = A better, t = tie, b = B better (not while typing in a field).
(function () {
  "use strict";
  var form = document.getElementById("label-form");
  if (!form) return;
  var keys = { a: "A", t: "tie", b: "B" };
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "SELECT" || tag === "INPUT" || tag === "TEXTAREA") return;
    var pick = keys[ev.key];
    if (!pick) return;
    ev.preventDefault();
    document.getElementById("pick").value = pick;
    form.submit();
  });
})();
