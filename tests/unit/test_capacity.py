"""The capacity model: Erlang C, the p95 wait, sizing, and a mix routed by the policy."""

import math
from pathlib import Path

import pytest
import yaml

from genroute.analysis.capacity import (
    PathLoad,
    ServiceTimes,
    erlang_c,
    p95_wait,
    planned_p95_wait,
    simulated_p95_wait,
    size,
)
from genroute.analysis.capacity_plan import parse_mix, path_loads
from genroute.analysis.keda_targets import KedaTargets, keda_targets, scaled_object_patch
from genroute.contract import PathName
from genroute.errors import GenrouteError
from genroute.policies import load_catalog, load_policy
from genroute.policies.path_costs import PathCost

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(
    ROOT / "policies" / "default.yaml", load_catalog(ROOT / "policies" / "task_types.yaml")
)
EXPONENTIAL = ServiceTimes(mean_s=2.0, variance_s2=4.0, p95_s=6.0)  # cv^2 = 1


def test_erlang_c_matches_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: the utilisation
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(3, 3.0) == 1.0  # overloaded: everyone waits


def test_the_m_m_1_wait_tail() -> None:
    load = PathLoad("autoregressive", 0.25, EXPONENTIAL, 1, ("chat",))  # rho 0.5
    expected = math.log(0.5 / 0.05) / (1 / 2.0 - 0.25)
    assert p95_wait(load, 1) == pytest.approx(expected)
    assert p95_wait(PathLoad("a", 1.0, EXPONENTIAL, 1, ()), 1) == math.inf


def test_sizing_takes_the_fewest_workers_that_meet_the_budget() -> None:
    load = PathLoad("diffusion", 6.0, EXPONENTIAL, 4, ("ticket_summary",))  # 12 s of work a second
    sizing = size(load, 10.0)
    assert sizing is not None
    assert sizing.p95_response_s <= 10.0 and sizing.utilisation < 1
    fewer = sizing.workers - 1
    assert fewer * 4 <= 12 or planned_p95_wait(load, fewer * 4) + EXPONENTIAL.p95_s > 10.0
    assert size(load, 5.0) is None  # the service's own p95 (6 s) is over the budget


def test_a_mix_is_routed_and_refused_diffusion_work_comes_back_as_fallback() -> None:
    times = {
        ("diffusion", "ticket_summary"): EXPONENTIAL,
        ("autoregressive", "ticket_summary"): ServiceTimes(1.0, 0.25, 2.0),
        ("autoregressive", "extraction"): ServiceTimes(3.0, 1.0, 5.0),
    }
    acceptance = {("diffusion", "ticket_summary"): 0.75}
    widths = {PathName.diffusion: 4, PathName.autoregressive: 8}
    mix = parse_mix("ticket_summary=3,extraction=1")
    loads = {load.path: load for load in path_loads(20.0, mix, POLICY, times, acceptance, widths)}
    assert loads["diffusion"].arrivals_per_s == pytest.approx(15.0)
    # extraction's 5/s plus a quarter of the summaries' 15/s, refused and falling back
    assert loads["autoregressive"].arrivals_per_s == pytest.approx(5.0 + 3.75)
    assert loads["autoregressive"].batch_width == 8
    with pytest.raises(GenrouteError, match="no measured attempts of classification"):
        path_loads(1.0, {"classification": 1.0}, POLICY, times, acceptance, widths)


@pytest.mark.parametrize("text", ["ticket_summary", "a=x", "=1", "a=-1", "a=0"])
def test_a_bad_mix_is_named(text: str) -> None:
    with pytest.raises(GenrouteError, match="--mix"):
        parse_mix(text)


def test_the_simulation_agrees_with_m_m_1_and_knows_fixed_service_waits_less() -> None:
    exponential = PathLoad("a", 0.25, EXPONENTIAL, 1, ())
    analytic = p95_wait(exponential, 1)
    assert simulated_p95_wait(exponential, 1, arrivals=40_000) == pytest.approx(analytic, rel=0.1)
    fixed = PathLoad("a", 0.25, ServiceTimes(2.0, 0.0, 2.0), 1, ())
    assert simulated_p95_wait(fixed, 1) < simulated_p95_wait(exponential, 1)
    assert simulated_p95_wait(PathLoad("a", 1.0, EXPONENTIAL, 1, ()), 1) == math.inf


def _erlang_c_in_logs(servers: int, offered: float) -> float:
    """The textbook sum, each term A^k / k! taken in logarithms so nothing overflows."""
    logs = [k * math.log(offered) - math.lgamma(k + 1) for k in range(servers)]
    last = servers * math.log(offered) - math.lgamma(servers + 1)
    last += math.log(servers / (servers - offered))
    top = max([*logs, last])
    total = sum(math.exp(x - top) for x in logs)
    return math.exp(last - top) / (total + math.exp(last - top))


@pytest.mark.parametrize(("servers", "offered"), [(1_000, 950.0), (1_200, 1_100.0), (5, 4.2)])
def test_erlang_c_holds_at_a_thousand_servers_and_more(servers: int, offered: float) -> None:
    assert erlang_c(servers, offered) == pytest.approx(_erlang_c_in_logs(servers, offered))


def test_sizing_a_large_fleet_ends_with_an_answer() -> None:
    """800 Erlangs overflowed the sum (A^k / k!): NaN, then a search of every worker count."""
    load = PathLoad("autoregressive", 800.0, ServiceTimes(1.0, 0.25, 1.8), 1, ("chat",))
    sizing = size(load, p95_budget_s=2.5)
    assert sizing is not None and 800 < sizing.workers < 900
    assert 0.9 < sizing.utilisation < 1.0


def _policy_with(tmp_path: Path, line: str):
    """tests/policy.yaml with `line` added to the rule that sends summaries to diffusion."""
    rule = "  - name: bounded-batch-diffusion\n"
    text = (ROOT / "tests" / "policy.yaml").read_text().replace(rule, f"{rule}    {line}\n")
    (tmp_path / "policy.yaml").write_text(text)
    return load_policy(
        tmp_path / "policy.yaml", load_catalog(ROOT / "policies" / "task_types.yaml")
    )


BOTH = {
    ("diffusion", "ticket_summary"): ServiceTimes(1.0, 0.1, 1.5),
    ("autoregressive", "ticket_summary"): ServiceTimes(2.0, 0.2, 2.5),
}
WIDTHS = {PathName.diffusion: 4, PathName.autoregressive: 8}


def test_a_plan_splits_a_mix_by_the_adaptive_share_as_it_stands(tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, "share: {adaptive: true, min: 0.1, max: 0.9}")
    accepted = {("diffusion", "ticket_summary"): 1.0}
    now = {("bounded-batch-diffusion", "ticket_summary"): 0.7}
    mix = {"ticket_summary": 1.0}
    loads = {load.path: load for load in path_loads(10.0, mix, policy, BOTH, accepted, WIDTHS, now)}
    assert loads["diffusion"].arrivals_per_s == pytest.approx(7.0)
    assert loads["autoregressive"].arrivals_per_s == pytest.approx(3.0)
    start = {load.path: load for load in path_loads(10.0, mix, policy, BOTH, accepted, WIDTHS)}
    assert start["diffusion"].arrivals_per_s == pytest.approx(5.0)  # no move yet: the start


def test_a_plan_sends_a_cheapest_accepted_rule_where_submission_would(tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, "prefer: cheapest_accepted")
    accepted = {("diffusion", "ticket_summary"): 1.0}
    costs = {
        "ticket_summary": {
            PathName.diffusion: PathCost(PathName.diffusion, "canvas", 1.0, 256, 40.0, 0.5),
            PathName.autoregressive: PathCost(
                PathName.autoregressive, "token", 0.001, 256, 40.0, 0.9
            ),
        }
    }
    mix = {"ticket_summary": 1.0}
    loads = path_loads(10.0, mix, policy, BOTH, accepted, WIDTHS, costs=costs)
    assert [(load.path, load.arrivals_per_s) for load in loads] == [("autoregressive", 10.0)]


def test_a_batching_worker_waits_for_whole_batches() -> None:
    """Width 2 on one worker is not two servers: an arrival while a batch runs waits for all of
    it. The batcher's simulation waits longer than M/G/2, and sizing a batching path uses it."""
    fixed = ServiceTimes(1.0, 0.0, 1.0)
    batching = PathLoad("diffusion", 1.4, fixed, 2, ("ticket_summary",))
    alone = PathLoad("diffusion", 1.4, fixed, 1, ("ticket_summary",))
    assert simulated_p95_wait(batching, 2) > simulated_p95_wait(alone, 2)
    assert planned_p95_wait(batching, 2) == simulated_p95_wait(batching, 2)
    assert planned_p95_wait(alone, 2) == p95_wait(alone, 2)
    quiet = PathLoad("diffusion", 0.01, fixed, 4, ("ticket_summary",))
    assert simulated_p95_wait(quiet, 4) < 0.05  # an idle engine starts at once


def test_keda_targets_scale_out_once_a_replica_is_full() -> None:
    """At most one batch waits per replica (a model load takes minutes: the queue is no
    buffer), fewer where an arrival behind more would be answered after the budget."""
    service = ServiceTimes(mean_s=2.0, variance_s2=1.0, p95_s=4.0)
    load = PathLoad("diffusion", 3.0, service, 4, ("ticket_summary",))
    sizing = size(load, 30.0)
    roomy = keda_targets(load, sizing, 30.0)
    assert roomy.max_replicas == sizing.workers
    assert roomy.backlog_per_replica == 2 * load.batch_width
    tight = keda_targets(load, sizing, 5.0)  # 1 s of slack: two tasks clear in it
    waiting = tight.backlog_per_replica - load.batch_width
    answered_s = waiting * service.mean_s / load.batch_width + service.p95_s
    assert waiting == 2 and answered_s <= 5.0 < answered_s + service.mean_s / load.batch_width
    assert keda_targets(load, sizing, 3.0).backlog_per_replica == load.batch_width


def test_the_patch_names_the_scaled_object_and_both_numbers() -> None:
    patch = yaml.safe_load(scaled_object_patch(KedaTargets("diffusion", 5, 14)))
    [entry] = patch
    assert entry["target"] == {"kind": "ScaledObject", "name": "genroute-worker-diffusion"}
    operations = {op["path"]: op["value"] for op in yaml.safe_load(entry["patch"])}
    assert operations == {"/spec/maxReplicaCount": 5, "/spec/triggers/0/metadata/threshold": "14"}
