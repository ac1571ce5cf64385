"""The HTML report: one self-contained file (inline CSS, no scripts, nothing fetched).

Summary at the top, then a section per category: failures in full (what was checked,
what was found, the query to reproduce it), then skips, then the passed checks folded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from agentic_trading.verify.model import Report, Result, Status

CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --skip: #9a6700; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #f6f8fa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; display: flex; align-items: center; gap: 12px; }
h2 { font-size: 20px; margin: 0; display: flex; align-items: center; gap: 10px; }
.meta { color: var(--muted); font-size: 13px; margin-bottom: 18px; }
.meta code { background: #eaeef2; padding: 1px 5px; border-radius: 4px; }
.badge { display: inline-block; border-radius: 999px; padding: 2px 10px; font-size: 12px; font-weight: 700;
         letter-spacing: .03em; text-transform: uppercase; color: #fff; vertical-align: middle; }
.badge.passed { background: var(--ok); } .badge.failed { background: var(--bad); } .badge.skipped { background: var(--skip); }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 8px 0 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card .n { font-size: 28px; font-weight: 700; } .card .l { color: var(--muted); font-size: 13px; }
.card.passed .n { color: var(--ok); } .card.failed .n { color: var(--bad); } .card.skipped .n { color: var(--skip); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
th, td { text-align: left; padding: 7px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; color: var(--muted); letter-spacing: .04em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
section.category { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--ok);
                   border-radius: 8px; padding: 16px 20px; margin-top: 18px; }
section.category.has-failures { border-left-color: var(--bad); }
.counts { color: var(--muted); font-size: 13px; font-weight: 400; }
.check { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin-top: 10px; }
.check.failed { border-color: #ffcecb; background: #fff8f7; }
ul.skips { list-style: none; margin: 10px 0 0; padding: 0; font-size: 14px; }
ul.skips li { padding: 3px 0; } ul.skips .badge { font-size: 10px; padding: 1px 7px; }
.check h3 { font-size: 15px; margin: 0 0 6px; display: flex; gap: 8px; align-items: center; }
.check dl { display: grid; grid-template-columns: 90px 1fr; gap: 3px 10px; margin: 0; font-size: 14px; }
.check dt { color: var(--muted); } .check dd { margin: 0; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace;
      background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; }
ul.details { margin: 4px 0 0; padding-left: 18px; font-size: 13px; }
details { margin-top: 12px; } summary { cursor: pointer; color: var(--muted); }
details table { margin-top: 8px; font-size: 13px; }
.ok { color: var(--ok); } a { color: inherit; }
"""


def _badge(status: Status | str) -> str:
    value = status.value if isinstance(status, Status) else status
    return f'<span class="badge {value}">{escape(value)}</span>'


def _check(result: Result) -> str:
    rows = [f"<dt>checked</dt><dd>{escape(result.description)}</dd>", f"<dt>found</dt><dd>{escape(result.message)}</dd>"]
    if result.query:
        rows.append(f"<dt>query</dt><dd><pre>{escape(result.query.strip())}</pre></dd>")
    details = ""
    if result.details:
        items = "".join(f"<li>{escape(line)}</li>" for line in result.details)
        details = f'<ul class="details">{items}</ul>'
    return (
        f'<div class="check {result.status.value}"><h3>{_badge(result.status)} {escape(result.name)}</h3>'
        f"<dl>{''.join(rows)}</dl>{details}</div>"
    )


def _section(category: str, results: list[Result]) -> str:
    failed = [r for r in results if r.status is Status.failed]
    skipped = [r for r in results if r.status is Status.skipped]
    passed = [r for r in results if r.status is Status.passed]
    status = Status.failed if failed else Status.passed
    counts = f"{len(passed)} passed · {len(failed)} failed · {len(skipped)} skipped"
    parts = [
        f'<section class="category{" has-failures" if failed else ""}" id="category-{escape(category)}" '
        f'data-category="{escape(category)}">',
        f'<h2>{escape(category)} {_badge(status)} <span class="counts">{counts}</span></h2>',
    ]
    parts.extend(_check(result) for result in failed)
    if skipped:
        items = "".join(f"<li>{_badge(Status.skipped)} <b>{escape(r.name)}</b>: {escape(r.message)}</li>" for r in skipped)
        parts.append(f'<ul class="skips">{items}</ul>')
    if passed:
        rows = "".join(
            f'<tr><td class="ok">✓</td><td>{escape(r.name)}</td><td>{escape(r.message)}</td>'
            f'<td class="num">{r.duration_s:.2f} s</td></tr>'
            for r in passed
        )
        parts.append(
            f"<details><summary>{len(passed)} passed checks</summary>"
            f"<table><tr><th></th><th>check</th><th>found</th><th>time</th></tr>{rows}</table></details>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report, generated_at: datetime | None = None) -> str:
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    verdict = Status.passed if report.ok else Status.failed
    endpoints = " · ".join(f"{escape(name)} <code>{escape(url)}</code>" for name, url in report.endpoints.items())
    cards = "".join(
        f'<div class="card {cls}"><div class="n">{value}</div><div class="l">{label}</div></div>'
        for cls, value, label in (
            ("passed", report.passed, "passed"),
            ("failed", report.failed, "failed"),
            ("skipped", report.skipped, "skipped"),
            ("", f"{report.duration_s:.1f} s", "duration"),
        )
    )
    summary_rows = []
    for category in report.categories():
        results = report.in_category(category)
        failed = sum(r.status is Status.failed for r in results)
        summary_rows.append(
            f'<tr><td><a href="#category-{escape(category)}">{escape(category)}</a></td>'
            f"<td>{_badge(Status.failed if failed else Status.passed)}</td>"
            f'<td class="num">{sum(r.status is Status.passed for r in results)}</td>'
            f'<td class="num">{failed}</td>'
            f'<td class="num">{sum(r.status is Status.skipped for r in results)}</td>'
            f'<td class="num">{sum(r.duration_s for r in results):.1f} s</td></tr>'
        )
    sections = "\n".join(_section(category, report.in_category(category)) for category in report.categories())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(report.title)}: {verdict.value}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{escape(report.title)} {_badge(verdict)}</h1>
<div class="meta">{when}{" · " + endpoints if endpoints else ""}</div>
<div class="cards">{cards}</div>
<table class="summary">
<tr><th>category</th><th>result</th><th>passed</th><th>failed</th><th>skipped</th><th>time</th></tr>
{"".join(summary_rows)}
</table>
</header>
{sections}
</main>
</body>
</html>
"""
