"""What a finished search left behind: runs/search/<paper>-<profile>-<experiment>.yaml, its choice per (task, arm).
Read by planning and selection ({searched: EXP} settings) and the reports; written by pipelines.search. Pure:
config and YAML, no Ray, so selection can read choices without importing the search driver."""
from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.config import SuiteConfig
from pipelines.experiment_graph import SEARCH_PREFIX


def searchable(config: SuiteConfig, paper: str) -> list[str]:
    return [n for n, e in config.paper(paper)["experiments"].items() if "search" in e]


def result_path(config: SuiteConfig, paper: str, profile: str, experiment: str) -> Path:
    return config.runs_dir / "search" / f"{paper}-{profile}-{experiment}.yaml"


def search_choices(config: SuiteConfig, paper: str, profile: str) -> dict:
    """{("search:EXP", task, arm): settings} from the written search results of the paper's searchable experiments."""
    out = {}
    for experiment in searchable(config, paper):
        path = result_path(config, paper, profile, experiment)
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for task, arms in data["choices"].items():
                for arm, chosen in arms.items():
                    out[(SEARCH_PREFIX + experiment, task, arm)] = chosen["settings"]
    return out
