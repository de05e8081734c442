"""LaTeX output: escaping, captions, notes, tables that fit the page, report.tex, `make report-pdf`
(reports.pdf) on the smoke study's real report, and report folder permissions."""
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from reports import pdf
from reports.latex import Item, document, from_markdown
from reports.render import _tex, caption_text, latex_table, replace_folder


def need_pdflatex():
    if shutil.which("pdflatex"):
        return
    message = f"pdflatex is missing: {pdf.INSTALL_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_tex_escapes_symbols_and_specials_to_ascii():
    assert _tex("≤ 53.1") == r"$\leq$ 53.1"
    assert _tex("69.5 ± 2.5") == r"69.5 $\pm$ 2.5"
    assert _tex("10% of runs_seed & #3 $5") == r"10\% of runs\_seed \& \#3 \$5"
    assert _tex("—") == r"\textemdash{}" and _tex("a – b") == r"a \textendash{} b"
    assert _tex("≥ × → λ=0.01 {x}^2 ~ \\") == \
        r"$\geq$ $\times$ $\rightarrow$ $\lambda$=0.01 \{x\}\textasciicircum{}2 \textasciitilde{} \textbackslash{}"
    assert _tex("**20.4 ± 0.2**") == r"\textbf{20.4 $\pm$ 0.2}"
    assert _tex("model `all-MiniLM_L6` --profile") == r"model \texttt{all-MiniLM\_L6} -{}-profile"
    weird = "≈ ≠ … “q” é ∑ 𝛼 ☃"
    assert _tex(weird).isascii()


def test_captions_are_numbered_once():
    assert caption_text("Table 3: datasets, split sizes") == "Datasets, split sizes. Paper's Table 3."
    assert caption_text("Figures 3 and 11: training loss (smoke)") == \
        "Training loss (smoke). Paper's Figures 3 and 11."
    assert caption_text("Figure 2 summary: test performance") == "Figure 2 summary: test performance"
    tex = latex_table(["Task", "x"], [["RTE", "1"]], "Table 5: full MNLI (ours at profile smoke)", "tab:t5")
    caption = re.search(r"\\caption\{(.*)\}", tex).group(1)
    assert caption == "Full MNLI (ours at profile smoke). Paper's Table 5."
    assert not re.search(r"\\caption\{\s*Tables?\s+\d", tex)


def test_tables_carry_their_notes_and_long_cells_become_markers():
    long = "not available offline (data/glue/QQP/train.tsv, data/glue/QQP/dev.tsv missing) (363k)"
    tex = latex_table(["Task", "Train", "Val"], [["QQP", long, "— (1k)"], ["RTE", "**1.0 ± 0.1**", "2"]],
                      "Table 3: datasets", "tab:t3", ["(a) not run: no GPU", "**Bold**: the best mean."])
    body = tex[tex.index(r"\midrule"):tex.index(r"\bottomrule")]
    assert "[1]" in body and "offline" not in body  # the long text is under the table, not in the cell
    notes = tex[tex.index(r"\end{tabular}"):]
    assert "[1] not available offline" in notes and "(a) not run: no GPU" in notes
    assert r"\textbf{Bold}: the best mean." in notes
    assert tex.isascii()


def test_report_tex_holds_title_intro_tables_and_figures_in_order():
    title, intro = from_markdown("# A report\n\nProfile **smoke**: x\ny.\n\nSecond.\n\n## Table 1\n\nbody\n")
    assert title == "A report" and intro == ["Profile **smoke**: x y.", "Second."]
    tex = document(title, intro, [Item("table", "tables/t1.tex"), Item("figure", "figures/f2.pdf", "Figure 2: a ≤ b"),
                                  Item("table", "tables/t0.tex")])
    assert r"\title{A report}" in tex and r"Profile \textbf{smoke}: x y." in tex
    assert tex.index("tables/t1.tex") < tex.index("figures/f2.pdf") < tex.index("tables/t0.tex")
    assert r"\caption{A $\leq$ b. Paper's Figure 2.}" in tex
    for package in ("booktabs", "graphicx", "geometry", "fontenc", "inputenc"):
        assert package in tex


def test_report_folders_are_755_and_files_644(tmp_path):
    def fill(work: Path):
        (work / "tables").mkdir()
        (work / "tables" / "t.tex").write_text("x")
        (work / "report.md").write_text("# r\n")

    old = os.umask(0o022)
    try:
        final = replace_folder(tmp_path / "reports" / "paper-smoke", fill)
        replace_folder(final, fill)  # replacing an existing folder too
    finally:
        os.umask(old)
    assert stat.S_IMODE(final.stat().st_mode) == 0o755
    assert stat.S_IMODE((final / "tables").stat().st_mode) == 0o755
    assert stat.S_IMODE((final / "report.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((final / "tables" / "t.tex").stat().st_mode) == 0o644
    assert [p.name for p in final.parent.iterdir()] == ["paper-smoke"]  # no scratch folder left


def test_report_pdf_errors_are_one_line(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "none"
    assert pdf.main(["revisiting", "--dir", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no report at" in err and "make reproduce PAPER=revisiting" in err
    folder.mkdir()
    (folder / "report.tex").write_text("x")
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    assert pdf.main(["revisiting", "--dir", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pdflatex not found" in err and "apt-get install texlive-latex-base" in err


def test_a_table_wider_than_the_page_or_a_latex_error_fails(tmp_path, capsys):
    need_pdflatex()
    (tmp_path / "tables").mkdir()
    wide = latex_table(["Task", *[f"c{i}" for i in range(40)]], [["RTE", *["69.5 ± 2.5"] * 40]], "Table 1: wide", "t")
    (tmp_path / "tables" / "wide.tex").write_text(wide)
    (tmp_path / "report.tex").write_text(document("Wide", [], [Item("table", "tables/wide.tex")]))
    assert pdf.main(["revisiting", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "overfull box (a table, figure or line wider than the page)" in err and "tables/wide.tex: Overfull \\hbox" in err
    assert (tmp_path / "report.log").exists() and not (tmp_path / "report.pdf").exists()
    (tmp_path / "tables" / "wide.tex").write_text(r"\begin{table}\undefinedmacro\end{table}")
    assert pdf.main(["revisiting", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "LaTeX error" in err and "Undefined control sequence" in err


def test_the_smoke_report_compiles_to_a_pdf_with_every_table_and_figure(study, tmp_path):
    need_pdflatex()
    _, runs, _ = study
    folder = shutil.copytree(runs / "reports" / "revisiting-smoke", tmp_path / "revisiting-smoke")  # not in place
    markdown, tex = (folder / "report.md").read_text(), (folder / "report.tex").read_text()
    tables = sorted(p.relative_to(folder).as_posix() for p in (folder / "tables").glob("*.tex"))
    figures = sorted(p.relative_to(folder).as_posix() for p in (folder / "figures").glob("*.pdf"))
    assert len(tables) == 10 and len(figures) >= 15 and tex.rindex("tables/claims.tex") > tex.rindex("figures/")
    for table in tables:
        assert f"`{table}`" in markdown, table  # report.md links every table file
        assert rf"\input{{{table}}}" in tex, table
        text = (folder / table).read_text()
        assert text.isascii(), table
        assert not re.search(r"\\caption\{\s*Tables?\s+\d+\s*:", text), table
        if "not run (" in text:
            assert re.search(r"\(a\) (not run|not planned|not in|pending|failed)", text), table  # keys explained
        if r"\textbf" in text.split(r"\end{tabular}")[0]:
            assert r"\textbf{Bold}" in text.split(r"\end{tabular}")[1], table  # what bold means
    for figure in figures:
        assert f"{{{figure}}}" in tex, figure
    order = [tex.index(t) for t in ("tables/table1.tex", "tables/table3.tex", "figures/figure1.pdf",
                                    "figures/figure2.pdf", "tables/figure2.tex", "figures/figure9.pdf")]
    assert order == sorted(order)  # report order
    assert pdf.main(["revisiting", "--dir", str(folder)]) == 0
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert not (folder / "report.log").exists()


def test_an_overfull_line_of_text_fails_and_long_code_names_wrap(tmp_path, capsys):
    """Every overfull box fails, not only tables'; a `name` in typewriter text may wrap after its hyphens (the
    minBERT reports' opening paragraph ran 33pt into the margin on `paraphrase-MiniLM-L3-v2`)."""
    need_pdflatex()
    filler = "The student is trained on the teacher's soft labels at the profile's scale, with"
    names = " ".join(["`paraphrase-MiniLM-L3-v2-with-a-longer-name`"] * 6)
    (tmp_path / "report.tex").write_text(document("Code", [f"{filler} {names}."], []))
    assert pdf.main(["revisiting", "--dir", str(tmp_path)]) == 0, capsys.readouterr().err
    assert r"paraphrase-\allowbreak{}MiniLM" in (tmp_path / "report.tex").read_text()
    (tmp_path / "report.tex").write_text(document("Word", [filler + " " + "x" * 120 + "."], []))
    assert pdf.main(["revisiting", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "overfull box" in err and "report.tex: Overfull \\hbox" in err and "xxxx" in err
