"""`make report-pdf`: compile a report folder's report.tex to report.pdf with pdflatex.

    python -m reports.pdf PAPER [--profile P] [--config suite.yaml] [--dir FOLDER]

Runs pdflatex twice in the report folder (auxiliary files go to a temporary folder), quietly. Fails (exit 1),
printing the LaTeX error lines, on any LaTeX error and on any overfull box (a table, a figure or a line of text
wider than the page, or a box taller than it); exit 2, with one line saying what to do, when pdflatex is missing or the report does not exist.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.config import ConfigError, load
from reports.latex import TABLE_BEGIN, TABLE_END

APT_PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-fonts-recommended"
INSTALL_HINT = (f"install TeX Live: `sudo apt-get install {APT_PACKAGES}` (Debian/Ubuntu) or MacTeX/BasicTeX "
                f"(macOS: `brew install --cask basictex`)")
_ERROR = re.compile(r"^(!|\S+?:\d+: )")
_OVERFULL = re.compile(r"^Overfull \\[hv]box \((?P<pt>[\d.]+)pt too (wide|high)\)")
_BEGIN = re.compile(re.escape(TABLE_BEGIN).replace(r"\{path\}", r"(?P<path>.+?)"))


class PdfError(Exception):
    """Compilation failed; ``details`` holds the lines of the LaTeX log that say why."""

    def __init__(self, message: str, details: str = "", code: int = 1):
        super().__init__(message)
        self.details, self.code = details, code


def problems(log: str) -> tuple[list[str], list[str]]:
    """(error lines with their context, overfull boxes) found in a pdflatex log. An overfull box is named by the
    table file it is in, else by the log's own location and the text LaTeX shows for it (the line after)."""
    lines = log.splitlines()
    errors, overfull, table = [], [], None
    for i, line in enumerate(lines):
        begin = _BEGIN.search(line)
        if begin:
            table = begin.group("path")
        elif TABLE_END in line:
            table = None
        elif _ERROR.match(line) and "==> Fatal error occurred" not in line:
            errors.append("\n".join(lines[i:i + 4]).rstrip())
        else:
            m = _OVERFULL.match(line)
            if m and float(m.group("pt")) > 0.0:
                where = table or "report.tex"
                shown = lines[i + 1].strip() if table is None and i + 1 < len(lines) else ""
                overfull.append(f"{where}: {line.strip()}" + (f" {shown[:120]}" if shown else ""))
    return errors, overfull


def compile_report(folder: Path, timeout: float = 300) -> Path:
    """``folder/report.tex`` -> ``folder/report.pdf``; raises PdfError. On failure report.log is kept beside it."""
    folder = Path(folder)
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise PdfError(f"pdflatex not found: {INSTALL_HINT}", code=2)
    if not (folder / "report.tex").is_file():
        raise PdfError(f"{folder / 'report.tex'} not found: rebuild the report (`make report` or `make reproduce`) "
                       f"with this version of the suite", code=2)
    env = dict(os.environ, max_print_line="10000", error_line="254", half_error_line="238")  # unwrapped log lines
    for stale in ("report.pdf", "report.log"):
        (folder / stale).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as build:
        command = [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
                   f"-output-directory={build}", "report.tex"]
        for _ in range(2):  # the second pass settles references
            try:
                proc = subprocess.run(command, cwd=folder, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                      text=True, errors="replace", timeout=timeout)
            except subprocess.TimeoutExpired:
                raise PdfError(f"pdflatex did not finish in {timeout:.0f} s on {folder / 'report.tex'}") from None
            log_file = Path(build) / "report.log"
            log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else proc.stdout
            errors, overfull = problems(log)
            if proc.returncode != 0 or errors or overfull:
                if log_file.exists():
                    shutil.copyfile(log_file, folder / "report.log")
                if errors or proc.returncode != 0:
                    detail = "\n".join(errors) or proc.stdout[-2000:]
                    raise PdfError(f"LaTeX error in {folder / 'report.tex'} (log: {folder / 'report.log'})", detail)
                raise PdfError(f"overfull box (a table, figure or line wider than the page) in {folder / 'report.tex'} "
                               f"(log: {folder / 'report.log'})", "\n".join(overfull))
        shutil.copyfile(Path(build) / "report.pdf", folder / "report.pdf")
    return folder / "report.pdf"


def report_folder(paper: str, profile: str | None, config_path: str | None) -> Path:
    config = load(config_path)
    name, _ = config.profile(profile)
    config.paper(paper)
    return config.runs_dir / "reports" / f"{paper}-{name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.pdf", description=__doc__.splitlines()[0])
    parser.add_argument("paper")
    parser.add_argument("--profile", default=None, help="default: suite.yaml's default profile")
    parser.add_argument("--config", default=None, help="suite.yaml (default: the repository's)")
    parser.add_argument("--dir", default=None, help="compile this report folder instead")
    args = parser.parse_args(argv)
    try:
        if args.dir:
            folder = Path(args.dir)
        else:
            try:
                folder = report_folder(args.paper, args.profile, args.config)
            except ConfigError as exc:
                raise PdfError(str(exc), code=2) from None
        if not folder.is_dir():
            profile = f" PROFILE={folder.name[len(args.paper) + 1:]}" if folder.name.startswith(args.paper) else ""
            raise PdfError(f"no report at {folder}: run `make reproduce PAPER={args.paper}{profile}` first", code=2)
        pdf = compile_report(folder)
    except PdfError as exc:
        print(f"report-pdf: error: {exc}", file=sys.stderr)
        if exc.details:
            print(exc.details, file=sys.stderr)
        return exc.code
    print(f"report PDF written: {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
