"""Self-contained HTML report pages: one file, images embedded, no script, no network.

validphys and vp-hyperoptplot write HTML reports; ours are a single file that opens anywhere
(a laptop after ``scp``, a browser on a cluster's login node) and can be mailed as is: every
image is embedded as a ``data:`` URI, the style sheet is inline, and nothing is fetched.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from n3fit_gpu.atomic import atomic_write_text

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.bad td { background: #fde8e8; } tr.best td { background: #e6f4e6; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { color: #555; font-size: 0.92em; }
"""


class Page:
    """An HTML page built section by section; :meth:`write` saves it atomically."""

    def __init__(self, title: str):
        self.title = title
        self._parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def heading(self, text: str) -> Page:
        self._parts.append(f"<h2>{html.escape(text)}</h2>")
        return self

    def paragraph(self, text: str, note: bool = False) -> Page:
        css = ' class="note"' if note else ""
        self._parts.append(f"<p{css}>{html.escape(text)}</p>")
        return self

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        row_classes: Sequence[str] | None = None,
    ) -> Page:
        """A table; ``row_classes`` may mark rows ``bad`` (red) or ``best`` (green)."""
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = []
        for i, row in enumerate(rows):
            css = row_classes[i] if row_classes and row_classes[i] else ""
            cells = "".join(f"<td>{html.escape(_cell(value))}</td>" for value in row)
            body.append(f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
        self._parts.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
        return self

    def image(self, png: Path | bytes, caption: str) -> Page:
        """A PNG (a file or its bytes), embedded; a missing file is said, not linked."""
        if isinstance(png, Path):
            if not png.is_file():
                return self.paragraph(f"({png.name} was not drawn: {caption})", note=True)
            png = png.read_bytes()
        data = base64.b64encode(png).decode("ascii")
        alt = html.escape(caption, quote=True)
        self._parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def code(self, text: str, summary: str | None = None) -> Page:
        """Preformatted text, folded under ``summary`` when one is given."""
        block = f"<pre>{html.escape(text)}</pre>"
        if summary is not None:
            block = f"<details><summary>{html.escape(summary)}</summary>{block}</details>"
        self._parts.append(block)
        return self

    def render(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>"
            f"<body>{''.join(self._parts)}</body></html>\n"
        )

    def write(self, path: Path) -> Path:
        return atomic_write_text(path, self.render())


def _cell(value: object) -> str:
    """Numbers with 4 significant digits (no ``-0``), None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.4g}"
        return "0" if text in ("-0", "0") else text
    return str(value)
