"""Both model kinds implement the loop's contract (trainers.run_kind.RunKind), and the loop reads nothing of a run
beyond it: a new kind that implements RunKind needs no edit of the loop."""
import inspect
import re

import pytest

from trainers import loop
from trainers.multitask.train import MultitaskRun
from trainers.run_kind import RunKind

METHODS = {name for name, member in vars(RunKind).items() if inspect.isfunction(member) and not name.startswith("_")}
ATTRIBUTES = set(RunKind.__annotations__)


@pytest.mark.parametrize("kind", [loop.SingleTaskRun, MultitaskRun], ids=lambda k: k.__name__)
def test_each_model_kind_has_the_contracts_methods_with_its_parameters(kind):
    for name in sorted(METHODS | {"__init__"}):  # the loop passes them by position: their number and defaults
        ours = [p.default for p in inspect.signature(getattr(RunKind, name)).parameters.values()]
        theirs = [p.default for p in inspect.signature(getattr(kind, name)).parameters.values()]
        assert theirs == ours, f"{kind.__name__}.{name} takes {len(theirs)} arguments (defaults {theirs}), " \
                               f"RunKind {len(ours)} ({ours})"
    for name in ("outputs_at", "block_distance"):  # the loop reads them before the first step
        assert hasattr(kind, name), f"{kind.__name__} has no class attribute {name}"
    assert kind.outputs_at in ("last", "best")


def test_the_loop_reads_only_the_contract_of_a_run():
    used = set(re.findall(r"\brun\.(\w+)", inspect.getsource(loop.train)))
    assert used, "the loop no longer names its run object `run`: update this test"
    assert used <= METHODS | ATTRIBUTES, f"the loop reads {sorted(used - METHODS - ATTRIBUTES)} outside RunKind"


def test_a_class_missing_a_member_is_not_a_run_kind():
    class Partial:
        def total_steps(self):
            return 1
    assert not isinstance(Partial(), RunKind)
