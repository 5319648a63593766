// Draws the report's charts from the JSON embedded in the page: plain SVG, no libraries, no
// network. Each chart marks itself data-rendered="true" with its number of marks, or
// data-error with the message when drawing failed, so a browser test can tell.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#3b6fb6", "#e07b39", "#4a9c5d", "#b8474a", "#7d5ba6", "#8c6d46"];
  const W = 720, H = 300, M = { top: 20, right: 20, bottom: 70, left: 70 };

  function el(name, attrs, parent, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function svgIn(figure) {
    return el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" }, figure);
  }

  function legend(svg, names) {
    names.forEach((name, i) => {
      const x = M.left + i * 160;
      el("rect", { x, y: H - 18, width: 12, height: 12, fill: COLORS[i % COLORS.length] }, svg);
      el("text", { x: x + 16, y: H - 8, "font-size": 12 }, svg, name);
    });
  }

  function yAxis(svg, top, format, label) {
    const plotH = H - M.top - M.bottom;
    for (let i = 0; i <= 4; i++) {
      const y = M.top + plotH - (plotH * i) / 4;
      el("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, stroke: "#ddd" }, svg);
      el("text", { x: M.left - 6, y: y + 4, "text-anchor": "end", "font-size": 11 }, svg,
        format((top * i) / 4));
    }
    el("text", { x: 14, y: M.top + plotH / 2, "font-size": 12,
      transform: `rotate(-90 14 ${M.top + plotH / 2})`, "text-anchor": "middle" }, svg, label);
  }

  // categories along x, one bar per series in each category.
  function groupedBars(figure, spec) {
    const svg = svgIn(figure);
    const values = spec.series.flatMap((s) => s.values.filter((v) => v !== null));
    const highest = Math.max(...values, 1e-12);
    // Counts get whole-number ticks (four steps); other figures 10% of headroom.
    const top = spec.max || (spec.integer ? 4 * Math.ceil((highest * 1.05) / 4) : highest * 1.1);
    const plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
    yAxis(svg, top, spec.format, spec.yLabel);
    const slot = plotW / Math.max(spec.categories.length, 1);
    const barW = (slot * 0.8) / Math.max(spec.series.length, 1);
    let marks = 0;
    spec.categories.forEach((category, c) => {
      const x0 = M.left + c * slot + slot * 0.1;
      spec.series.forEach((series, s) => {
        const value = series.values[c];
        if (value === null || value === undefined) return;
        const h = (plotH * value) / top;
        const bar = el("rect", { x: x0 + s * barW, y: M.top + plotH - h, width: barW - 1,
          height: Math.max(h, 0.5), fill: COLORS[s % COLORS.length], class: "mark" }, svg);
        el("title", {}, bar, `${series.name} / ${category}: ${spec.format(value)}`);
        marks++;
      });
      if (spec.categories.length <= 24 || c % 2 === 0) {
        el("text", { x: x0 + slot * 0.4, y: H - M.bottom + 14, "font-size": 10,
          "text-anchor": "end", transform: `rotate(-30 ${x0 + slot * 0.4} ${H - M.bottom + 14})` },
          svg, category);
      }
    });
    legend(svg, spec.series.map((s) => s.name));
    return marks;
  }

  // One lane per path/task type, a dot per rollback event at its time.
  function timeline(figure, spec) {
    const svg = svgIn(figure);
    const lanes = [...new Set(spec.events.map((e) => e.lane))];
    const times = spec.events.map((e) => Date.parse(e.at));
    const t0 = Math.min(...times, Date.parse(spec.start || spec.end)), t1 = Date.parse(spec.end);
    const span = Math.max(t1 - t0, 1), plotW = W - M.left - 150 - M.right;
    const laneH = (H - M.top - M.bottom) / Math.max(lanes.length, 1);
    lanes.forEach((lane, i) => {
      const y = M.top + laneH * (i + 0.5);
      el("line", { x1: M.left + 150, x2: W - M.right, y1: y, y2: y, stroke: "#ddd" }, svg);
      el("text", { x: M.left + 144, y: y + 4, "text-anchor": "end", "font-size": 11 }, svg, lane);
    });
    const states = [...new Set(spec.events.map((e) => e.to))];
    spec.events.forEach((event, i) => {
      const x = M.left + 150 + (plotW * (times[i] - t0)) / span;
      const y = M.top + laneH * (lanes.indexOf(event.lane) + 0.5);
      const dot = el("circle", { cx: x, cy: y, r: 6, class: "mark",
        fill: COLORS[states.indexOf(event.to) % COLORS.length] }, svg);
      el("title", {}, dot, `${event.at} ${event.lane}: ${event.from} -> ${event.to} (${event.reason})`);
    });
    el("text", { x: M.left + 150, y: H - M.bottom + 16, "font-size": 11 }, svg,
      new Date(t0).toISOString().replace("T", " ").slice(0, 19));
    el("text", { x: W - M.right, y: H - M.bottom + 16, "font-size": 11, "text-anchor": "end" },
      svg, new Date(t1).toISOString().replace("T", " ").slice(0, 19));
    legend(svg, states.map((s) => `to ${s}`));
    return spec.events.length;
  }

  // Time along x (hours), a line per series; a null value is a gap in its line.
  function lines(figure, spec) {
    const svg = svgIn(figure);
    const values = spec.series.flatMap((s) => s.values.filter((v) => v !== null));
    const top = spec.format === percent ? 1 : Math.max(...values, 1e-12) * 1.1;
    const plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
    yAxis(svg, top, spec.format, spec.yLabel);
    const times = spec.times.map((t) => Date.parse(t));
    const t0 = times[0], span = Math.max(times[times.length - 1] - t0, 1);
    const x = (i) => M.left + (times.length === 1 ? plotW / 2 : (plotW * (times[i] - t0)) / span);
    const y = (v) => M.top + plotH - (plotH * v) / top;
    let marks = 0;
    spec.series.forEach((series, s) => {
      const color = COLORS[s % COLORS.length];
      let d = "";
      series.values.forEach((value, i) => {
        if (value === null) { d += " "; return; }
        d += `${d.endsWith(" ") || d === "" ? "M" : "L"}${x(i).toFixed(1)},${y(value).toFixed(1)}`;
        const dot = el("circle", { cx: x(i), cy: y(value), r: 3, fill: color, class: "mark" }, svg);
        el("title", {}, dot, `${series.name} ${spec.times[i]}: ${spec.format(value)}`);
        marks++;
      });
      el("path", { d: d.trim().replace(/ +/g, " "), fill: "none", stroke: color }, svg);
    });
    el("text", { x: M.left, y: H - M.bottom + 16, "font-size": 11 }, svg,
      spec.times[0].replace("T", " ").slice(0, 16));
    el("text", { x: W - M.right, y: H - M.bottom + 16, "font-size": 11, "text-anchor": "end" },
      svg, spec.times[spec.times.length - 1].replace("T", " ").slice(0, 16));
    legend(svg, spec.series.map((s) => s.name));
    return marks;
  }

  const percent = (v) => `${Math.round(v * 100)}%`;
  const seconds = (v) => `${v.toFixed(v < 10 ? 2 : 0)} s`;
  const money = (v) => v.toPrecision(3);
  const count = (v) => `${Math.round(v)}`;
  const draw = { groupedBars, timeline, lines };
  const formats = { percent, seconds, money, count };

  const data = JSON.parse(document.getElementById("report-data").textContent);
  for (const figure of document.querySelectorAll("figure[data-chart]")) {
    const spec = data.charts[figure.dataset.chart];
    try {
      if (spec.empty) {
        const note = document.createElement("p");
        note.className = "empty";
        note.textContent = spec.empty;
        figure.appendChild(note);
        figure.dataset.marks = "0";
      } else {
        spec.integer = (spec.format || "count") === "count";
        spec.format = formats[spec.format || "count"];
        figure.dataset.marks = String(draw[spec.kind](figure, spec));
      }
      figure.dataset.rendered = "true";
    } catch (error) {
      figure.dataset.error = String(error);
    }
  }
})();
