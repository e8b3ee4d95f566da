"""A small self-contained report: Markdown and HTML pages with PNG figures and CSV tables."""

from __future__ import annotations

import html
import math
import numbers
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from theory.trace import atomic_write, atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Report", "format_number", "format_p"]

_STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:2px 6px}"
    "img{max-width:100%}figcaption{font-style:italic;color:#444}"
    ".lead{font-size:1.1em;background:#f4f4f4;padding:0.6em 1em;border-left:4px solid #888}"
)


#: Columns whose integers are names (a seed), printed without thousands separators.
IDENTIFIERS = ("seed", "rep_seed", "key")


def format_p(p: float) -> str:
    """A p-value as a person reads it: below the smallest float it is "< 1e-300", not 0.

    >>> format_p(0.0), format_p(0.01234), format_p(float("nan"))
    ('< 1e-300', '= 0.0123', 'n/a')
    """
    if math.isnan(p):
        return "n/a"
    return "< 1e-300" if p < 1e-300 else f"= {p:.3g}"


def format_number(value: object) -> str:
    """A number as a person reads it: thousands separated, four significant digits, no
    exponent between 0.001 and 10^15; NaN as "n/a". Anything else as ``str``.

    >>> [format_number(v) for v in (14830.2, 0.055, 3, 1234567, 2.0, 0.1234567, 1.5e-05, float("nan"))]
    ['14,830', '0.055', '3', '1,234,567', '2', '0.1235', '1.5e-05', 'n/a']
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value) or value == 0:
        return f"{value:g}"
    size = abs(value)
    if size < 1e-3 or size >= 1e15:
        return f"{value:.3g}"
    if size >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 3 - math.floor(math.log10(size)))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class Report:
    """Collects headings, text, figures and tables; writes ``index.md`` and ``index.html``."""

    def __init__(self, out: Path, title: str) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.title = title
        self._md: list[str] = [f"# {title}"]
        self._html: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def lead(self, text: str) -> None:
        """A paragraph right under the title (what the report concludes, written last)."""
        self._md.insert(1, text)
        self._html.insert(1, f"<p class='lead'>{html.escape(text)}</p>")

    def heading(self, text: str) -> None:
        self._md.append(f"## {text}")
        self._html.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        self._md.append(text)
        self._html.append(f"<p>{html.escape(text)}</p>")

    def figure(self, name: str, fig: Figure, caption: str) -> None:
        path = self.out / f"{name}.png"
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
        self._md.append(f"![{caption}]({path.name})\n\n*{caption}*")
        cap = html.escape(caption)
        self._html.append(
            f"<figure><img src='{path.name}' alt='{cap}'><figcaption>{cap}</figcaption></figure>"
        )

    def table(self, name: str, frame: pd.DataFrame, caption: str) -> None:
        atomic_write(self.out / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))
        shown = frame.map(format_number)
        for column in set(IDENTIFIERS) & set(frame.columns):  # names, not quantities: no separators
            shown[column] = frame[column].map(str)
        header = "| " + " | ".join(map(str, shown.columns)) + " |"
        rule = "|" + "---|" * len(shown.columns)
        rows = ["| " + " | ".join(map(str, r)) + " |" for r in shown.itertuples(index=False)]
        self._md.append(f"**{caption}** ([{name}.csv]({name}.csv))\n\n" + "\n".join([header, rule, *rows]))
        self._html.append(
            f"<p><b>{html.escape(caption)}</b> (<a href='{name}.csv'>{name}.csv</a>)</p>"
            + shown.to_html(index=False, border=0)
        )

    def write(self) -> Path:
        markdown = "\n\n".join(self._md) + "\n"
        atomic_write_text(self.out / "index.md", markdown)
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(self._html)}</body></html>"
        )
        index = self.out / "index.html"
        atomic_write_text(index, page)
        return index
