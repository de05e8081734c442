"""Seeds in looks under a budget (issue 28; pipelines.looks, reports.looks): a look of n pairs plans the same trials
as a profile of n seeds, the next look grows only what an undecided claim reads (and its teachers), the looks are
replayed from the finished runs (a live run and a rebuilt report make the same ones), and the budget stops them.
Fast tier: the toy paper's store written by hand (no Ray, no training) and the shipped labelreg example's data."""
import copy
import shutil
from pathlib import Path

import pytest

from helpers import study_config
from pipelines.config import ConfigError, load, scratch_copy
from pipelines.looks import LookDesign, config_at, next_counts, parse_budget
from pipelines.plan import make_plan
from test_teachers import FINETUNE, MODELS, TOY, claim_rows, write_store

ROOT = Path(__file__).resolve().parents[1]
LABELREG = ROOT / "docs" / "examples" / "labelreg-cpu"


@pytest.mark.parametrize("text,hours", [("2h", 2.0), ("90m", 1.5), ("5400s", 1.5), ("1.5", 1.5), ("45min", 0.75)])
def test_budget_reads_hours_minutes_and_seconds(text, hours):
    assert parse_budget(text) == pytest.approx(hours)


@pytest.mark.parametrize("text", ["two hours", "0h", "-1h", "2d", ""])
def test_a_bad_budget_is_one_line_naming_valid_forms(text):
    with pytest.raises(ConfigError, match=r"BUDGET .*: expected a positive time such as 2h, 90m or 5400s"):
        parse_budget(text)


def toy_looks(tmp_path, pairs=(2, 3, 5), change=None):
    """The tests' toy paper (tests/test_teachers.py) at the smoke profile with a looks block over its five seeds."""
    def mutate(data):
        data["papers"]["toy"] = copy.deepcopy(TOY)
        data["profiles"]["smoke"]["papers"]["toy"] = {"seeds": {"five": 2}, "models": MODELS,
                                                      "looks": {"pairs": list(pairs), "seed_sets": ["five"]}}
        for name, profile in data["profiles"].items():
            if name != "smoke":
                profile.setdefault("papers", {})["toy"] = {"models": MODELS}
        if change:
            change(data)
    return load(study_config(tmp_path, mutate))


def test_a_look_plans_the_trials_a_profile_of_that_many_seeds_plans(tmp_path):
    config = toy_looks(tmp_path)
    looked = make_plan(config_at(config, "toy", {"students": 3}), "toy", "smoke")
    (tmp_path / "three").mkdir()
    three = make_plan(load(study_config(tmp_path / "three", lambda d: _toy_seeds(d, 3))), "toy", "smoke")
    assert looked.ids("students") == three.ids("students") and len(looked.ids("students")) == 5 * 3
    two = make_plan(config, "toy", "smoke").ids("students")
    assert set(two) < set(looked.ids("students"))  # nested: look 2 reuses every trial of look 1
    assert looked.ids("teachers") == three.ids("teachers")  # one teacher seed: not grown


def _toy_seeds(data, n):
    data["papers"]["toy"] = copy.deepcopy(TOY)
    data["profiles"]["smoke"]["papers"]["toy"] = {"seeds": {"five": n}, "models": MODELS}
    for name, profile in data["profiles"].items():
        if name != "smoke":
            profile.setdefault("papers", {})["toy"] = {"models": MODELS}


def test_the_next_look_grows_the_experiments_asked_for_and_their_teachers():
    config = load()
    design = LookDesign((3, 5), ("five",))
    counts = {"glue": 3, "fewrel": 3, "teachers_fewrel": 3, "glue_random": 3}
    assert next_counts(design, config, "labelreg", counts, ["fewrel"], 5) == {
        "glue": 3, "fewrel": 5, "teachers_fewrel": 5, "glue_random": 3}  # FewRel's students read its teachers


def _partial_fit(budget, partial=True, power_pairs=None):
    """labelreg's looks at 3, then 5 pairs, after look 1 took 1 trial-hour: the KD no-gain claim reads glue and
    fewrel (FewRel's students read its teachers), the random-init gain glue_random; 2 more seeds of an experiment
    cost 2 x its trial-hours a seed."""
    from reports.looks import Look, _fit
    counts = {"glue": 3, "fewrel": 3, "teachers_fewrel": 3, "glue_random": 3}
    per_seed = {"glue": 0.3, "fewrel": 0.1, "teachers_fewrel": 0.05, "glue_random": 0.2}
    look = Look(counts, None, 1.0, 0.0, {"kd_no_gain": ["glue", "fewrel"], "ri_gain_kd": ["glue_random"]})
    design = LookDesign((3, 5), ("five",), partial=partial)
    return _fit(design, load(), "labelreg", look, ["kd_no_gain", "ri_gain_kd"], 0, budget, 1,
                lambda grown: sum((grown[e] - counts[e]) * per_seed[e] for e in counts), power_pairs)


def test_a_partial_look_grows_the_cheapest_open_claims_that_fit():
    """Whole, look 2 adds 1.3 trial-hours to 1.0. Under 1.5 h only ri_gain_kd's 0.4 fits; under 2.0 h it is still
    the only one (cheapest first: kd_no_gain's 0.9 after it would make 2.3); under 1.2 h nothing does. Claims the
    next look can power (the power rule's pairs at most its 5) go before those with no estimate, and those before
    the ones it cannot."""
    everything = {"glue": 5, "fewrel": 5, "teachers_fewrel": 5, "glue_random": 5}
    assert _partial_fit(3.0) == (["kd_no_gain", "ri_gain_kd"], everything, "")
    for budget in (1.5, 2.0):
        grows, counts, _ = _partial_fit(budget)
        assert (grows, counts) == (["ri_gain_kd"], {"glue": 3, "fewrel": 3, "teachers_fewrel": 3, "glue_random": 5})
    assert _partial_fit(1.2) == ([], {"glue": 3, "fewrel": 3, "teachers_fewrel": 3, "glue_random": 3},
                                 "look 2 (5 pairs) needs about 1.30 h more after 1.00 h, over 1.2 h, and no open "
                                 "claim's share of it fits")
    assert _partial_fit(1.2, partial=False)[:2] == (["kd_no_gain", "ri_gain_kd"], everything)  # replay checks it
    # a claim the next look can power goes first: kd_no_gain's power rule asks 4 pairs, ri_gain_kd's 40
    grows, counts, _ = _partial_fit(2.0, power_pairs={"kd_no_gain": 4, "ri_gain_kd": 40})
    assert (grows, counts) == (["kd_no_gain"], {"glue": 5, "fewrel": 5, "teachers_fewrel": 5, "glue_random": 3})
    assert _partial_fit(2.0, power_pairs={"kd_no_gain": None, "ri_gain_kd": 40})[0] == ["kd_no_gain"]
    assert _partial_fit(2.0, power_pairs={"kd_no_gain": 6, "ri_gain_kd": None})[0] == ["ri_gain_kd"]


def test_growth_is_costed_from_the_look_that_ran(tmp_path):
    """The toy's look 1 (2 seeds of 5 student arms, one teacher): growing the students to 3 seeds adds half a trial
    for each of their 10, at its measured hours; the teacher (one seed) adds nothing; an unmeasured trial costs its
    experiment's mean."""
    from pipelines.looks import growth_hours
    config = load(study_config(tmp_path, lambda d: _toy_seeds(d, 2)))
    plan = make_plan(config, "toy", "smoke")
    students = plan.ids("students")
    measured = {t: 0.01 * (i + 1) for i, t in enumerate(students)} | {plan.ids("teachers")[0]: 5.0}
    profile = config.profile("smoke", "toy")[1]
    assert growth_hours(plan, profile, measured, {"students": 2}, {"students": 3}) == pytest.approx(
        0.5 * 0.01 * sum(range(1, 11)))
    assert growth_hours(plan, profile, measured, {"students": 2}, {"students": 2}) == 0
    del measured[students[0]]
    assert growth_hours(plan, profile, measured, {"students": 2}, {"students": 5}) == pytest.approx(
        1.5 * (0.01 * sum(range(2, 11)) + 0.01 * sum(range(2, 11)) / 9))


@pytest.mark.parametrize("looks,message", [
    ({"pairs": [4, 2], "seed_sets": ["five"]}, r"looks.pairs: expected increasing integers >= 2"),
    ({"pairs": [1, 2], "seed_sets": ["five"]}, r"looks.pairs: expected increasing integers >= 2"),
    ({"pairs": [2, 3], "seed_sets": ["ten"]}, r"looks.seed_sets: expected a list of the paper's seed sets "
                                              r"\(valid: five, one\)"),
    ({"pairs": [2, 6], "seed_sets": ["five"]}, r"looks.pairs: the last look asks 6 seeds of set 'five', which "
                                               r"lists 5"),
    ({"pairs": [2, 3], "seed_sets": ["five"], "spending": "linear"}, r"looks.spending: expected obf or pocock"),
    ({"pairs": [2, 3], "seed_sets": ["five"], "partial": "yes"}, r"looks.partial: expected true or false, got 'yes'"),
    ({"pairs": [2, 3]}, r"looks: missing key 'seed_sets'"),
])
def test_a_bad_looks_block_is_one_line(tmp_path, looks, message):
    def change(data):
        data["profiles"]["smoke"]["papers"]["toy"]["looks"] = looks
    with pytest.raises(ConfigError, match=r"profiles.smoke.papers.toy." + message):
        toy_looks(tmp_path, change=change)


def test_a_profile_without_looks_says_budget_needs_them():
    with pytest.raises(ConfigError, match=r"profile smoke declares no looks for labelreg: BUDGET needs its `looks:`"):
        LookDesign.of(load(), "labelreg", "smoke")


def test_make_plan_budget_names_the_experiments_the_looks_grow_not_the_skipped_ones():
    """revisiting at signal: its looks grow the table and many seeds of the claims' experiments; the figure-only
    experiments on the same seed sets are skipped at that profile and grow nothing."""
    from pipelines.looks import schedule
    text = schedule(load(), "revisiting", "signal", None, 2.0, 2)
    assert text.splitlines()[0].endswith("seed sets table, many: bias_correction, reinit, longer, methods), were "
                                         "every claim open:")
    looks = [line.split() for line in text.splitlines()[2:]]
    assert [(row[0], row[1], row[2]) for row in looks] == [("1", "4", "80"), ("2", "8", "160")]
    # look 2 costs 2.0004 h wall: over the 2 h budget, so it must not print as 2.00 beside "no"
    assert (looks[1][4], looks[1][5]) == ("2.01", "no:")


def _replay(config, budget=10.0):
    from reports.looks_run import live_replay
    return live_replay(config, "toy", "smoke", None, budget, 2, config.runs_dir)


def _write_look(config, counts, failed=None):
    """The toy's runs at these counts, as its study writes them: KD 2 correct test examples above Finetune on every
    seed, LS one below, Self-KD and KD-random as Finetune (3.6 s of training each)."""
    plan = make_plan(config_at(config, "toy", counts), "toy", "smoke")
    correct = {("teacher", 42): 25}
    for seed, n in FINETUNE.items():
        correct.update({("finetune", seed): n, ("kd", seed): n + 2, ("ls", seed): n - 1, ("selfkd", seed): n,
                        ("kd_random", seed): n})
    write_store(config, plan, correct, failed or {})


def test_looks_replayed_from_the_store_stop_when_the_claim_crosses(tmp_path, monkeypatch):
    """KD gains 2 examples on every seed: sign-flip p 2^-n. Looks at 2, 3, 5 pairs (O'Brien-Fleming): p 0.25 and
    0.125 cross nothing, so each look asks for the next, growing the students (the teacher has one seed); at 5 pairs
    p 0.031 is below the last threshold: reproduced at look 3. The exploratory LS claim is refuted there (the
    other way)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = toy_looks(tmp_path)
    first = _replay(config)
    assert not first.looks and first.next.counts == {"students": 2} and first.stop == "look 1 has not run yet"
    _write_look(config, {"students": 2})
    second = _replay(config)
    assert len(second.looks) == 1 and second.next.counts == {"students": 3}
    assert second.looks[0].needed == {"kd_beats_finetune": ["students"], "ls_beats_finetune": ["students"]}
    _write_look(config, {"students": 3})
    third = _replay(config)
    assert third.next.counts == {"students": 5}
    _write_look(config, {"students": 5})
    done = _replay(config)
    kd = done.verdicts["kd_beats_finetune"]
    assert (done.next, done.stop, kd.verdict, kd.look, kd.pairs) == (None, "the last look", "reproduced", 3, 5)
    assert kd.p == pytest.approx((0.25, 0.125, 0.03125))
    assert kd.p[-1] < kd.thresholds[-1] and kd.p[1] > kd.thresholds[1]
    ls = done.verdicts["ls_beats_finetune"]  # exploratory: its own alpha; one example lost on every seed
    assert (ls.verdict, ls.look) == ("not reproduced", 3) and "the other way on RTE (p 0.0312" in ls.reason
    assert done.spent == pytest.approx((1 + 5 * 5) * 3.6 / 3600 / 2)  # 26 trials of 3.6 s, 2 at a time


def test_the_budget_stops_the_looks_and_the_report_says_so(tmp_path, monkeypatch):
    """Look 1 took 11 trials x 3.6 s = 19.8 s at 2 at a time; look 2's 5 new trials are costed at the students'
    measured 3.6 s: 9 s more. A 25 s budget stops before it: "could not tell", the budget named; the report's
    claims table carries the sequential verdicts and its looks section the design."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from pipelines.selection import resolved_plan
    from reports.build import build_report
    config = toy_looks(tmp_path)
    _write_look(config, {"students": 2})
    state = _replay(config, budget=25 / 3600)
    assert state.next is None and len(state.looks) == 1
    assert state.stop.startswith("the budget: look 2 (3 pairs) needs about 0.00 h more after 0.01 h")
    kd = state.verdicts["kd_beats_finetune"]
    assert kd.verdict == "could not tell" and "undecided after look 1 (2 pairs); the looks end here: the budget" \
        in kd.reason
    with pytest.raises(ConfigError, match=r"BUDGET .* h is below the first look"):
        from reports.looks_run import raise_budget
        (tmp_path / "empty").mkdir()
        raise_budget(_replay(toy_looks(tmp_path / "empty"), budget=1 / 3600))
    path = build_report(config, resolved_plan(config, "toy", "smoke", None), budget={"hours": 25 / 3600, "slots": 2})
    report = path.read_text(encoding="utf-8")
    rows = claim_rows(report.split("## Looks")[0])
    assert rows["kd_beats_finetune"][1] == "could not tell" and "(sequential, look 1 of 3)" in rows[
        "kd_beats_finetune"][6]
    assert "## Looks: seeds where they decide, under a budget" in report
    assert "| 1 | students 2 | 11 | 0.01 |" in report


@pytest.fixture(scope="module")
def labelreg_looks(tmp_path_factory):
    """The shipped labelreg example's data (3 seeds a five-seed experiment) with looks at 2, 3 and 5 pairs."""
    root = tmp_path_factory.mktemp("labelreg")

    def mutate(data):
        data["profiles"]["cpu"]["papers"]["labelreg"]["looks"] = {"pairs": [2, 3, 5], "seed_sets": ["five"]}
    return load(scratch_copy(root, mutate))


def _rebuild(config, budget_hours):
    from pipelines.selection import resolved_plan
    from reports.build import build_report
    from reports.bundle import load_bundle
    bundle = load_bundle(LABELREG)
    plan = resolved_plan(config, "labelreg", "cpu", bundle.experiments, bundle.runs, bundle.searched)
    path = build_report(config, plan, bundle, {"hours": budget_hours, "slots": 2})
    return path.read_text(encoding="utf-8"), path


def test_a_report_replays_its_looks_from_its_data_the_same_every_time(labelreg_looks):
    """Look 1 (2 pairs) grows what the undecided claims read: glue_random for the random-init gains, glue and
    fewrel (and FewRel's teachers) for the no-gain claims; look 2 has run (3 seeds), look 3 has not: the report
    names it. TF-reg's random-init gain is refuted at look 1 (SST-5, whose 8 seeds the looks do not grow, goes the
    other way); KD's no-gain claim waits: SST-5's gain (p 0.023) is above look 2's threshold at its Holm share.
    Rebuilt, the report is the same bytes."""
    report, path = _rebuild(labelreg_looks, 100.0)
    assert "The looks end here: look 3 has not run yet." in report
    # group-sequential Holm has no adjusted p: the column says p, and the note says what it is
    assert "| Verdict | Effect [95% CI] | Pairs | p | Power | Why |" in report
    assert "p is the claim's own p at the look its verdict is from, unadjusted" in report
    assert "| 2 | fewrel 3, glue 3, glue_random 3, glue_searched 2, teachers_fewrel 3 | 113 | 2.51 |" in report
    looks = report.split("## Looks")[1]
    assert "| kd_no_gain | could not tell | 2 | 3 | 0.953, 0.953 | 1.54e-05, 0.00041 | glue, fewrel |" in looks
    assert "| ri_gain_kd | could not tell | 2 | 3 | 0.5, 0.25 | 1.54e-05, 0.00041 | glue_random |" in looks
    assert "| ri_gain_tfreg | not reproduced | 1 | 2 | 0.5 | 1.54e-05 | – |" in looks
    again, _ = _rebuild(labelreg_looks, 100.0)
    assert again == report
    summary = (path.parent / "summary.json").read_text(encoding="utf-8")
    assert '"not reproduced": 2' in summary  # kd_no_gain sequentially, table8 by its own test


def test_a_smaller_budget_stops_the_replay_where_the_run_stopped(labelreg_looks):
    report, _ = _rebuild(labelreg_looks, 1.3)
    assert "The looks end here: the budget: look 3 (5 pairs) needs about" in report


def test_a_partial_look_goes_to_the_claims_that_fit_and_the_report_names_them(tmp_path):
    """The labelreg example with `partial: true`: look 3 whole adds 0.18 h to the 1.25 h spent, over 1.34 h; the
    random-init gains' glue_random seeds fit (every open claim's power rule asks more than 5 pairs: cheapest first),
    the no-gain claims' glue and fewrel do not. Their rows keep look 2's 3 pairs."""
    def mutate(data):
        data["profiles"]["cpu"]["papers"]["labelreg"]["looks"] = {"pairs": [2, 3, 5], "seed_sets": ["five"],
                                                                  "partial": True}
    report, _ = _rebuild(load(scratch_copy(tmp_path, mutate)), 1.34)
    looks = report.split("## Looks")[1]
    assert "| 3 (not run) | fewrel 3, glue 3, glue_random 5, glue_searched 2, teachers_fewrel 3 | 123 | 2.60 (est.) |" \
        in looks
    assert ("Look 3 (not run yet) did not fit the budget whole: its seeds went to ri_gain_kd, ri_gain_ls, "
            "ri_gain_selfkd (the open claims that fit: those the look can power first, each group cheapest first); "
            "kd_no_gain, tfreg_no_gain, ls_no_gain, "
            "selfkd_no_gain kept the pairs they had.") in looks
    assert "A look that does not fit the budget whole gives its seeds to the undecided claims" in looks


@pytest.mark.study
def test_make_reproduce_with_a_budget_runs_the_looks_then_reports_them(tmp_path):
    """`suite reproduce toy --budget 1h` (Ray Tune, MLflow, real training at the smoke scale) on Finetune and KD
    with looks at 2 and 3 pairs: look 1 trains the teacher and 2 seeds an arm, look 2 one more seed an arm (a
    claim undecided at 2 pairs: p >= 1/4 crosses nothing), then the report; rerun, every trial is reused."""
    from helpers import suite

    def two_arms(data):
        arms = data["papers"]["toy"]["experiments"]["students"]["arms"]
        data["papers"]["toy"]["experiments"]["students"]["arms"] = {a: arms[a] for a in ("finetune", "kd")}
        data["papers"]["toy"]["defaults"]["evaluations"] = 1
    config = toy_looks(tmp_path, pairs=(2, 3), change=two_arms)
    proc = suite(config.path, "reproduce", "toy", "--profile", "smoke", "--budget", "1h")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert "toy/smoke: look 1 of 2 (2 pairs): seeds students 2" in out
    assert "toy/smoke: look 2 of 2 (3 pairs): seeds students 3" in out and "undecided: kd_beats_finetune" in out
    assert "toy: trials: 7 ran, 0 reused, 0 failed" in out  # 1 teacher + 2 arms x 3 seeds
    report = (config.runs_dir / "reports" / "toy-smoke" / "report.md").read_text(encoding="utf-8")
    assert "| 2 | students 3 | 7 |" in report and "The looks end here: the last look." in report
    again = suite(config.path, "reproduce", "toy", "--profile", "smoke", "--budget", "1h")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0 and "toy: trials: 0 ran" in out and "look 1 of 2" not in out, out[-2000:]
