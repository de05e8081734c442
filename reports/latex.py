"""report.tex: one LaTeX document per report folder, holding the report's title, its opening paragraphs, every
table file (``\\input``) and every figure (its PDF, with a caption) in report order. Paper-agnostic: the report
stage (reports.build) writes it after a paper's ``render(ctx)`` from what that render recorded
(reports.render.recording), so every paper's report gets it without listing its outputs.

Needs only TeX Live's latex-base, latex-recommended (booktabs) and fonts-recommended (Times, T1) packages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from reports.render import Written, _tex, caption_text

TABLE_BEGIN = "<<report-table {path}>>"  # \typeout markers around each table: reports.pdf finds overfull tables
TABLE_END = "<<report-table-end>>"

PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{mathptmx}
\usepackage[scaled=0.9]{helvet}
\usepackage{courier}
\usepackage[margin=2cm]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\emergencystretch=2em
\makeatletter
% Tables and figures stay where the report puts them, in order: a box that never floats (no pile-up of
% unplaced floats), moved to the next page when it does not fit.
\newenvironment{reportitem}[1]{\par\addvspace{\intextsep}\noindent\begin{minipage}{\linewidth}\def\@captype{#1}}%
  {\end{minipage}\par\addvspace{\intextsep}}
\renewenvironment{table}[1][]{\begin{reportitem}{table}}{\end{reportitem}}
\renewenvironment{figure}[1][]{\begin{reportitem}{figure}}{\end{reportitem}}
\makeatother
"""


@dataclass(frozen=True)
class Item:
    kind: str  # "table": a .tex file to \input; "figure": a PDF to include with ``caption``
    path: str  # relative to the report folder, with forward slashes
    caption: str = ""


def from_markdown(markdown: str) -> tuple[str, list[str]]:
    """The title (first ``# `` line) and the paragraphs before the first ``## `` section of a report.md."""
    title, paragraphs, current = "", [], []
    for line in markdown.splitlines():
        if line.startswith("## "):
            break
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return title, paragraphs


def document(title: str, intro: list[str], items: list[Item]) -> str:
    """The LaTeX source: title, intro paragraphs (Markdown **bold** and `code` allowed), then each item."""
    body = [PREAMBLE, rf"\title{{{_tex(title)}}}", r"\author{}", r"\date{}", r"\begin{document}", r"\maketitle", ""]
    for paragraph in intro:
        body += [_tex(paragraph, breakable=True), ""]
    for item in items:
        if item.kind == "table":
            body += [rf"\typeout{{{TABLE_BEGIN.format(path=item.path)}}}", rf"\input{{{item.path}}}",
                     rf"\typeout{{{TABLE_END}}}", ""]
        else:
            caption = rf"\caption{{{_tex(caption_text(item.caption), breakable=True)}}}" if item.caption else ""
            body += [r"\begin{figure}[htbp]", r"\centering",
                     rf"\includegraphics[width=\linewidth,height=0.42\textheight,keepaspectratio]{{{item.path}}}",
                     *([caption] if caption else []), r"\end{figure}", ""]
    body += [r"\end{document}", ""]
    return "\n".join(body)


def items_in(folder: Path, written: list[Written]) -> list[Item]:
    """The recorded tables and figures that are in ``folder``, in the order written (a file written twice keeps
    its first place and its last caption), then any other ``tables/*.tex`` and ``figures/*.pdf`` by name."""
    folder = Path(folder)
    found: dict[str, Item] = {}
    for w in written:
        path = Path(w.path)
        try:
            rel = path.resolve().relative_to(folder.resolve()).as_posix()
        except ValueError:
            continue
        if path.is_file():
            found[rel] = Item(w.kind, rel, w.caption)
    for kind, pattern in (("table", "tables/*.tex"), ("figure", "figures/*.pdf")):
        for path in sorted(folder.glob(pattern)):
            rel = path.relative_to(folder).as_posix()
            if rel not in found:
                found[rel] = Item(kind, rel, re.sub(r"[-_]", " ", path.stem).capitalize() if kind == "figure" else "")
    return list(found.values())


def write_report_tex(folder: Path, markdown: str, written: list[Written]) -> Path:
    """``folder/report.tex`` for the report whose Markdown is ``markdown`` and whose outputs are ``written``."""
    title, intro = from_markdown(markdown)
    path = Path(folder) / "report.tex"
    path.write_text(document(title, intro, items_in(folder, written)), encoding="utf-8")
    return path
