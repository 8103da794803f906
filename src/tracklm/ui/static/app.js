// tracklm ui: charts (uPlot) and small conveniences. Data comes from JSON endpoints and from
// <script type="application/json" id="page-data">; nothing logged is ever run as code.
"use strict";

(function () {
  const COLORS = ["#2f5fd0", "#d9480f", "#2b8a3e", "#862e9c", "#0b7285"];

  function pageData() {
    const el = document.getElementById("page-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  function plotWidth(figure) {
    return Math.max(320, figure.querySelector(".plot").clientWidth || figure.clientWidth - 16);
  }

  function note(figure, sample, extra) {
    const el = figure.querySelector(".chart-note");
    if (!el) return;
    const shown = sample.value.length;
    el.textContent = sample.total > shown
      ? shown + " of " + sample.total.toLocaleString() + " points shown (lowest and highest of each stretch kept)" + (extra || "")
      : sample.total.toLocaleString() + " points" + (extra || "");
  }

  // -- a run's charts: one per metric, over steps or over time; zoom fetches detail ----------
  function runCharts(data) {
    const figures = document.querySelectorAll("figure.chart:not(.compare-chart)");
    if (!figures.length || typeof uPlot === "undefined") return;
    let axis = "step";
    const charts = [];

    function draw(figure, sample) {
      const plot = figure.querySelector(".plot");
      const previous = charts.find(function (c) { return c.figure === figure; });
      if (previous) { previous.chart.destroy(); charts.splice(charts.indexOf(previous), 1); }
      plot.textContent = "";
      const xs = axis === "time" ? sample.time : sample.step;
      const opts = {
        width: plotWidth(figure),
        height: 220,
        scales: { x: { time: axis === "time" } },
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
        axes: [{ label: axis === "time" ? "time" : "step" }, {}],
        series: [{ label: axis }, { label: sample.key, stroke: COLORS[0], width: 1.5, points: { show: xs.length < 200 } }],
        hooks: { setSelect: [function (u) { zoom(figure, u); }] },
      };
      const chart = new uPlot(opts, [xs, sample.value], plot);
      charts.push({ figure: figure, chart: chart, sample: sample });
      note(figure, sample);
    }

    function zoom(figure, u) {
      if (u.select.width < 2) return;
      const lo = u.posToVal(u.select.left, "x");
      const hi = u.posToVal(u.select.left + u.select.width, "x");
      u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
      const entry = charts.find(function (c) { return c.figure === figure; });
      const full = entry.full || entry.sample;
      // the steps in the selected range (time axis: the steps whose time falls in it)
      const xs = axis === "time" ? full.time : full.step;
      let first = null, last = null;
      for (let i = 0; i < xs.length; i++) {
        if (xs[i] >= lo && xs[i] <= hi) { if (first === null) first = full.step[i]; last = full.step[i]; }
      }
      if (first === null) return;
      const url = data.api + encodeURIComponent(figure.dataset.key) + "?min_step=" + first + "&max_step=" + last;
      getJSON(url).then(function (sample) {
        sample.key = figure.dataset.key;
        draw(figure, sample);
        charts[charts.length - 1].full = full;
        note(figure, sample, " · zoomed in; double-click for all");
      });
    }

    figures.forEach(function (figure) {
      const key = figure.dataset.key;
      getJSON(data.api + encodeURIComponent(key)).then(function (sample) {
        sample.key = key;
        draw(figure, sample);
        figure.querySelector(".plot").addEventListener("dblclick", function () {
          const entry = charts.find(function (c) { return c.figure === figure; });
          if (entry && entry.full) draw(figure, entry.full);
        });
      }).catch(function (err) { figure.querySelector(".chart-note").textContent = "could not load: " + err.message; });
    });

    document.querySelectorAll("[data-axis]").forEach(function (button) {
      button.addEventListener("click", function () {
        axis = button.dataset.axis;
        document.querySelectorAll("[data-axis]").forEach(function (b) { b.classList.toggle("on", b === button); });
        charts.slice().forEach(function (c) { draw(c.figure, c.full || c.sample); });
      });
    });
  }

  // -- compared runs: each metric overlaid, one series per run, aligned on steps ------------
  function compareCharts(data) {
    const figures = document.querySelectorAll("figure.compare-chart");
    if (!figures.length || typeof uPlot === "undefined") return;
    const query = data.runs.map(function (r) { return "run=" + encodeURIComponent(r.id); }).join("&");
    figures.forEach(function (figure) {
      const key = figure.dataset.key;
      getJSON(data.api + encodeURIComponent(key) + "?" + query).then(function (result) {
        const tables = result.runs.map(function (r) { return [r.step, r.value]; });
        const aligned = uPlot.join(tables);
        const series = [{ label: "step" }].concat(result.runs.map(function (r, i) {
          return { label: data.runs[i].name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true };
        }));
        const plot = figure.querySelector(".plot");
        new uPlot({ width: plotWidth(figure), height: 220, scales: { x: { time: false } }, series: series }, aligned, plot);
        const total = result.runs.reduce(function (n, r) { return n + r.total; }, 0);
        figure.querySelector(".chart-note").textContent = total.toLocaleString() + " points in all";
      }).catch(function (err) { figure.querySelector(".chart-note").textContent = "could not load: " + err.message; });
    });
  }

  // -- forms ---------------------------------------------------------------------------------
  function forms() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        const page = select.form.querySelector("input[name=page]");
        if (page) page.remove();
        select.form.submit();
      });
    });
    const compare = document.getElementById("compare-form");
    if (compare) {
      const button = document.getElementById("compare-button");
      const update = function () {
        const n = compare.querySelectorAll("input[name=run]:checked").length;
        button.disabled = n < 2 || n > 5;
      };
      compare.addEventListener("change", update);
      update();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    forms();
    const data = pageData();
    if (!data) return;
    if (data.runs) compareCharts(data); else runCharts(data);
  });
})();
