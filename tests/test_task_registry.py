"""The task registry finds its tasks: each non-underscore module of trainers/tasks/ defines TASKS (a tuple of Task)
and ORDER, and the registry lists the modules' tasks by ORDER, so adding a task is one file (docs/adding-a-paper.md).
A task name defined twice stops the import, naming both modules."""
import importlib
import pkgutil
import sys

import pytest

import trainers.tasks as tasks
from trainers.tasks import TASKS, get_task

NEW_MODULE = '''
from trainers.tasks._base import Task

ORDER = 8
TASKS = (Task("Toy", "accuracy", 2, "given", {"all": "data/toy/all.tsv"}, (10, 5, 5), 20),)
'''


def task_modules():
    return [importlib.import_module(f"trainers.tasks.{m.name}") for m in pkgutil.iter_modules(tasks.__path__)
            if not m.name.startswith("_")]


def discover_with(tmp_path, monkeypatch, source: str) -> dict:
    """The registry as the package's import builds it, with one more module file (``source``) in the package."""
    (tmp_path / "added.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(tasks, "__path__", [*tasks.__path__, str(tmp_path)])
    try:
        return tasks._discover()
    finally:
        sys.modules.pop("trainers.tasks.added", None)


def test_every_task_modules_tasks_are_registered_once_by_order():
    modules = sorted(task_modules(), key=lambda m: (m.ORDER, m.__name__))
    assert len(modules) >= 7 and all(isinstance(m.TASKS, tuple) for m in modules)
    assert list(TASKS) == [t.name for m in modules for t in m.TASKS]  # every task, none overwritten
    assert all(TASKS[t.name] is t for m in modules for t in m.TASKS)
    # every list of valid tasks (get_task's, pipelines.config's errors) is the registry's order: GLUE's tasks first
    assert list(TASKS)[:5] == ["RTE", "MRPC", "STS-B", "CoLA", "SST-2"]
    with pytest.raises(KeyError) as err:
        get_task("XNLI")
    assert err.value.args[0] == f"unknown task 'XNLI' (valid: {', '.join(TASKS)})"


def test_a_new_task_module_is_registered_with_no_other_edit(tmp_path, monkeypatch):
    found = discover_with(tmp_path, monkeypatch, NEW_MODULE)
    assert list(found) == [*TASKS, "Toy"] and found["Toy"].sizes == (10, 5, 5)
    assert "Toy" not in TASKS  # the package's own registry is untouched


def test_a_task_name_defined_twice_stops_the_import_naming_both_modules(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"^task 'RTE' defined twice: in trainers\.tasks\.glue and "
                                         r"trainers\.tasks\.added$"):
        discover_with(tmp_path, monkeypatch, NEW_MODULE.replace('"Toy"', '"RTE"'))
