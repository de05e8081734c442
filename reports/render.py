"""Rendering helpers: Markdown and booktabs LaTeX tables, deterministic figure files.

Every table file and figure written through ``write_table`` and ``save_figure`` while ``recording()`` is active is
recorded in the order written, with its caption: the report stage builds ``report.tex`` (reports.latex) from that
list, so a paper's report module never lists its own outputs twice.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fmt_ms(mean: float, std: float) -> str:
    return "—" if mean is None or math.isnan(mean) else f"{mean:.1f} ± {std:.1f}"


def counted(n, noun: str) -> str:
    """``1 block``, ``3 blocks``, ``1.5 epochs``: a count with its noun in the right number."""
    return f"{n:g} {noun}" + ("" if n == 1 else "s")


def model_text(model: str, layers: int | None = None, random_init: bool = False) -> str:
    """A model as the reports name it: `all-MiniLM-L6-v2` (first 1 block) from random init."""
    return (f"`{model}`" + (f" (first {counted(layers, 'block')})" if layers else "")
            + (" from random init" if random_init else ""))


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Text -> LaTeX. One place maps every character the reports print; the output is plain ASCII, so it compiles with
# any input encoding.

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_UNICODE = {
    "±": r"$\pm$", "≤": r"$\leq$", "≥": r"$\geq$", "×": r"$\times$", "÷": r"$\div$", "≈": r"$\approx$",
    "≠": r"$\neq$", "−": r"$-$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "↔": r"$\leftrightarrow$",
    "⇒": r"$\Rightarrow$", "∞": r"$\infty$", "√": r"$\surd$", "·": r"$\cdot$", "∑": r"$\sum$", "∈": r"$\in$",
    "²": r"\textsuperscript{2}", "³": r"\textsuperscript{3}", "¹": r"\textsuperscript{1}", "°": r"\textdegree{}",
    "—": r"\textemdash{}", "–": r"\textendash{}", "…": r"\ldots{}", "•": r"\textbullet{}", "§": r"\S{}",
    "“": "``", "”": "''", "‘": "`", "’": "'", "\u00a0": "~", "\u2009": r"\,", "\u202f": r"\,",
    "✓": r"$\checkmark$", "✗": r"$\times$", "†": r"\textdagger{}",
    "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "δ": r"$\delta$", "ε": r"$\epsilon$", "η": r"$\eta$",
    "θ": r"$\theta$", "λ": r"$\lambda$", "μ": r"$\mu$", "µ": r"$\mu$", "π": r"$\pi$", "ρ": r"$\rho$",
    "σ": r"$\sigma$", "τ": r"$\tau$", "ϕ": r"$\phi$", "φ": r"$\varphi$", "χ": r"$\chi$", "ω": r"$\omega$",
    "Δ": r"$\Delta$", "Σ": r"$\Sigma$", "Ω": r"$\Omega$",
}
_T1_LATIN = {"\u00c0": r"\`A", "\u00c9": r"\'E", "\u00e0": r"\`a", "\u00e1": r"\'a", "\u00e4": r"\"a",
             "\u00e7": r"\c{c}", "\u00e8": r"\`e", "\u00e9": r"\'e", "\u00ea": r"\^e", "\u00ed": r"\'i",
             "\u00f1": r"\~n", "\u00f3": r"\'o", "\u00f6": r"\"o", "\u00fc": r"\"u", "\u00df": r"\ss{}"}
_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")


def _char(ch: str) -> str:
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    if ord(ch) < 128:
        return ch
    if ch in _UNICODE:
        return _UNICODE[ch]
    if ch in _T1_LATIN:
        return _T1_LATIN[ch]
    ascii_ = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()  # é -> e, ﬁ -> fi
    return "".join(_char(c) for c in ascii_) if ascii_ else "?"


def _plain(text: str, breakable: bool = False) -> str:
    out = "".join(_char(c) for c in text).replace("--", "-{}-")  # no en dash ligature from text like `--flag`
    if not breakable:
        return out
    return out.replace("/", r"/\allowbreak{}").replace(r"\_", r"\_\allowbreak{}")


def _tex(cell, breakable: bool = False) -> str:
    """Text or a table cell (Markdown ``**bold**`` and ```code``` inline) as LaTeX. A cell that is bold as a
    whole stays bold: the tables' notes say what bold marks. ``breakable``: names may wrap after / - or _."""
    text = str(cell)
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(_plain(text[pos:m.start()], breakable))
        if m.group(1) is not None:
            out.append(r"\textbf{" + _plain(m.group(1), breakable) + "}")
        else:
            code = _plain(m.group(2), breakable)
            if breakable:  # typewriter text never hyphenates: `paraphrase-MiniLM-L3-v2` may wrap after a -
                code = re.sub(r"(?<=[A-Za-z0-9])-(?=[A-Za-z0-9])", r"-\\allowbreak{}", code)
            out.append(r"\texttt{" + code + "}")
        pos = m.end()
    out.append(_plain(text[pos:], breakable))
    return "".join(out)


_NUMBERED = re.compile(r"^\s*((?:Table|Figure)s?\s+\w+(?:(?:\s*,\s*|\s+and\s+|\s*[-–]\s*)\w+)*)\s*:\s*(.*)$", re.S)


def caption_text(caption: str) -> str:
    """A caption for LaTeX, which numbers tables and figures itself: "Table 3: datasets ..." becomes
    "Datasets .... Paper's Table 3." (no "Table 5: Table 3: ...")."""
    m = _NUMBERED.match(str(caption))
    if not m or not m.group(2).strip():
        return str(caption)
    rest = m.group(2).strip().rstrip(".")
    return f"{rest[:1].upper()}{rest[1:]}. Paper's {m.group(1)}."


# ---------------------------------------------------------------------------------------------------------------
# booktabs tables that fit the page: long cells become numbered markers spelled out in the notes, headers wrap
# over their column, and the font shrinks (\small, \footnotesize, \scriptsize) to the narrowest that is needed.

TEXT_WIDTH_PT = 455.0  # a little under A4 with 2 cm margins (483 pt) and US letter with 1 in margins (469 pt)
LONG_CELL = 36  # characters: a longer body cell is replaced by a marker and written out under the table
_SIZES = (("small", 9.0), ("footnotesize", 8.0), ("scriptsize", 7.0))
_TABCOLSEP_PT = 4.0


def _em(text: str) -> float:
    """Rough width in ems of a cell's visible text (Times-like proportions, on the wide side)."""
    width = 0.0
    for ch in re.sub(r"\*\*|`", "", str(text)):
        if ch.isdigit() or ch in "±×≤≥—":
            width += 0.5 if ch.isdigit() else 0.8
        elif ch in " .,:;'|!il()[]/-":
            width += 0.3
        elif ch.isupper() or ch in "mwMW%&":
            width += 0.75
        else:
            width += 0.5
    return width


def _wrap(words: list[str], limit: float) -> list[str]:
    """At most three lines, each about ``limit`` ems or less where the words allow: the split with the narrowest
    widest line (an extra line costs 1.5 em; a line starting at "(" gains 1.5), e.g. "Longer" / "(ours)"."""
    best, best_cost = [" ".join(words)], None
    n = len(words)
    splits = [()] + [(i,) for i in range(1, n)] + [(i, j) for i in range(1, n) for j in range(i + 1, n)]
    for cut in splits:
        bounds = [0, *cut, n]
        lines = [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:])]
        cost = (max(max(_em(line) for line in lines), limit) + 1.5 * (len(lines) - 1)
                - 1.5 * sum(line.startswith("(") for line in lines[1:]))
        if best_cost is None or cost < best_cost - 1e-9:
            best, best_cost = lines, cost
    return best


def _header_cell(text: str, limit: float, align: str) -> str:
    lines = _wrap(str(text).split(), limit) if str(text).strip() else [""]
    if len(lines) == 1:
        return _tex(lines[0])
    # "\\{}": a line that starts with "[" (e.g. "[95% CI]") must not read as \\'s optional spacing argument
    return rf"\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}" + r" \\{} ".join(_tex(line) for line in lines) + r"\end{tabular}"


@dataclass
class Layout:
    size: str
    header: list[str]  # LaTeX
    rows: list[list[str]]  # LaTeX
    notes: list[str]  # LaTeX, one paragraph each
    width_pt: float  # the estimate the size was chosen from


def _layout(header: list[str], rows: list[list[str]], notes) -> Layout:
    """The layout at the smallest font that fits; when even that is too wide, shorter cells move to the notes too
    (a claims table of eight columns whose cells sit just under LONG_CELL)."""
    for long_cell in (LONG_CELL, 28, 20, 12):
        lay = _layout_at(header, rows, notes, long_cell)
        if lay.width_pt <= TEXT_WIDTH_PT:
            break
    return lay


def _layout_at(header: list[str], rows: list[list[str]], notes, long_cell: int) -> Layout:
    long_texts: dict[str, int] = {}
    plain_rows = []
    for row in rows:
        cells = []
        for cell in row:
            text = str(cell)
            if len(re.sub(r"\*\*|`", "", text)) > long_cell:
                number = long_texts.setdefault(text, len(long_texts) + 1)
                cells.append(f"[{number}]")
            else:
                cells.append(text)
        plain_rows.append(cells)
    columns = list(zip(*plain_rows)) if plain_rows else [() for _ in header]
    body_em = [max((_em(c) for c in col), default=0.0) for col in columns]
    # A header wraps at spaces to its column's body width (at least its longest word, at most 3 lines' worth).
    head_em, head_cells = [], []
    for i, text in enumerate(header):
        words = str(text).split() or [""]
        limit = body_em[i] if i < len(body_em) else 0.0
        lines = _wrap(words, limit)
        head_em.append(max(_em(line) for line in lines))
        head_cells.append((text, limit))
    total_em = sum(max(b, h) for b, h in zip(body_em, head_em))
    size, width = _SIZES[-1][0], 0.0
    for name, points in _SIZES:
        width = total_em * points + 2 * _TABCOLSEP_PT * len(header)
        size = name
        if width <= TEXT_WIDTH_PT:
            break
    aligns = ["l"] + ["c"] * (len(header) - 1)
    tex_header = [_header_cell(text, limit, aligns[i]) for i, (text, limit) in enumerate(head_cells)]
    # a row whose first cell is a note mark "[n]" would read as the previous row's \\[length]: guard it with {}
    tex_rows = [[("{}" if i == 0 and c.startswith("[") else "") + _tex(c) for i, c in enumerate(row)]
                for row in plain_rows]
    tex_notes = [f"[{n}] {_tex(text, breakable=True)}" for text, n in long_texts.items()]
    tex_notes += [_tex(note, breakable=True) for note in notes or ()]
    return Layout(size, tex_header, tex_rows, tex_notes, width)


def latex_table(header: list[str], rows: list[list[str]], caption: str, label: str, notes=(), prose=()) -> str:
    """A booktabs table with its caption (the paper's number moved to the end: LaTeX numbers the table) and its
    notes under the tabular: pass every note a reader needs (what markers and bold mean); cells longer than
    ``LONG_CELL`` characters are added to them as [1], [2], ...

    ``prose``: headers of columns that hold sentences (a claims table's statement and reason). They leave the grid
    and each row's are set under it, full width, as "Header: text", so the text stays with its row."""
    keep = [i for i, h in enumerate(header) if h not in prose]
    lay = _layout([header[i] for i in keep], [[row[i] for i in keep] for row in rows], notes)
    spec = "l" + "c" * (len(keep) - 1)
    body = [" & ".join(row) + r" \\" for row in lay.rows]
    if len(keep) < len(header):
        width = rf"p{{\dimexpr\linewidth-{2 * _TABCOLSEP_PT:g}pt\relax}}"
        body = [line + "\n" + rf"\multicolumn{{{len(keep)}}}{{{width}}}{{\raggedright\footnotesize "
                + "; ".join(rf"\emph{{{_tex(header[i])}:}} {_tex(row[i], breakable=True)}"
                            for i, h in enumerate(header) if h in prose) + r"} \\[2pt]"
                for line, row in zip(body, rows)]
    tabular = r"\begin{tabular*}{\linewidth}" + f"{{@{{\\extracolsep{{\\fill}}}}{spec}}}" if prose else \
        rf"\begin{{tabular}}{{{spec}}}"
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\{lay.size}",
             rf"\setlength{{\tabcolsep}}{{{_TABCOLSEP_PT:g}pt}}",
             rf"\caption{{{_tex(caption_text(caption))}}}", rf"\label{{{label}}}",
             tabular, r"\toprule", " & ".join(lay.header) + r" \\", r"\midrule",
             *body, r"\bottomrule", r"\end{tabular*}" if prose else r"\end{tabular}"]
    if lay.notes:
        lines += [r"\par\smallskip", r"\begin{minipage}{\linewidth}\footnotesize\raggedright",
                  *[note + r"\par" for note in lay.notes], r"\end{minipage}"]
    return "\n".join([*lines, r"\end{table}", ""])


# ---------------------------------------------------------------------------------------------------------------
# What a report wrote, in order: the document (report.tex) is built from it.

@dataclass(frozen=True)
class Written:
    kind: str  # "table" or "figure"
    path: Path  # the .tex file, or the figure's PDF
    caption: str


_RECORD: contextvars.ContextVar[list | None] = contextvars.ContextVar("report_outputs", default=None)


@contextlib.contextmanager
def recording():
    """Collects every table and figure written inside the block, in order (a list of ``Written``)."""
    written: list[Written] = []
    token = _RECORD.set(written)
    try:
        yield written
    finally:
        _RECORD.reset(token)


def _record(kind: str, path: Path, caption: str) -> None:
    written = _RECORD.get()
    if written is not None:
        written.append(Written(kind, Path(path), caption))


def write_table(path: Path, header: list[str], rows: list[list[str]], caption: str, label: str, notes=(),
                prose=()) -> Path:
    """Write ``latex_table(...)`` to ``path`` (folders made as needed) and record it for the report document."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(latex_table(header, rows, caption, label, notes, prose), encoding="utf-8")
    _record("table", path, caption)
    return path


def replace_folder(final: Path, fill) -> Path:
    """Build a report folder with ``fill(work_dir)`` beside ``final``, then swap it in: nothing half-written,
    and the old folder stays until the new one is complete. The folder gets the umask's usual modes (e.g. 755),
    not mkdtemp's private 700."""
    import shutil
    import tempfile
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
    work = scratch / final.name
    try:
        work.mkdir()  # mode 777 less the umask, like every folder fill() makes inside it
        fill(work)
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


def _figure_title(fig) -> str:
    if fig._suptitle is not None and fig._suptitle.get_text():
        return fig._suptitle.get_text()
    for ax in fig.axes:
        if ax.get_title():
            return ax.get_title()
    return ""


def _unnumbered(fig) -> None:
    """The image's own titles lose the paper's "Figure 5:": LaTeX numbers the figure and its caption (and the
    Markdown section) name the paper's number, so an image never shows a number its caption contradicts."""
    titles = [fig._suptitle] if fig._suptitle is not None else []
    titles += [ax.title for ax in fig.axes]
    for title in titles:
        text = title.get_text()
        m = _NUMBERED.match(text)
        if m and m.group(2).strip():
            rest = m.group(2).strip()
            title.set_text(rest[:1].upper() + rest[1:])


def save_figure(fig, out_dir: Path, name: str, caption: str | None = None) -> list[Path]:
    """PNG and PDF without timestamps, so the same runs give byte-identical files. ``caption`` (default: the
    figure's title) goes under the figure in report.tex."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    caption = caption if caption is not None else _figure_title(fig)
    _unnumbered(fig)
    fig.savefig(paths[0], dpi=120, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    plt.close(fig)
    _record("figure", paths[1], caption)
    return paths
