"""Rendering helpers: Markdown and booktabs LaTeX tables, deterministic figure files."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fmt_ms(mean: float, std: float) -> str:
    return "—" if mean is None or math.isnan(mean) else f"{mean:.1f} ± {std:.1f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _tex(cell: str) -> str:
    cell = str(cell).replace("±", r"$\pm$").replace("%", r"\%").replace("_", r"\_").replace("—", "--")
    if cell.startswith("**") and cell.endswith("**"):
        return r"\underline{\textbf{" + cell[2:-2] + "}}"
    return cell


def latex_table(header: list[str], rows: list[list[str]], caption: str, label: str) -> str:
    spec = "l" + "c" * (len(header) - 1)
    body = [" & ".join(_tex(c) for c in row) + r" \\" for row in rows]
    return "\n".join([
        r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(caption)}}}", rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(_tex(h) for h in header) + r" \\", r"\midrule",
        *body, r"\bottomrule", r"\end{tabular}", r"\end{table}", "",
    ])


def replace_folder(final: Path, fill) -> Path:
    """Build a report folder with ``fill(work_dir)`` beside ``final``, then swap it in: nothing half-written,
    and the old folder stays until the new one is complete."""
    import shutil
    import tempfile
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
    try:
        fill(work)
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return final


def save_figure(fig, out_dir: Path, name: str) -> list[Path]:
    """PNG and PDF without timestamps, so the same runs give byte-identical files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=120, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    plt.close(fig)
    return paths
