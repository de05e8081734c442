"""The layering of the code, as pyproject.toml's import-linter contracts write it down: bench -> reports ->
pipelines -> trainers | analysis (each imports only the layers below; pipelines.cli, the entry point, calls the
reports), every paper's report package independent of the others' (the packages under reports/ found, so a new
paper needs no edit here, and the toy paper of the tests is held to it too), and no import cycle anywhere."""
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

from pipelines.config import load

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "trainers", "analysis", "reports", "bench")


def test_the_layers_hold_and_each_papers_report_stands_alone(tmp_path):
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    papers = sorted(f"reports.{p.parent.name}" for p in (ROOT / "reports").glob("*/__init__.py"))
    used = {f"reports.{paper['report']}" for paper in load().data["papers"].values()}
    assert used <= set(papers) and "reports.toy" in papers  # suite.yaml's papers' reports, and the tests' toy's
    settings["contracts"].append({"name": "each paper's report package stands alone", "type": "independence",
                                  "modules": papers})
    config = tmp_path / ".importlinter"
    config.write_text(_ini(settings), encoding="utf-8")
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(config)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"Contracts: {len(settings['contracts'])} kept, 0 broken." in proc.stdout


def _ini(settings: dict) -> str:
    """import-linter's INI form of pyproject's [tool.importlinter] table (lists as indented lines)."""
    def section(name: str, values: dict) -> list[str]:
        lines = [f"[{name}]"]
        for key, value in values.items():
            lines += [f"{key} ="] + [f"    {v}" for v in value] if isinstance(value, list) else [f"{key} = {value}"]
        return lines + [""]
    top = {k: v for k, v in settings.items() if k != "contracts"}
    out = section("importlinter", top)
    for i, contract in enumerate(settings["contracts"]):
        out += section(f"importlinter:contract:{i}", contract)
    return "\n".join(out)


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    edges = {m: [i for i in graph.find_modules_directly_imported_by(m) if i in graph.modules] for m in graph.modules}
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph(*PACKAGES)
    assert _cycles(graph) == []
    # the check sees a cycle when there is one: trainers.loop imports trainers.multitask.train
    graph.add_import(importer="trainers.multitask.train", imported="trainers.loop")
    assert ["trainers.loop", "trainers.multitask.train"] in _cycles(graph)
