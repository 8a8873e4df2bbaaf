/* autoresearch report: draws the climb from the data embedded in the page (no network, no framework).
   Every text from the record reaches the page through plotly or textContent, never innerHTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var p = data.points;
  var STATUSES = ["kept", "discarded", "invalid", "crashed", "running"];
  var SYMBOLS = { kept: "diamond", discarded: "circle", invalid: "x", crashed: "triangle-down", running: "circle-open" };
  var COLORS = { kept: "#16a34a", discarded: "#64748b", invalid: "#dc2626", crashed: "#92400e", running: "#2563eb" };

  function hover(i) {
    var q = p.quality[i] === null ? "unscored" : "quality " + p.quality[i].toFixed(3);
    return "#" + p.number[i] + " " + p.status[i] + " · " + p.lever[i] + "<br>" + q + "<br>" +
      String(p.hypothesis[i] || "").replace(/[<>&]/g, " ");
  }

  function climb() {
    var traces = [], kind = p.number.length > 1500 ? "scattergl" : "scatter";  // WebGL only when SVG would crawl
    STATUSES.forEach(function (status) {
      var x = [], y = [], text = [];
      for (var i = 0; i < p.number.length; i++) {
        if (p.status[i] !== status) continue;
        x.push(p.number[i]); y.push(p.quality[i] === null ? 0 : p.quality[i]); text.push(hover(i));
      }
      if (!x.length) return;
      traces.push({ type: kind, mode: "markers", name: status, x: x, y: y, customdata: x, hovertext: text,
        hoverinfo: "text", meta: { status: status, series: "quality" },
        marker: { symbol: SYMBOLS[status], size: status === "kept" ? 11 : 7, color: COLORS[status],
          opacity: status === "discarded" ? 0.65 : 1 } });
    });
    var bx = [], by = [], hi = [], lo = [], best = null, floor = null;
    for (var j = 0; j < p.number.length; j++) {
      if (p.noise_floor[j] !== null) floor = p.noise_floor[j];
      if (p.status[j] === "kept" && p.quality[j] !== null) best = p.quality[j];
      if (best === null) continue;
      bx.push(p.number[j]); by.push(best);
      hi.push(floor === null ? null : best + floor); lo.push(floor === null ? null : best - floor);
    }
    if (hi.some(function (v) { return v !== null; })) {
      traces.push({ type: "scatter", mode: "lines", name: "noise band", x: bx, y: lo, line: { width: 0, shape: "hv" },
        hoverinfo: "skip", showlegend: false, meta: { status: "noise-low", series: "quality" } });
      traces.push({ type: "scatter", mode: "lines", name: "noise band (best ± floor)", x: bx, y: hi, fill: "tonexty",
        fillcolor: "rgba(100,116,139,0.18)", line: { width: 0, shape: "hv" }, hoverinfo: "skip",
        meta: { status: "noise-high", series: "quality" } });
    }
    traces.push({ type: "scatter", mode: "lines", name: "running best", x: bx, y: by, hoverinfo: "skip",
      line: { shape: "hv", color: "#111827", width: 2 }, meta: { status: "best", series: "quality" } });
    var shapes = [], notes = [];
    data.line_changes.forEach(function (c) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: c.number - 0.5, x1: c.number - 0.5, y0: 0, y1: 1,
        line: { color: "#7c3aed", width: 1.5, dash: "dash" } });
      notes.push({ xref: "x", yref: "paper", x: c.number - 0.5, y: 1, yanchor: "bottom", showarrow: false,
        text: "model line", font: { size: 11, color: "#7c3aed" } });
    });
    var layout = { margin: { l: 60, r: 20, t: 24, b: 40 }, height: 440, hovermode: "closest", shapes: shapes,
      annotations: notes, legend: { orientation: "h", y: -0.14 }, paper_bgcolor: "rgba(0,0,0,0)",
      xaxis: { title: { text: "experiment" } }, yaxis: { title: { text: "quality" }, range: [0, 1] } };
    var div = document.getElementById("climb");
    Plotly.newPlot(div, traces, layout, { displaylogo: false, displayModeBar: false }).then(function () {
      document.body.dataset.climb = "drawn";
    });
    div.on("plotly_click", function (ev) {
      var pt = ev.points && ev.points[0];
      if (pt && typeof pt.customdata === "number") window.location.hash = "exp-" + pt.customdata;
    });
  }

  climb();
})();
