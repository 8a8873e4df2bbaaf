/* autoresearch dashboard: polls /api/data (ETag, 304 when nothing changed) and redraws with plotly.js.
   No framework; every text from the record goes in through textContent or plotly (never innerHTML). */
(function () {
  "use strict";
  var POLL_MS = 4000;
  var LEVER_COLORS = { inference: "#2563eb", sft: "#ea580c", orpo: "#16a34a" };
  var SYMBOLS = { kept: "diamond", discarded: "circle", invalid: "x", crashed: "triangle-down", running: "circle-open" };
  var STATUSES = ["kept", "discarded", "invalid", "crashed", "running"];
  var LABELS = { quality: "quality", atomicity: "atomicity", specificity: "specificity", coverage: "coverage",
    naturalness: "naturalness", non_redundancy: "non-redundancy", wins: "wins", ties: "ties", losses: "losses" };
  var body = document.body;
  var state = { data: null, etag: null, metric: "quality", first: "", last: "" };
  var ruler = body.dataset.ruler || "";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setLive(ok, text) {
    var live = document.getElementById("live");
    if (!live) return;
    live.className = ok ? "live" : "live off";
    live.textContent = ok ? "live · " + new Date().toLocaleTimeString() : text;
  }

  function dataUrl(path) {
    return path + (ruler ? "?ruler=" + encodeURIComponent(ruler) : "");
  }

  function poll() {
    var headers = state.etag ? { "If-None-Match": state.etag } : {};
    fetch(dataUrl("/api/data"), { headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 304) { setLive(true); return null; }
      if (!r.ok) { setLive(false, "record unavailable (HTTP " + r.status + ")"); return null; }
      state.etag = r.headers.get("ETag");
      return r.json();
    }).then(function (data) {
      if (!data) return;
      if (body.dataset.page === "empty") { if (data.count > 0) window.location.reload(); return; }
      state.data = data;
      setLive(true);
      render();
      loadMatrix();
    }).catch(function () { setLive(false, "dashboard server unreachable"); })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  function seriesFor(metric) {
    return metric === "wtl" ? ["wins", "ties", "losses"] : [metric];
  }

  function hoverText(p, i) {
    var q = p.quality[i] === null ? "unscored" : "quality " + p.quality[i].toFixed(3);
    var wtl = p.wins[i] === null ? "" : " · W/T/L " + p.wins[i] + "/" + p.ties[i] + "/" + p.losses[i];
    return "#" + p.number[i] + " " + p.status[i] + " · " + p.lever[i] + " / " + p.operator[i] + "<br>" + q + wtl +
      "<br>" + String(p.hypothesis[i] || "").replace(/[<>&]/g, " ");
  }

  function mainFigure(d, metric) {
    var p = d.points, keys = seriesFor(metric), traces = [], rows = keys.length;
    var texts = p.number.map(function (_, i) { return hoverText(p, i); });
    var layout = { margin: { l: 60, r: 20, t: 10, b: 40 }, hovermode: "closest", uirevision: metric,
      legend: { orientation: "h", y: -0.12 }, xaxis: { title: { text: "experiment" } }, paper_bgcolor: "rgba(0,0,0,0)" };
    keys.forEach(function (key, row) {
      var axis = row === 0 ? "" : String(row + 1);
      var gap = 0.06, h = (1 - gap * (rows - 1)) / rows, top = 1 - row * (h + gap);
      layout["yaxis" + axis] = { title: { text: LABELS[key] }, domain: [top - h, top], zeroline: false,
        range: key === "quality" ? [0, 1] : (["wins", "ties", "losses"].indexOf(key) >= 0 ? [-1, 31] : [0.8, 5.2]) };
      if (row > 0) layout["yaxis" + axis].anchor = "x";
      STATUSES.forEach(function (status) {
        var x = [], y = [], color = [], lw = [], text = [], num = [];
        for (var i = 0; i < p.number.length; i++) {
          if (p.status[i] !== status) continue;
          x.push(p.number[i]); num.push(p.number[i]); text.push(texts[i]);
          y.push(p[key][i] === null ? 0 : p[key][i]);
          color.push(LEVER_COLORS[p.lever[i]] || "#6b7280");
          lw.push(p.operator[i] === "interactive" ? 2 : 0);
        }
        if (!x.length) return;
        traces.push({ type: "scattergl", mode: "markers", name: status, legendgroup: status, showlegend: row === 0,
          x: x, y: y, customdata: num, hovertext: text, hoverinfo: "text", yaxis: "y" + axis,
          meta: { status: status, series: key },
          marker: { symbol: SYMBOLS[status] || "circle", size: status === "kept" ? 11 : 8, color: color,
            opacity: status === "discarded" ? 0.7 : 1, line: { width: lw, color: "#111827" } } });
      });
      var bx = [], by = [], best = null;
      for (var j = 0; j < p.number.length; j++) {
        if (p.status[j] === "kept" && p[key][j] !== null) best = p[key][j];
        if (best !== null) { bx.push(p.number[j]); by.push(best); }
      }
      traces.push({ type: "scattergl", mode: "lines", name: "running best", legendgroup: "best", showlegend: row === 0,
        x: bx, y: by, yaxis: "y" + axis, line: { shape: "hv", color: "#111827", width: 2 }, hoverinfo: "skip",
        meta: { status: "best", series: key } });
      if (key === "quality") holdoutTraces(p, axis).forEach(function (t) { traces.push(t); });
      referenceLines(d.references || [], key, axis, layout);
    });
    layout.height = rows === 1 ? 440 : 620;
    return { traces: traces, layout: layout };
  }

  // the cloud ceiling: each stored reference (a cloud model as the candidate, same harness) as a labelled
  // horizontal line on its series; a layout shape, never a trace, so it is no point of the on-device record
  function referenceLines(refs, key, axis, layout) {
    refs.forEach(function (r) {
      var v = key === "quality" ? r.quality : (["wins", "ties", "losses"].indexOf(key) >= 0 ? r[key] : r.dims[key]);
      if (typeof v !== "number") return;
      var label = String(r.model).replace(/[<>&]/g, " ") + " · cloud ceiling" + (r.gate === "full" ? "" : " (" +
        r.gate + " gate)") + " " + (key === "quality" ? v.toFixed(3) : String(Math.round(v * 100) / 100));
      var dash = r.gate === "full" ? "dash" : "dot";
      layout.shapes = layout.shapes || []; layout.annotations = layout.annotations || [];
      layout.shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, yref: "y" + axis, y0: v, y1: v, layer: "below",
        name: "reference " + r.model + " " + r.gate, line: { color: "#7c3aed", width: 1.5, dash: dash } });
      layout.annotations.push({ xref: "paper", x: 0, xanchor: "left", yref: "y" + axis, y: v, yanchor: "bottom",
        text: label, showarrow: false, font: { size: 11, color: "#7c3aed" }, name: "reference " + r.model + " " + r.gate });
    });
  }

  // the sealed holdout beside the ruler: each new best's holdout quality and the best's holdout as a line
  function holdoutTraces(p, axis) {
    var x = [], y = [], text = [], color = [], lx = [], ly = [], last = null;
    for (var i = 0; i < p.number.length; i++) {
      var h = p.holdout_quality ? p.holdout_quality[i] : null;
      if (p.status[i] === "kept" && h !== null && h !== undefined) {
        last = h; x.push(p.number[i]); y.push(h);
        color.push(p.suspected_overfit[i] ? "#dc2626" : "#0891b2");
        text.push("#" + p.number[i] + " holdout " + h.toFixed(3) + ", Goodhart gap " + p.goodhart_gap[i].toFixed(3) +
          ", drift " + p.goodhart_drift[i].toFixed(3) + (p.suspected_overfit[i] ? " — suspected overfit" : ""));
      }
      if (last !== null) { lx.push(p.number[i]); ly.push(last); }
    }
    if (!x.length) return [];
    return [
      { type: "scattergl", mode: "markers", name: "holdout (new bests)", legendgroup: "holdout", x: x, y: y,
        yaxis: "y" + axis, hovertext: text, hoverinfo: "text", meta: { status: "holdout", series: "quality" },
        marker: { symbol: "square", size: 9, color: color } },
      { type: "scattergl", mode: "lines", name: "holdout of the running best", legendgroup: "holdout", x: lx, y: ly,
        yaxis: "y" + axis, line: { shape: "hv", color: "#0891b2", width: 2, dash: "dot" }, hoverinfo: "skip",
        meta: { status: "holdout-best", series: "quality" } }];
  }

  function card(label, value, note) {
    var c = el("div", "card");
    c.appendChild(el("div", "label", label));
    c.appendChild(el("div", "value", value));
    if (note) c.appendChild(el("div", "note", note));
    return c;
  }

  function renderCards(d) {
    var p = d.points, cards = document.getElementById("cards"), kept = 0, best = null, bestN = null;
    for (var i = 0; i < p.number.length; i++) {
      if (p.status[i] === "kept") { kept++; if (p.quality[i] !== null) { best = p.quality[i]; bestN = p.number[i]; } }
    }
    var last = p.number.length ? "#" + p.number[p.number.length - 1] + " " + p.status[p.number.length - 1] : "—";
    var open = d.requests.filter(function (r) { return r.status === "open"; }).length;
    cards.replaceChildren(
      card("experiments (this ruler)", p.number.length, d.count + " in the whole record"),
      card("kept", kept, last ? "latest: " + last : ""),
      card("running best", best === null ? "—" : best.toFixed(3), bestN ? "experiment #" + bestN : ""),
      card("agent cost tonight", "$" + d.costs.night_usd.toFixed(2), d.costs.night_experiments + " experiments, last 24 h"),
      card("agent cost, whole record", "$" + d.costs.total_usd.toFixed(2)),
      card("judge cost tonight", "$" + d.costs.night_judge_usd.toFixed(2), "tokens and cache reads priced"),
      card("judge cost, whole record", "$" + d.costs.judge_total_usd.toFixed(2)),
      card("open training requests", open, d.requests.length - open + " answered or declined"),
      card("keep tests tonight", d.decisions.keep_tests, d.decisions.expected_false_keeps.toFixed(3) +
        " false keeps expected under the null at " + (100 * d.decisions.confidence).toFixed(1) + "%; " +
        d.decisions.rejected_by_confirmation + " rejected by confirmation"));
    if (d.model_changes && d.model_changes.length) {
      var change = d.model_changes[0];
      cards.appendChild(card("model line", "changed", change.at + ": " + change.message));
    }
    if (d.judge_drifts && d.judge_drifts.length) {
      var drift = d.judge_drifts[0];
      var marked = card("judge drift", "flagged", drift.at + ": " + drift.message);
      marked.id = "judge-drift"; marked.classList.add("warn");
      cards.appendChild(marked);
    }
  }

  function renderLegend() {
    var legend = document.getElementById("legend");
    var parts = [];
    Object.keys(LEVER_COLORS).forEach(function (lever) {
      var s = el("span", "swatch"); s.style.background = LEVER_COLORS[lever];
      var item = el("span", "item"); item.appendChild(s); item.appendChild(document.createTextNode(lever));
      parts.push(item);
    });
    parts.push(el("span", "item", "outlined = interactive, plain = autonomous · ◆ kept ● discarded × invalid ▼ crashed"));
    legend.replaceChildren.apply(legend, parts);
  }

  function renderCost(d) {
    var p = d.points, x = [], y = [], color = [];
    for (var i = 0; i < p.number.length; i++) {
      if (p.cost[i] === null) continue;
      x.push(p.number[i]); y.push(p.cost[i]); color.push(LEVER_COLORS[p.lever[i]] || "#6b7280");
    }
    var trace = x.length > 3000 ? { type: "scattergl", mode: "markers", marker: { color: color, size: 4 } }
      : { type: "bar", marker: { color: color } };
    trace.x = x; trace.y = y; trace.customdata = x; trace.hovertemplate = "#%{x}: $%{y:.3f}<extra></extra>";
    Plotly.react("chart-cost", [trace], { margin: { l: 60, r: 20, t: 10, b: 40 }, height: 220, uirevision: "cost",
      yaxis: { title: { text: "USD" } }, xaxis: { title: { text: "experiment" } }, paper_bgcolor: "rgba(0,0,0,0)" });
  }

  function requestItem(r) {
    var li = el("li", "request " + r.status);
    li.appendChild(el("strong", null, "#" + r.id + " " + r.recipe.toUpperCase() + " · " + r.status));
    if (r.experiment !== null) {
      var a = el("a", null, " experiment #" + r.experiment); a.href = "/experiments/" + r.experiment;
      li.appendChild(a);
    }
    li.appendChild(el("div", null, r.rationale));
    li.appendChild(el("div", "muted", "evidence: " + r.evidence));
    if (r.answer) li.appendChild(el("div", "answer", "answer: " + r.answer + (r.path ? " (" + r.path + ")" : "")));
    if (r.adapter && r.answer_experiment !== null) {  // request → adapter → experiment → quality
      var chain = el("div", "answer", "adapter " + r.adapter.slice(0, 12) + " → ");
      var e = el("a", null, "experiment #" + r.answer_experiment); e.href = "/experiments/" + r.answer_experiment;
      chain.appendChild(e);
      chain.appendChild(document.createTextNode(" (" + r.answer_status + ") → quality " +
        (r.answer_quality === null ? "–" : r.answer_quality.toFixed(3))));
      li.appendChild(chain);
    }
    return li;
  }

  function renderRequests(d) {
    var box = document.getElementById("requests"), parts = [];
    [["open", ["open"]], ["answered", ["answered", "declined"]]].forEach(function (group) {
      var items = d.requests.filter(function (r) { return group[1].indexOf(r.status) >= 0; });
      parts.push(el("h3", null, group[0] + " (" + items.length + ")"));
      var ul = el("ul", "requests " + group[0]);
      items.forEach(function (r) { ul.appendChild(requestItem(r)); });
      if (!items.length) ul.appendChild(el("li", "muted", "none"));
      parts.push(ul);
    });
    box.replaceChildren.apply(box, parts);
  }

  function render() {
    var d = state.data, fig = mainFigure(d, state.metric);
    renderCards(d);
    Plotly.react("chart-main", fig.traces, fig.layout, { displaylogo: false, responsive: true });
    renderCost(d);
    renderRequests(d);
  }

  function loadMatrix() {
    var q = [];
    if (ruler) q.push("ruler=" + encodeURIComponent(ruler));
    if (state.first) q.push("first=" + encodeURIComponent(state.first));
    if (state.last) q.push("last=" + encodeURIComponent(state.last));
    fetch("/api/matrix" + (q.length ? "?" + q.join("&") : ""), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (m) {
        if (!m) return;
        var labels = m.cases.map(function (c, i) { return c + " · " + String(m.tasks[i]).slice(0, 28); });
        Plotly.react("chart-matrix", [{ type: "heatmap", x: m.x, y: labels, z: m.z, zmid: 0, zmin: -0.5, zmax: 0.5,
          colorscale: [[0, "#b91c1c"], [0.5, "#f8fafc"], [1, "#15803d"]], xgap: m.x.length < 200 ? 1 : 0,
          hovertemplate: "#%{x} · %{y}<br>Δ vs incumbent %{z:+.3f}<extra></extra>",
          colorbar: { title: { text: "Δ" } } }],
          { margin: { l: 230, r: 20, t: 10, b: 40 }, height: 640, uirevision: "matrix",
            xaxis: { title: { text: "experiment" } }, yaxis: { autorange: "reversed" },
            paper_bgcolor: "rgba(0,0,0,0)" }, { displaylogo: false, responsive: true });
      }).catch(function () { setLive(false, "matrix unavailable"); });
  }

  function openExperiment(ev) {
    var pt = ev.points && ev.points[0];
    if (!pt) return;
    var n = pt.customdata !== undefined ? pt.customdata : pt.x;
    if (typeof n === "number") window.location.href = "/experiments/" + n;
  }

  function wireOverview() {
    renderLegend();
    var select = document.getElementById("ruler-select");
    if (select) select.addEventListener("change", function () {
      window.location.search = "?ruler=" + encodeURIComponent(select.value);
    });
    document.getElementById("metrics").addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-metric]");
      if (!b || !state.data) return;
      state.metric = b.dataset.metric;
      document.querySelectorAll("#metrics button").forEach(function (x) { x.classList.toggle("on", x === b); });
      render();
    });
    document.getElementById("matrix-window").addEventListener("submit", function (ev) {
      ev.preventDefault();
      state.first = ev.target.elements.first.value; state.last = ev.target.elements.last.value;
      loadMatrix();
    });
    ["chart-main", "chart-matrix", "chart-cost"].forEach(function (id) {
      var div = document.getElementById(id);
      Plotly.newPlot(div, [], { height: 200 }, { displaylogo: false });
      div.on("plotly_click", openExperiment);
    });
  }

  function wireRulerOnly() {
    var select = document.getElementById("ruler-select");
    if (select) select.addEventListener("change", function () {
      window.location.search = "?ruler=" + encodeURIComponent(select.value);
    });
  }

  if (body.dataset.page === "overview") { wireOverview(); poll(); }
  else if (body.dataset.page === "tiles") { wireRulerOnly(); }
  else if (body.dataset.page === "empty") { poll(); }
})();
