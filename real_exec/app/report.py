"""A small self-contained report: Markdown and HTML pages with PNG figures and CSV tables."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from theory.trace import atomic_write, atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Report"]

_STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:2px 6px}"
    "img{max-width:100%}figcaption{font-style:italic;color:#444}"
)


class Report:
    """Collects headings, text, figures and tables; writes ``index.md`` and ``index.html``."""

    def __init__(self, out: Path, title: str) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.title = title
        self._md: list[str] = [f"# {title}"]
        self._html: list[str] = [f"<h1>{html.escape(title)}</h1>"]

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
        shown = frame.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)
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
