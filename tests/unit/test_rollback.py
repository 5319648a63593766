"""The rollback state machine, on known sequences and on arbitrary ones."""

from hypothesis import given, settings
from hypothesis import strategies as st

from genroute.policies.rollback import (
    PathState,
    RollbackState,
    RollbackThresholds,
    admit,
    cooling_down,
    force,
    observe,
)

LIMITS = RollbackThresholds(
    window=4,
    min_samples=4,
    max_failure_rate=0.5,
    cooldown_s=10,
    max_cooldown_s=35,
    probe_share=0.5,
    probes_needed=2,
)


def feed(health: RollbackState, outcomes: list[bool], now: float = 0.0):
    transitions = []
    for ok in outcomes:
        health, transition = observe(health, ok, now, LIMITS)
        if transition:
            transitions.append(transition)
    return health, transitions


def test_failures_past_the_threshold_roll_back_with_figures() -> None:
    health, transitions = feed(RollbackState(), [True, False, False, False])
    assert health.state is PathState.rolled_back and health.cooldown_s == 10
    [t] = transitions
    assert (t.from_state, t.to_state, t.samples, t.failures) == ("active", "rolled_back", 4, 3)
    assert t.failure_rate == 0.75


def test_too_few_samples_never_roll_back() -> None:
    health, transitions = feed(RollbackState(), [False, False, False])
    assert health.state is PathState.active and not transitions


def test_rolled_back_admits_nothing_until_the_cooldown_then_probes() -> None:
    health, _ = feed(RollbackState(), [False] * 4, now=100)
    assert admit(health, 105, 0.0, LIMITS)[0] is False
    admitted, probing, transition = admit(health, 110, 0.1, LIMITS)
    assert admitted and probing.state is PathState.probing
    assert transition.to_state is PathState.probing
    assert admit(probing, 111, 0.9, LIMITS)[0] is False  # outside the probe share


def test_failed_probes_double_the_cooldown_up_to_the_ceiling() -> None:
    health, _ = feed(RollbackState(), [False] * 4)
    cooldowns = []
    for _ in range(3):
        _, health, _ = admit(health, health.changed_at + health.cooldown_s, 0.0, LIMITS)
        health, _ = feed(health, [False, False], now=health.changed_at)
        cooldowns.append(health.cooldown_s)
    assert cooldowns == [20, 35, 35]


def test_healthy_probes_restore() -> None:
    health, _ = feed(RollbackState(), [False] * 4)
    _, health, _ = admit(health, 10, 0.0, LIMITS)
    health, [t] = feed(health, [True, True], now=11)
    assert health.state is PathState.active and t.to_state is PathState.active


def test_operator_force_and_json_round_trip() -> None:
    health, t = force(RollbackState(), PathState.rolled_back, 5, LIMITS)
    assert health.state is PathState.rolled_back and t.reason == "set by an operator"
    assert RollbackState.from_json(health.to_json()) == health
    assert force(health, PathState.rolled_back, 6, LIMITS) == (health, None)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("observe"), st.booleans()),
            st.tuples(st.just("admit"), st.floats(0, 0.999)),
            st.tuples(st.just("wait"), st.floats(0, 50)),
        ),
        max_size=80,
    )
)
def test_any_sequence_keeps_the_invariants(steps: list) -> None:
    health, now = RollbackState(), 0.0
    for kind, value in steps:
        before = health
        if kind == "observe":
            health, transition = observe(health, value, now, LIMITS)
        elif kind == "admit":
            admitted, health, transition = admit(health, now, value, LIMITS)
            if health.state is PathState.active:
                assert admitted
            if (
                before.state is PathState.rolled_back
                and now - before.changed_at < before.cooldown_s
            ):
                assert not admitted
        else:
            now += value
            continue
        if transition is not None:
            assert transition.from_state is before.state and transition.to_state is health.state
            assert transition.from_state is not transition.to_state
        assert len(health.outcomes) <= max(LIMITS.window, LIMITS.probes_needed)
        assert health.state is PathState.active or health.cooldown_s <= LIMITS.max_cooldown_s


def test_cooling_down_only_while_rolled_back_and_within_the_cooldown() -> None:
    rolled_back = RollbackState(PathState.rolled_back, (), changed_at=100.0, cooldown_s=30.0)
    assert cooling_down(rolled_back, 129.0)
    assert not cooling_down(rolled_back, 131.0)
    assert not cooling_down(RollbackState(PathState.probing, (), 100.0, 30.0), 101.0)
    assert not cooling_down(RollbackState(), 0.0)
