"""Which reports ship. A paper's `report:` in suite.yaml names two things here: its report module (reports/<name>/)
and its published numbers (reports/published/<name>.yaml)."""
from __future__ import annotations

from pathlib import Path

from pipelines.config import ConfigError, SuiteConfig

PUBLISHED = Path(__file__).with_name("published")


def shipped() -> list[str]:
    """The reports that have both their published numbers and their module."""
    return sorted(p.stem for p in PUBLISHED.glob("*.yaml") if (PUBLISHED.parent / p.stem / "__init__.py").is_file())


def check_papers(config: SuiteConfig) -> None:
    """Every paper's `report:` names a shipped report: a one-line ConfigError before anything runs (the CLI calls it
    on loading the config; the config layer does not know the reports)."""
    valid = shipped()
    for name, paper in config.data["papers"].items():
        if paper["report"] not in valid:
            raise ConfigError(f"{config.path.name}: papers.{name}.report: unknown report {paper['report']!r} "
                              f"(valid: {', '.join(valid)})")
