"""The dashboards viewer: the repository's Grafana JSON, served unchanged and drawn in the browser.

Grafana is not packaged for Debian, so the local stack serves its own viewer on the
dashboards port (3000 + offset) with Grafana's URLs. The server (``app.py``) lists the
files, serves them as they are and forwards read-only queries to Prometheus; the page
(``static/dashboards.js``) interprets panels, variables, units and thresholds with uPlot.
``browser.py`` drives headless Chromium for screenshots and the browser tests.
"""
