/*
 * One dashboard page: reads the Grafana JSON from /api/dashboards/uid/<uid>, resolves the
 * template variables, lays the panels out on Grafana's 24-column grid and fills each one
 * from Prometheus (through the server's datasource proxy). URL state as in Grafana:
 * ?from=now-15m&to=now&var-<name>=<value>&refresh=5s.
 *
 * For tests and screenshots the page says how far it got: the [data-testid=dashboard]
 * element gets data-loaded="true" and data-load-count after every complete load, and each
 * panel's data-state is "data", "empty", "empty-allowed" or "error". A failing query shows
 * its message inside its own panel (.panel-content .alert-error); the page never breaks.
 */
"use strict";

(() => {
  const root = document.querySelector("[data-testid='dashboard']");
  const uid = root.dataset.uid;
  const grid = document.getElementById("grid");
  const params = new URLSearchParams(location.search);
  const REFRESH_CHOICES = ["off", "5s", "10s", "30s", "1m", "5m"];
  const state = { dashboard: null, variables: [], from: null, to: null, refresh: null, loads: 0, timer: null, cards: [] };

  function api(path) {
    return `/api/datasources/proxy/uid/${encodeURIComponent(datasourceUid())}/api/v1/${path}`;
  }

  function datasourceUid() {
    const ds = (state.dashboard.panels.find((p) => p.datasource && p.datasource.uid) || {}).datasource;
    return ds && ds.uid && !ds.uid.startsWith("$") ? ds.uid : "prometheus";
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      throw new Error(`HTTP ${response.status} from ${url.split("?")[0]}, not JSON`);
    }
    if (!response.ok || body.status === "error") {
      const why = (body && (body.error || (body.errors && body.errors[0] && body.errors[0].message))) || `HTTP ${response.status}`;
      throw new Error(body && body.errorType ? `${body.errorType}: ${why}` : why);
    }
    return body;
  }

  // --- URL state -------------------------------------------------------------------------
  function writeUrl() {
    const next = new URLSearchParams();
    next.set("from", state.from);
    next.set("to", state.to);
    for (const v of state.variables) {
      for (const value of v.selected) next.append(`var-${v.name}`, value === Grafana.ALL ? "All" : value);
    }
    next.set("refresh", state.refresh || "");
    history.replaceState(null, "", `${location.pathname}?${next.toString()}`);
  }

  function timeBounds() {
    const now = Date.now();
    const end = Grafana.parseTime(state.to, now);
    const start = Grafana.parseTime(state.from, now);
    return { start: start / 1000, end: end / 1000 };
  }

  // --- template variables ----------------------------------------------------------------
  async function variableOptions(item, bounds) {
    if (item.type === "custom") return String(item.query || "").split(",").map((s) => s.trim()).filter(Boolean);
    if (item.type === "constant") return [String(item.query || "")];
    if (item.type !== "query") return [];
    const query = typeof item.query === "object" && item.query ? item.query.query : item.query || item.definition;
    const match = /^label_values\(\s*(?:(.+?)\s*,\s*)?([A-Za-z_]\w*)\s*\)$/.exec(String(query || "").trim());
    if (!match) throw new Error(`variable $${item.name}: only label_values(...) queries are supported, got ${query}`);
    const selector = match[1] ? Grafana.interpolate(match[1], state.variables, {}) : null;
    const search = new URLSearchParams({ start: String(bounds.start), end: String(bounds.end) });
    if (selector) search.append("match[]", selector);
    const body = await getJson(api(`label/${match[2]}/values?${search}`));
    let values = body.data.map(String);
    if (item.regex) {
      const pattern = new RegExp(item.regex.replace(/^\/(.*)\/[a-z]*$/, "$1"));
      values = values.filter((v) => pattern.test(v));
    }
    if (item.sort === 1 || item.sort === 5) values.sort();
    if (item.sort === 2 || item.sort === 6) values.sort().reverse();
    return values;
  }

  function initialSelection(item, options) {
    const fromUrl = params.getAll(`var-${item.name}`);
    let selected = fromUrl.length ? fromUrl : [].concat((item.current && item.current.value) || []);
    selected = selected.map((v) => (v === "All" || v === "$__all" ? Grafana.ALL : v));
    if (selected.includes(Grafana.ALL) && item.includeAll) return [Grafana.ALL];
    selected = selected.filter((v) => options.includes(v));
    if (!selected.length) return item.includeAll ? [Grafana.ALL] : options.slice(0, 1);
    return item.multi ? selected : selected.slice(0, 1);
  }

  async function resolveVariables() {
    const bounds = timeBounds();
    state.variables = [];
    for (const item of (state.dashboard.templating && state.dashboard.templating.list) || []) {
      let options = [];
      let error = null;
      try {
        options = await variableOptions(item, bounds);
      } catch (e) {
        error = e.message;
      }
      state.variables.push({
        name: item.name, label: item.label || item.name, multi: Boolean(item.multi), includeAll: Boolean(item.includeAll),
        allValue: item.allValue || null, hide: item.hide === 2, options, error, selected: initialSelection(item, options),
      });
    }
    drawVariablePickers();
  }

  function variableSummary(v) {
    if (v.selected.includes(Grafana.ALL)) return "All";
    return v.selected.join(" + ") || "none";
  }

  function drawVariablePickers() {
    const box = document.getElementById("variables");
    box.replaceChildren();
    for (const v of state.variables.filter((x) => !x.hide)) {
      const picker = Panels.el("details", "var-picker");
      picker.dataset.variable = v.name;
      const summary = Panels.el("summary", "");
      summary.append(Panels.el("span", "var-label", v.label), Panels.el("span", "var-value", variableSummary(v)));
      picker.append(summary);
      const list = Panels.el("div", "var-options");
      const choices = (v.includeAll ? [Grafana.ALL] : []).concat(v.options);
      for (const value of choices) {
        const label = Panels.el("label", "var-option");
        const input = document.createElement("input");
        input.type = v.multi ? "checkbox" : "radio";
        input.name = `var-${v.name}`;
        input.value = value;
        input.checked = v.selected.includes(value);
        input.addEventListener("change", () => chooseValue(v, value, input.checked));
        label.append(input, document.createTextNode(value === Grafana.ALL ? "All" : value));
        list.append(label);
      }
      if (v.error) list.append(Panels.el("div", "alert-error", v.error));
      picker.append(list);
      box.append(picker);
    }
  }

  function chooseValue(v, value, checked) {
    if (!v.multi || value === Grafana.ALL) v.selected = [value];
    else {
      const rest = v.selected.filter((x) => x !== Grafana.ALL && x !== value);
      v.selected = checked ? rest.concat([value]) : rest;
      if (!v.selected.length) v.selected = v.includeAll ? [Grafana.ALL] : v.options.slice(0, 1);
    }
    drawVariablePickers();
    document.querySelector(`.var-picker[data-variable="${v.name}"]`).open = true;
    changed();
  }

  // --- layout ----------------------------------------------------------------------------
  function layout() {
    grid.replaceChildren();
    state.cards = [];
    const panels = (state.dashboard.panels || []).slice().sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
    let shift = 0;
    for (const panel of panels) {
      place(panel, shift);
      if (panel.type === "row" && panel.collapsed && panel.expanded && panel.panels) {
        const children = panel.panels;
        const top = Math.min(...children.map((c) => c.gridPos.y));
        for (const child of children) place(child, shift + panel.gridPos.y + 1 - top);
        shift += Math.max(...children.map((c) => c.gridPos.y + c.gridPos.h)) - top;
      }
    }
  }

  function place(panel, shift) {
    const pos = panel.gridPos || { x: 0, y: 0, w: 12, h: 8 };
    const card = Panels.el("section", panel.type === "row" ? "row-header" : "panel");
    card.style.gridColumn = `${pos.x + 1} / span ${pos.w}`;
    card.style.gridRow = `${pos.y + shift + 1} / span ${panel.type === "row" ? 1 : pos.h}`;
    card.dataset.panelId = panel.id;
    card.dataset.panelTitle = panel.title || "";
    if (panel.type === "row") {
      card.textContent = `${panel.collapsed && !panel.expanded ? "▸" : "▾"} ${panel.title || "Row"}`;
      card.addEventListener("click", () => { panel.expanded = !panel.expanded; layout(); loadPanels(); });
      grid.append(card);
      return;
    }
    const header = Panels.el("header", "panel-header");
    header.append(Panels.el("h2", "panel-title", panel.title || ""));
    if (panel.description) header.title = panel.description;
    const content = Panels.el("div", "panel-content");
    card.append(header, content);
    card.dataset.state = "loading";
    grid.append(card);
    state.cards.push({ panel, card, content });
  }

  // --- queries ---------------------------------------------------------------------------
  async function runTarget(panel, target, bounds, width) {
    const interval = Math.max(1, Math.ceil((bounds.end - bounds.start) / Math.max(width, 100)));
    const builtins = {
      __interval: Grafana.promDuration(interval), __rate_interval: Grafana.promDuration(Math.max(interval * 4, 60)),
      __range: Grafana.promDuration(bounds.end - bounds.start), __range_s: String(Math.round(bounds.end - bounds.start)),
    };
    const expr = Grafana.interpolate(target.expr, state.variables, builtins);
    const instant = target.instant === true || (target.range === false && target.instant !== false);
    if (instant) {
      const body = await getJson(api(`query?${new URLSearchParams({ query: expr, time: String(bounds.end) })}`));
      return body.data.result.map((r) => ({
        name: Grafana.legendName(target.legendFormat, r.metric), labels: r.metric, value: finite(r.value[1]),
      }));
    }
    const search = new URLSearchParams({ query: expr, start: String(bounds.start), end: String(bounds.end), step: String(interval) });
    const body = await getJson(api(`query_range?${search}`));
    return body.data.result.map((r) => ({
      name: Grafana.legendName(target.legendFormat, r.metric), labels: r.metric,
      times: r.values.map((p) => p[0]), values: r.values.map((p) => finite(p[1])),
    }));
  }

  function finite(text) {
    const value = Number(text);
    return Number.isFinite(value) ? value : null;
  }

  async function loadPanel(entry, bounds) {
    const { panel, card, content } = entry;
    const targets = (panel.targets || []).filter((t) => t.expr && !t.hide);
    const render = Panels.RENDERERS[panel.type];
    try {
      if (!render) throw new Error(`panel type ${panel.type} is not supported by this viewer`);
      const results = await Promise.all(targets.map((t) => runTarget(panel, t, bounds, content.clientWidth).catch((e) => {
        throw new Error(`query ${t.refId || ""}: ${e.message}`);
      })));
      const series = results.flat();
      if (!Panels.hasData(series)) {
        const verdict = Grafana.emptyAllowed(panel, state.variables);
        content.replaceChildren(Panels.el("div", "no-data", verdict.allowed ? `No data (expected: ${verdict.reason})` : "No data"));
        setState(card, verdict.allowed ? "empty-allowed" : "empty", "");
        return;
      }
      if (entry.plot) entry.plot.destroy();
      entry.plot = await render(content, panel, series, { start: bounds.start, end: bounds.end, zoomTo });
      setState(card, "data", "");
    } catch (error) {
      const box = Panels.el("div", "alert-error", error.message);
      box.setAttribute("role", "alert");
      content.replaceChildren(box);
      setState(card, "error", error.message);
    }
  }

  function setState(card, value, error) {
    card.dataset.state = value;
    if (error) card.dataset.error = error;
    else delete card.dataset.error;
  }

  async function loadPanels() {
    const bounds = timeBounds();
    await Promise.all(state.cards.map((entry) => loadPanel(entry, bounds)));
    state.loads += 1;
    root.dataset.variables = JSON.stringify(Object.fromEntries(state.variables.map((v) => [v.name, v.selected])));
    root.dataset.options = JSON.stringify(Object.fromEntries(state.variables.map((v) => [v.name, v.options])));
    root.dataset.loadCount = String(state.loads);
    root.dataset.loaded = "true";
  }

  // --- time and refresh ------------------------------------------------------------------
  function zoomTo(fromMs, toMs) {
    state.from = String(fromMs);
    state.to = String(toMs);
    changed();
  }

  function drawTimeControls() {
    const picker = document.getElementById("time-range");
    picker.replaceChildren();
    const current = `${state.from}|${state.to}`;
    const choices = Grafana.RANGES.map((r) => `now-${r}|now`);
    if (!choices.includes(current)) choices.unshift(current);
    for (const choice of choices) {
      const [from, to] = choice.split("|");
      const option = new Option(Grafana.describeRange(from, to), choice, false, choice === current);
      picker.append(option);
    }
    const refresh = document.getElementById("refresh-every");
    refresh.replaceChildren(...REFRESH_CHOICES.map((r) => new Option(r === "off" ? "Off" : `Every ${r}`, r, false, r === (state.refresh || "off"))));
  }

  function schedule() {
    clearInterval(state.timer);
    const every = Grafana.durationMs(state.refresh);
    if (every) state.timer = setInterval(loadPanels, Math.max(every, 1000));
  }

  function changed() {
    writeUrl();
    drawTimeControls();
    schedule();
    loadPanels();
  }

  function wireControls() {
    document.getElementById("time-range").addEventListener("change", (event) => {
      [state.from, state.to] = event.target.value.split("|");
      changed();
    });
    document.getElementById("refresh-every").addEventListener("change", (event) => {
      state.refresh = event.target.value === "off" ? "" : event.target.value;
      changed();
    });
    document.getElementById("refresh-now").addEventListener("click", () => loadPanels());
    document.getElementById("zoom-out").addEventListener("click", () => {
      const b = timeBounds();
      const half = (b.end - b.start) / 2;
      zoomTo(Math.round((b.start - half) * 1000), Math.round(Math.min(b.end + half, Date.now() / 1000) * 1000));
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(loadPanels, 200); });
  }

  async function start() {
    try {
      const body = await getJson(`/api/dashboards/uid/${encodeURIComponent(uid)}`);
      state.dashboard = body.dashboard;
    } catch (error) {
      grid.replaceChildren(Panels.el("div", "alert-error", `Cannot load dashboard ${uid}: ${error.message}`));
      root.dataset.loaded = "true";
      return;
    }
    const time = state.dashboard.time || {};
    state.from = params.get("from") || time.from || "now-6h";
    state.to = params.get("to") || time.to || "now";
    state.refresh = params.has("refresh") ? params.get("refresh") : state.dashboard.refresh || "";
    wireControls();
    await resolveVariables();
    layout();
    changed();
  }

  start();
})();
