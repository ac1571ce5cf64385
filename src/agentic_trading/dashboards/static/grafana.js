/*
 * The Grafana semantics the viewer needs, as pure functions (no DOM, no fetch):
 * relative time ranges, template-variable interpolation with Prometheus's multi-value
 * format, legend names, units, thresholds, value mappings, and the project's per-panel
 * "mayBeEmpty" field (observability/README.md). dashboards.js and panels.js use them.
 */
"use strict";

const Grafana = (() => {
  const UNIT_MS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3, y: 31536000e3 };
  const RANGES = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d"];
  const UNIT_WORDS = { s: "second", m: "minute", h: "hour", d: "day", w: "week", y: "year" };
  const ALL = "$__all";

  // Grafana's named colours (dark theme) and its classic series palette.
  const COLORS = {
    green: "#73BF69", "dark-green": "#37872D", red: "#F2495C", "dark-red": "#C4162A",
    yellow: "#FADE2A", "dark-yellow": "#E0B400", orange: "#FF9830", "dark-orange": "#FA6400",
    blue: "#5794F2", "dark-blue": "#1F60C4", purple: "#B877D9", "dark-purple": "#8F3BB8",
    text: "#CCCCDC", transparent: "transparent",
  };
  const PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9",
    "#705DA0", "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62"];

  function color(name) {
    if (!name) return COLORS.text;
    return COLORS[name] || name;
  }

  /** Milliseconds for "now", "now-15m", "now-1h", an epoch-ms number or an ISO date. */
  function parseTime(text, now) {
    const value = String(text == null ? "now" : text).trim();
    if (/^\d+$/.test(value)) return Number(value);
    const relative = /^now(?:-(\d+)([smhdwy]))?$/.exec(value);
    if (relative) return relative[1] ? now - Number(relative[1]) * UNIT_MS[relative[2]] : now;
    const parsed = Date.parse(value);
    if (Number.isNaN(parsed)) throw new Error(`time ${value} is not now, now-<n><unit>, epoch ms or ISO`);
    return parsed;
  }

  function describeRange(from, to) {
    const relative = /^now-(\d+)([smhdwy])$/.exec(from);
    if (relative && to === "now") {
      const n = Number(relative[1]);
      return `Last ${n} ${UNIT_WORDS[relative[2]]}${n === 1 ? "" : "s"}`;
    }
    const fmt = (ms) => new Date(ms).toLocaleString("sv-SE").slice(5, 16);
    return `${fmt(parseTime(from, Date.now()))} to ${fmt(parseTime(to, Date.now()))}`;
  }

  function durationMs(text) {
    const match = /^(\d+)(ms|[smhdwy])$/.exec(String(text || "").trim());
    if (!match) return null;
    return match[2] === "ms" ? Number(match[1]) : Number(match[1]) * UNIT_MS[match[2]];
  }

  /** "5m" style text for a number of seconds (for $__interval and $__range). */
  function promDuration(seconds) {
    const s = Math.max(1, Math.round(seconds));
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (s % size === 0) return `${s / size}${unit}`;
    }
    return `${s}s`;
  }

  function regexEscape(value) {
    return String(value).replace(/[\\^$*+?.()|[\]{}]/g, "\\$&");
  }

  /**
   * The values a variable stands for now: every option for "All", else the selected ones.
   * (A variable is {name, options: [..], selected: [..] or [ALL], includeAll, allValue, multi}.)
   */
  function selectedValues(variable) {
    if (variable.selected.includes(ALL)) return variable.options.slice();
    return variable.selected.slice();
  }

  /** The text a variable becomes inside a Prometheus query (Grafana's default format). */
  function formatForPrometheus(variable) {
    const all = variable.selected.includes(ALL);
    if (all && variable.allValue) return variable.allValue;
    const values = selectedValues(variable);
    if (values.length === 1) return regexEscape(values[0]);
    return "(" + values.map(regexEscape).join("|") + ")";
  }

  /** Replace $name, ${name} and [[name]] (variables, then built-ins such as $__interval). */
  function interpolate(text, variables, builtins) {
    const values = {};
    for (const v of variables) values[v.name] = formatForPrometheus(v);
    Object.assign(values, builtins || {});
    return String(text).replace(/\$\{([\w]+)(?::\w+)?\}|\[\[([\w]+)\]\]|\$([\w]+)/g, (whole, a, b, c) => {
      const name = a || b || c;
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
    });
  }

  /** A series' legend: legendFormat with {{label}} filled in, or the metric as Prometheus prints it. */
  function legendName(legendFormat, metric) {
    if (legendFormat && legendFormat !== "__auto") {
      return legendFormat.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, label) => (metric[label] !== undefined ? metric[label] : ""));
    }
    const name = metric.__name__ || "";
    const labels = Object.keys(metric).filter((k) => k !== "__name__").map((k) => `${k}="${metric[k]}"`);
    return labels.length ? `${name}{${labels.join(", ")}}` : name || "value";
  }

  function trimNumber(value, decimals) {
    if (decimals != null) return value.toFixed(decimals);
    const abs = Math.abs(value);
    const digits = abs === 0 ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
    return String(Number(value.toFixed(digits)));
  }

  function scaled(value, steps, decimals) {
    // steps: [[factor, suffix], ...] ascending
    let chosen = steps[0];
    for (const step of steps) if (Math.abs(value) >= step[0]) chosen = step;
    return trimNumber(value / chosen[0], decimals) + chosen[1];
  }

  const SHORT = [[1, ""], [1e3, " K"], [1e6, " Mil"], [1e9, " Bil"], [1e12, " Tri"]];
  const BYTES = [[1, " B"], [1024, " KiB"], [1048576, " MiB"], [1073741824, " GiB"], [1099511627776, " TiB"]];

  function formatSeconds(value, decimals) {
    const abs = Math.abs(value);
    if (abs === 0) return "0 s";
    if (abs < 1e-6) return trimNumber(value * 1e9, decimals) + " ns";
    if (abs < 1e-3) return trimNumber(value * 1e6, decimals) + " µs";
    if (abs < 1) return trimNumber(value * 1e3, decimals) + " ms";
    if (abs < 60) return trimNumber(value, decimals) + " s";
    if (abs < 3600) return trimNumber(value / 60, decimals) + " min";
    if (abs < 86400) return trimNumber(value / 3600, decimals) + " hour";
    return trimNumber(value / 86400, decimals) + " day";
  }

  /** A value in a Grafana unit: short, none, percent, percentunit, s, ms, bytes, reqps, ops… */
  function formatValue(value, unit, decimals) {
    if (value === null || value === undefined || Number.isNaN(value)) return "No data";
    if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
    switch (unit || "short") {
      case "percent": return trimNumber(value, decimals) + "%";
      case "percentunit": return trimNumber(value * 100, decimals) + "%";
      case "s": return formatSeconds(value, decimals);
      case "ms": return formatSeconds(value / 1000, decimals);
      case "bytes": return scaled(value, BYTES, decimals);
      case "reqps": return scaled(value, SHORT, decimals) + " req/s";
      case "ops": return scaled(value, SHORT, decimals) + " ops/s";
      case "none": return trimNumber(value, decimals);
      default: return scaled(value, SHORT, decimals);
    }
  }

  /** The colour of the last threshold step at or below ``value`` (absolute mode). */
  function thresholdColor(value, thresholds) {
    const steps = (thresholds && thresholds.steps) || [];
    let chosen = steps.length ? steps[0].color : "green";
    for (const step of steps) {
      if (step.value === null || step.value === undefined || value >= step.value) chosen = step.color;
    }
    return color(chosen);
  }

  /** {text, color} from the first value/range mapping that matches, or null. */
  function mapValue(value, mappings) {
    for (const mapping of mappings || []) {
      const options = mapping.options || {};
      if (mapping.type === "value" && Object.prototype.hasOwnProperty.call(options, String(value))) {
        const hit = options[String(value)];
        return { text: hit.text != null ? hit.text : String(value), color: hit.color ? color(hit.color) : null };
      }
      if (mapping.type === "range") {
        const from = options.from == null ? -Infinity : options.from;
        const to = options.to == null ? Infinity : options.to;
        if (value >= from && value <= to) {
          const result = options.result || {};
          return { text: result.text != null ? result.text : null, color: result.color ? color(result.color) : null };
        }
      }
    }
    return null;
  }

  /**
   * Whether a panel may show no data in the current variable state, and why.
   * The panel's own JSON says so: "mayBeEmpty": {"reason": "...", "when": {"<variable>": [values]}}.
   * Without "when" it may always be empty; with it, only while every selected value of each
   * named variable is one of the listed values ("All" selects every value).
   */
  function emptyAllowed(panel, variables) {
    const rule = panel.mayBeEmpty;
    if (!rule) return { allowed: false, reason: "" };
    const reason = rule.reason || "declared in the dashboard";
    const when = rule.when || {};
    for (const name of Object.keys(when)) {
      const variable = variables.find((v) => v.name === name);
      if (!variable) return { allowed: false, reason };
      const listed = when[name].map(String);
      if (!selectedValues(variable).every((value) => listed.includes(String(value)))) return { allowed: false, reason };
    }
    return { allowed: true, reason };
  }

  return {
    ALL, RANGES, PALETTE, color, parseTime, describeRange, durationMs, promDuration, regexEscape,
    selectedValues, formatForPrometheus, interpolate, legendName, formatValue, thresholdColor,
    mapValue, emptyAllowed,
  };
})();
