"""suite.yaml read: the file and its YAML (a duplicate key is an error), validated (pipelines.validation), as a
SuiteConfig whose papers and profiles planning reads. Every mistake is a ConfigError with a one-line message."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.config_errors import ConfigError, choices
from pipelines.experiment_graph import references, teacher_sources
from pipelines.resolved import Paper, Profile
from pipelines.validation import TOP_KEYS, validate

__all__ = ["ConfigError", "DEFAULT_CONFIG", "REPO_ROOT", "SuiteConfig", "load", "parse_yaml", "scratch_copy",
           "validate"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "suite.yaml"


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader (same safe constructors) that rejects a key written twice in one mapping, which
    PyYAML would otherwise accept silently, the last one winning."""

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _no_duplicates(node, [])
        return self.construct_document(node)


def _no_duplicates(node, where: list[str], seen_nodes=None) -> None:
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias: checked where it was defined
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name != "<<":
                first = lines.setdefault((key.tag, name), key.start_mark.line + 1)
                if first != key.start_mark.line + 1:
                    place = f"in {'.'.join(where)}" if where else "at the top level"
                    raise ConfigError(f"duplicate key {name!r} at lines {first} and {key.start_mark.line + 1} "
                                      f"({place})")
            _no_duplicates(value, where + [str(name)], seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _no_duplicates(item, where[:-1] + [f"{where[-1]}[{i}]"] if where else [f"[{i}]"], seen_nodes)


def parse_yaml(text: str, name: str):
    """safe_load semantics, plus: a duplicate key is an error; errors name the file, line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506  (_Loader is a yaml.SafeLoader)
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise ConfigError(f"{name}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: invalid YAML: {' '.join(str(exc).split())}") from None


@dataclass(frozen=True)
class SuiteConfig:
    path: Path
    data: dict  # suite.yaml as written, validated
    papers: dict[str, Paper]  # from validation, as the profiles below
    profiles: dict[tuple[str, str], Profile]  # (profile, paper) -> the paper's view of the profile

    @property
    def runs_dir(self) -> Path:
        return (self.path.parent / self.data["runs_dir"]).resolve()

    def paper(self, name: str) -> Paper:
        if name not in self.papers:
            raise ConfigError(f"unknown paper {name!r} (valid: {choices(self.papers)})")
        return self.papers[name]

    def profile(self, name: str | None, paper: str | None = None) -> tuple[str, dict | Profile]:
        """The profile's name and, for a paper, its resolved view (a Profile); without a paper, the profile as
        written (name, description, scale)."""
        name = name or self.data["default_profile"]
        profiles = self.data["profiles"]
        if name not in profiles:
            raise ConfigError(f"unknown profile {name!r} (valid: {choices(profiles)})")
        if paper is None:
            return name, profiles[name]
        self.paper(paper)  # an unknown paper: its one-line error
        return name, self.profiles[(name, paper)]

    def experiments(self, paper: str, chosen: list[str] | None) -> list[str]:
        """The chosen experiments (all by default) plus the earlier stages they select from."""
        declared = self.paper(paper).experiments
        for name in chosen or []:
            if name not in declared:
                raise ConfigError(f"unknown experiment {name!r} for paper {paper!r} (valid: {choices(declared)})")
        wanted = set(chosen or declared)
        while True:
            sources = {source for n in wanted for _, source, _ in references(declared[n], searches=False)}
            sources |= {source for n in wanted for source in teacher_sources(declared[n], n)}
            if sources <= wanted:
                return [n for n in declared if n in wanted]
            wanted |= sources


def scratch_copy(root: Path, mutate=None) -> Path:
    """suite.yaml copied to ``root`` with its runs (MLflow store, Ray results, reports) under ``root/runs``;
    ``mutate(data)`` edits it first. For tests and benchmarks that must not touch the real runs folder."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["runs_dir"] = str(root / "runs")
    if mutate:
        mutate(data)
    path = root / "suite.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load(path: str | Path | None = None) -> SuiteConfig:
    path = Path(path or DEFAULT_CONFIG).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; --config takes the path of a suite.yaml file") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the config file (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); is it a suite.yaml?") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
    data = parse_yaml(text, path.name)
    if data is None:
        raise ConfigError(f"{path.name}: the file is empty; expected a mapping with keys "
                          f"{choices(sorted(TOP_KEYS))}")
    return SuiteConfig(path, data, *validate(data, path))
