"""Routing rules: the first rule whose conditions all hold picks the path; else the default.

`RoutingPolicy.decide` is pure: no I/O, no clock, no globals. Loading happens once at start-up.
"""

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from genroute.config import read_yaml_mapping, validate_mapping
from genroute.contract import PrivacyTier, Route, RouteDecision, TaskRequest
from genroute.errors import PathUnavailable, PolicyError, RequestRejected
from genroute.policies.adaptive_share import AdaptiveShare
from genroute.policies.catalog import TaskTypeCatalog
from genroute.policies.rollback import RollbackThresholds


class Conditions(BaseModel):
    """What a rule matches on. Every condition given must hold; an empty `when` matches all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_types: frozenset[str] | None = None
    max_output_tokens_at_most: int | None = Field(default=None, ge=1)
    max_output_tokens_above: int | None = Field(default=None, ge=0)
    requires_tool_calls: bool | None = None
    requires_deep_reasoning: bool | None = None
    latency_budget_ms_at_most: int | None = Field(default=None, ge=1)
    latency_budget_ms_at_least: int | None = Field(default=None, ge=1)
    user_facing: bool | None = None
    privacy_tiers: frozenset[PrivacyTier] | None = None

    def failed_condition(self, request: TaskRequest, output_limit: int) -> str | None:
        """The first condition `request` does not meet, or None when all hold."""
        checks: list[tuple[str, bool]] = []
        if self.task_types is not None:
            checks.append(("task_types", request.task_type in self.task_types))
        if self.max_output_tokens_at_most is not None:
            checks.append(
                ("max_output_tokens_at_most", output_limit <= self.max_output_tokens_at_most)
            )
        if self.max_output_tokens_above is not None:
            checks.append(("max_output_tokens_above", output_limit > self.max_output_tokens_above))
        for flag in ("requires_tool_calls", "requires_deep_reasoning", "user_facing"):
            wanted = getattr(self, flag)
            if wanted is not None:
                checks.append((flag, getattr(request, flag) == wanted))
        budget = request.latency_budget_ms
        if self.latency_budget_ms_at_most is not None:
            checks.append(
                (
                    "latency_budget_ms_at_most",
                    budget is not None and budget <= self.latency_budget_ms_at_most,
                )
            )
        if self.latency_budget_ms_at_least is not None:
            checks.append(
                (
                    "latency_budget_ms_at_least",
                    budget is None or budget >= self.latency_budget_ms_at_least,
                )
            )
        if self.privacy_tiers is not None:
            checks.append(("privacy_tiers", request.privacy_tier in self.privacy_tiers))
        return next((name for name, held in checks if not held), None)


class Shadow(BaseModel):
    """A sampled copy of a rule's requests also runs on `path`: recorded and scored, never
    seen by the producer, never steering rollback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Route
    share: float = Field(gt=0, le=1)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    when: Conditions = Field(default_factory=Conditions)
    path: Route
    fallback: Route | None = None
    shadow: Shadow | None = None
    # Send the request where its expected cost per accepted output is lowest (measured),
    # among the paths it may use; `path` is the choice until both are measured.
    prefer: Literal["cheapest_accepted"] | None = None
    # Split the requests between `path` and the other path, moved by measured outcomes.
    share: AdaptiveShare | None = None
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _shadow_elsewhere(self) -> "Rule":
        if self.shadow is not None and self.shadow.path == self.path:
            raise ValueError(f"shadow.path must differ from the rule's path ({self.path.value})")
        if self.share is not None and self.prefer is not None:
            raise ValueError("a rule takes either prefer or an adaptive share, not both")
        return self


class DefaultRoute(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Route
    fallback: Route = Route.autoregressive
    reason: str = "no rule matched"


class PolicyFile(BaseModel):
    """The YAML document as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    default: DefaultRoute
    rules: tuple[Rule, ...] = ()
    rollback: RollbackThresholds = Field(default_factory=RollbackThresholds)

    @model_validator(mode="after")
    def _rule_names_unique(self) -> "PolicyFile":
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique, repeated: {duplicates}")
        return self


class RoutingPolicy:
    """A validated policy bound to the catalog it routes for."""

    def __init__(
        self,
        document: PolicyFile,
        catalog: TaskTypeCatalog,
        version: str,
        data_locations: Mapping[Route, PrivacyTier] | None = None,
    ) -> None:
        self.document = document
        self.catalog = catalog
        self.version = version
        # Where each path's engine sends data; a path not listed keeps it on the node.
        self.data_locations = dict(data_locations or {})
        self._rules_by_name = {rule.name: rule for rule in document.rules}

    def location(self, path: Route) -> PrivacyTier:
        return self.data_locations.get(path, PrivacyTier.node)

    def decide(self, request: TaskRequest) -> RouteDecision:
        """Route `request`. A rule whose path the request's privacy tier forbids is passed
        over. Raises RequestRejected for unknown task types, limits, or no allowed path."""
        output_limit = self.catalog.output_limit(request)
        passed_over = []
        for rule in self.document.rules:
            if rule.when.failed_condition(request, output_limit) is not None:
                continue
            if not request.privacy_tier.admits(self.location(rule.path)):
                passed_over.append(rule.name)
                continue
            reason = rule.reason + self._passed_over(passed_over, request)
            return self._decision(
                request, rule.path, rule.fallback, rule.name, reason, output_limit
            )
        default = self.document.default
        if not request.privacy_tier.admits(self.location(default.path)):
            raise RequestRejected("privacy_tier", self._no_path_message(request))
        reason = default.reason + self._passed_over(passed_over, request)
        return self._decision(request, default.path, None, "default", reason, output_limit)

    def _passed_over(self, rules: list[str], request: TaskRequest) -> str:
        if not rules:
            return ""
        return f" (passed over {', '.join(rules)}: privacy_tier {request.privacy_tier.value})"

    def _no_path_message(self, request: TaskRequest) -> str:
        where = ", ".join(f"{p.value} sends data to {loc.value}" for p, loc in self._locations())
        return f"'{request.privacy_tier.value}' allows no path that could serve this: {where}"

    def _locations(self) -> list[tuple[Route, PrivacyTier]]:
        return [(path, self.location(path)) for path in Route]

    def prefers_cheapest(self, decision: RouteDecision) -> bool:
        """Whether the rule that made `decision` asks for the cheapest accepted output."""
        rule = self._rules_by_name.get(decision.rule)
        return rule is not None and rule.prefer == "cheapest_accepted"

    def adaptive_share(self, decision: RouteDecision) -> AdaptiveShare | None:
        """The adaptive share of the rule that made `decision`, if it splits its requests."""
        rule = self._rules_by_name.get(decision.rule)
        return rule.share if rule is not None else None

    def adaptive_rules(self) -> list[tuple[Rule, AdaptiveShare, list[str]]]:
        """Every rule with an adaptive share, with the task types it splits (a share is kept
        per rule and task type, since each type has its own evidence)."""
        return [
            (rule, rule.share, sorted(rule.when.task_types or self.catalog.task_types))
            for rule in self.document.rules
            if rule.share is not None
        ]

    def allowed_paths(self, request: TaskRequest) -> list[Route]:
        """Where this request may run at all: paths its privacy tier admits, and only the
        autoregressive path for tool calls and deep reasoning."""
        needs_tokens = request.requires_tool_calls or request.requires_deep_reasoning
        return [
            path
            for path in Route
            if request.privacy_tier.admits(self.location(path))
            and (path is Route.autoregressive or not needs_tokens)
        ]

    def shadow_path(
        self, request: TaskRequest, decision: RouteDecision, draw: float
    ) -> Route | None:
        """Where a copy of this request also runs, if its rule shadows and `draw` (uniform in
        [0, 1), the caller's randomness) falls within the share; never where the request
        already goes, nor where its privacy tier forbids."""
        rule = self._rules_by_name.get(decision.rule)
        if rule is None or rule.shadow is None or draw >= rule.shadow.share:
            return None
        target = rule.shadow.path
        if target == decision.path or not request.privacy_tier.admits(self.location(target)):
            return None
        return target

    @property
    def rollback(self) -> RollbackThresholds:
        return self.document.rollback

    def can_roll_back(self, path: Route) -> bool:
        """Only a path with somewhere else to go can be rolled back."""
        return path is not self.document.default.fallback

    def with_path_state(
        self,
        decision: RouteDecision,
        state: str,
        admitted: bool,
        tier: PrivacyTier = PrivacyTier.external,
    ) -> RouteDecision:
        """The decision as the rollback controller leaves it: unchanged when the path is
        admitted, else sent to the fallback path (if `tier` allows it), with the state it saw
        recorded either way."""
        if admitted:
            return decision.model_copy(update={"path_state": state})
        target = self.document.default.fallback
        if not tier.admits(self.location(target)):
            raise PathUnavailable(
                "privacy_tier",
                f"{decision.path.value} is {state} for this task type and privacy_tier "
                f"'{tier.value}' forbids {target.value} (its data goes to "
                f"{self.location(target).value}); retry later",
            )
        reason = f"{decision.path.value} is {state} for this task type; sent to {target.value}"
        return decision.model_copy(
            update={"path": target, "path_state": state, "reason": f"{reason} ({decision.reason})"}
        )

    def _decision(
        self,
        request: TaskRequest,
        path: Route,
        rule_fallback: Route | None,
        rule: str,
        reason: str,
        output_limit: int,
    ) -> RouteDecision:
        fallback = (
            None
            if request.fallback == "none"
            else (rule_fallback or self.document.default.fallback)
        )
        if fallback is not None and not request.privacy_tier.admits(self.location(fallback)):
            fallback = None  # the tier forbids the fallback path: fail rather than leak
        return RouteDecision(
            path=path,
            rule=rule,
            policy_version=self.version,
            fallback_path=fallback,
            reason=reason,
            max_output_tokens=output_limit,
        )


def _name_rule(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return ""
    rules = data.get("rules")
    raw = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"rule #{loc[1] + 1} '{name}': " if name else f"rule #{loc[1] + 1}: "


def load_policy(
    path: Path,
    catalog: TaskTypeCatalog,
    data_locations: Mapping[Route, PrivacyTier] | None = None,
) -> RoutingPolicy:
    """Load, validate and version a policy file; every error names the file, rule and field.
    `data_locations` says where each path's engine sends data (privacy tiers route by it)."""
    data = read_yaml_mapping(path)
    document = validate_mapping(path, data, PolicyFile, _name_rule)
    for index, rule in enumerate(document.rules):
        unknown = sorted((rule.when.task_types or frozenset()) - set(catalog.task_types))
        if unknown:
            raise PolicyError(
                f"{path}: rule #{index + 1} '{rule.name}': field 'when.task_types': "
                f"unknown task types {unknown}; the catalog defines {sorted(catalog.task_types)}"
            )
    canonical = yaml.safe_dump(data, sort_keys=True).encode()
    version = f"{document.version}+{hashlib.sha256(canonical).hexdigest()[:8]}"
    return RoutingPolicy(document, catalog, version, data_locations)
