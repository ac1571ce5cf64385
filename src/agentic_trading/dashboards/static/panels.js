/*
 * Panel renderers: timeseries (uPlot, with legend, units, drag-to-zoom), stat, gauge and table.
 * Each takes the panel's content element, the panel JSON and its series, already fetched:
 *   series = [{name, labels, times: [s...], values: [number|null...]}]   (range queries)
 *   series = [{name, labels, value: number|null}]                        (instant queries)
 */
"use strict";

const Panels = (() => {
  const AXIS = { stroke: "#9FA7B3", grid: { stroke: "rgba(204,204,220,0.08)", width: 1 }, ticks: { stroke: "rgba(204,204,220,0.15)", width: 1 } };

  function defaults(panel) {
    return (panel.fieldConfig && panel.fieldConfig.defaults) || {};
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function lastValue(item) {
    if (item.value !== undefined) return item.value;
    for (let i = item.values.length - 1; i >= 0; i--) if (item.values[i] !== null) return item.values[i];
    return null;
  }

  function fillRgba(hex, opacityPercent) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${(opacityPercent || 0) / 100})`;
  }

  /** Every series on one time axis (union of timestamps, gaps as null) for uPlot. */
  function align(series) {
    const stamps = Array.from(new Set(series.flatMap((s) => s.times))).sort((a, b) => a - b);
    const index = new Map(stamps.map((t, i) => [t, i]));
    const columns = series.map((s) => {
      const column = new Array(stamps.length).fill(null);
      s.times.forEach((t, i) => { column[index.get(t)] = s.values[i]; });
      return column;
    });
    return [stamps, ...columns];
  }

  async function timeseries(content, panel, series, ctx) {
    const config = defaults(panel);
    const custom = config.custom || {};
    const legend = (panel.options && panel.options.legend) || {};
    const unit = config.unit;
    const width = Math.max(content.clientWidth, 100);
    const showLegend = legend.showLegend !== false && legend.displayMode !== "hidden";
    const height = Math.max(content.clientHeight - 8, 60);
    const thresholds = config.thresholds && custom.thresholdsStyle && custom.thresholdsStyle.mode !== "off" ? config.thresholds : null;
    const opts = {
      width,
      height,
      legend: { show: showLegend, live: true },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 } },
      scales: { x: { time: true, min: ctx.start, max: ctx.end }, y: { range: (u, min, max) => yRange(config, min, max) } },
      axes: [
        { ...AXIS, space: 70, values: (u, ticks) => ticks.map((t) => clock(t, ctx.end - ctx.start)) },
        { ...AXIS, size: axisWidth, values: (u, ticks) => ticks.map((v) => Grafana.formatValue(v, unit, config.decimals)) },
      ],
      series: [
        { value: (u, v) => (v == null ? "" : new Date(v * 1000).toLocaleTimeString("en-GB")) },
        ...series.map((s, i) => {
          const stroke = Grafana.PALETTE[i % Grafana.PALETTE.length];
          return {
            label: s.name,
            stroke,
            width: custom.lineWidth || 1,
            fill: custom.fillOpacity ? fillRgba(stroke, custom.fillOpacity) : undefined,
            spanGaps: Boolean(custom.spanNulls),
            points: { show: custom.showPoints === "always" },
            // Off the chart the legend shows each series' last value, as Grafana's "Last" column.
            value: (u, v, seriesIdx, idx) => Grafana.formatValue(idx == null ? lastValue(s) : v, unit, config.decimals),
          };
        }),
      ],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 5) return;
          const from = u.posToVal(u.select.left, "x");
          const to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          ctx.zoomTo(Math.round(from * 1000), Math.round(to * 1000));
        }],
        draw: thresholds ? [(u) => drawThresholdLines(u, thresholds)] : [],
      },
    };
    content.replaceChildren();
    const plot = new uPlot(opts, align(series), content);
    if (showLegend) {
      // Once uPlot has laid itself out (it commits sizes asynchronously): the legend takes what it
      // needs (scrolling past 40 % of the panel), the chart the rest.
      await new Promise((resolve) => requestAnimationFrame(resolve));
      fitLegend(plot, content, width);
    }
    return plot;
  }

  function fitLegend(u, content, width) {
    const legendEl = u.root.querySelector(".u-legend");
    legendEl.classList.add("panel-legend");
    legendEl.style.maxHeight = `${Math.round(content.clientHeight * 0.4)}px`;
    u.setSize({ width, height: Math.max(content.clientHeight - legendEl.offsetHeight - 6, 60) });
  }

  /** 24-hour clock; with seconds on ranges under ten minutes, with the date on ranges over a day. */
  function clock(seconds, span) {
    const d = new Date(seconds * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (span <= 600) return `${hm}:${pad(d.getSeconds())}`;
    if (span > 86400) return `${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${hm}`;
    return hm;
  }

  /** Room for the widest tick label of the y axis. */
  function axisWidth(u, values) {
    const longest = Math.max(0, ...(values || []).map((v) => String(v).length));
    return Math.max(40, Math.ceil(longest * 7.5) + 24);
  }

  function yRange(config, min, max) {
    let low = config.min != null ? config.min : Math.min(0, min);
    let high = config.max != null ? config.max : max;
    if (!(high > low)) high = low + 1;
    if (config.max == null) high += (high - low) * 0.05;
    return [low, high];
  }

  function drawThresholdLines(u, thresholds) {
    const ctx = u.ctx;
    for (const step of thresholds.steps || []) {
      if (step.value == null) continue;
      const y = u.valToPos(step.value, "y", true);
      ctx.save();
      ctx.strokeStyle = Grafana.color(step.color);
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      ctx.restore();
    }
  }

  /** The colour and text one value shows with the panel's mappings and thresholds. */
  function valueDisplay(panel, value) {
    const config = defaults(panel);
    const mapped = value == null ? null : Grafana.mapValue(value, config.mappings);
    const text = mapped && mapped.text != null ? mapped.text : Grafana.formatValue(value, config.unit, config.decimals);
    const colour = mapped && mapped.color ? mapped.color : Grafana.thresholdColor(value, config.thresholds);
    return { text, colour };
  }

  function stat(content, panel, series) {
    const options = panel.options || {};
    const background = options.colorMode === "background";
    const showNames = series.length > 1 && options.textMode !== "value";
    const box = el("div", "stat-row");
    for (const item of series) {
      const value = lastValue(item);
      const shown = valueDisplay(panel, value);
      const tile = el("div", "stat-tile");
      tile.style.setProperty("--stat-colour", shown.colour);
      if (background) tile.classList.add("stat-background");
      if (showNames) tile.append(el("div", "stat-name", item.name));
      tile.append(el("div", "stat-value", shown.text));
      box.append(tile);
    }
    content.replaceChildren(box);
  }

  function gauge(content, panel, series) {
    const config = defaults(panel);
    const min = config.min != null ? config.min : 0;
    const max = config.max != null ? config.max : 100;
    const box = el("div", "stat-row");
    for (const item of series) {
      const value = lastValue(item);
      const shown = valueDisplay(panel, value);
      const share = value == null ? 0 : Math.min(Math.max((value - min) / (max - min || 1), 0), 1);
      const tile = el("div", "gauge-tile");
      const angle = Math.PI * (1 - share);
      const x = 50 + 40 * Math.cos(angle);
      const y = 50 - 40 * Math.sin(angle);
      tile.innerHTML =
        `<svg viewBox="0 0 100 56" class="gauge"><path d="M10 50 A40 40 0 0 1 90 50" class="gauge-track"/>` +
        `<path d="M10 50 A40 40 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}" stroke="${shown.colour}" class="gauge-bar"/></svg>`;
      tile.append(el("div", "gauge-value", shown.text));
      if (series.length > 1) tile.append(el("div", "stat-name", item.name));
      box.append(tile);
    }
    content.replaceChildren(box);
  }

  function table(content, panel, series) {
    const labelNames = Array.from(new Set(series.flatMap((s) => Object.keys(s.labels).filter((k) => k !== "__name__")))).sort();
    const tableEl = el("table", "data-table");
    const head = el("tr");
    for (const name of [...labelNames, "Value"]) head.append(el("th", "", name));
    tableEl.append(head);
    for (const item of series) {
      const row = el("tr");
      for (const name of labelNames) row.append(el("td", "", item.labels[name] || ""));
      const shown = valueDisplay(panel, lastValue(item));
      const cell = el("td", "value-cell", shown.text);
      cell.style.color = shown.colour;
      row.append(cell);
      tableEl.append(row);
    }
    content.replaceChildren(tableEl);
  }

  const RENDERERS = { timeseries, graph: timeseries, stat, singlestat: stat, gauge, bargauge: gauge, table };

  function hasData(series) {
    return series.some((s) => (s.value !== undefined ? s.value !== null : s.values.some((v) => v !== null)));
  }

  return { RENDERERS, hasData, el };
})();
