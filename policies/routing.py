"""Routing rules: the first rule whose conditions all hold picks the path; else the default.

`RoutingPolicy.decide` is pure: no I/O, no clock, no globals. Loading happens once at start-up.
"""

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from genroute.config import read_yaml_mapping, validate_mapping
from genroute.contract import Modality, PathName, PrivacyTier, RouteDecision, TaskRequest
from genroute.errors import PathUnavailable, PolicyError, RequestRejected
from genroute.policies.adaptive_share import AdaptiveShare
from genroute.policies.catalog import TaskTypeCatalog
from genroute.policies.policy_file import PolicyFile, Rule
from genroute.policies.rollback import RollbackThresholds


class RoutingPolicy:
    """A validated policy bound to the catalog it routes for."""

    def __init__(
        self,
        document: PolicyFile,
        catalog: TaskTypeCatalog,
        version: str,
        data_locations: Mapping[PathName, PrivacyTier] | None = None,
        modalities: Mapping[PathName, frozenset[Modality]] | None = None,
        models: Mapping[PathName, str] | None = None,
    ) -> None:
        self.document = document
        self.catalog = catalog
        self.version = version
        # Where each path's engine sends data; a path not listed keeps it on the node.
        self.data_locations = dict(data_locations or {})
        # What each path's model takes in; a path not listed takes text only.
        self.modalities = dict(modalities or {})
        # The model each path serves (cached outputs are keyed on it); "" where unknown.
        self.models = dict(models or {})
        self._rules_by_name = {rule.name: rule for rule in document.rules}

    def location(self, path: PathName) -> PrivacyTier:
        return self.data_locations.get(path, PrivacyTier.node)

    def takes(self, path: PathName) -> frozenset[Modality]:
        return self.modalities.get(path, frozenset({Modality.text}))

    def serves(self, path: PathName, request: TaskRequest) -> bool:
        """Whether `path` may run `request`: its privacy tier admits where the path sends data,
        and the path's model takes every modality the request holds (an image is never
        dropped so that a text-only model can answer)."""
        return request.privacy_tier.admits(self.location(path)) and (
            request.input_modality.needs() <= self.takes(path)
        )

    def decide(self, request: TaskRequest) -> RouteDecision:
        """Route `request`. A rule whose path the request's privacy tier forbids, or whose
        model cannot take the request's images or video, is passed over; so is the default
        path, for its fallback. Raises RequestRejected for unknown task types, limits, or no
        path that may serve it."""
        output_limit = self.catalog.output_limit(request)
        passed_over = []
        for rule in self.document.rules:
            if rule.when.failed_condition(request, output_limit) is not None:
                continue
            if not self.serves(rule.path, request):
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
        path = default.path
        if not self.serves(path, request):  # its model cannot see the attachments
            seeing = [p for p in (default.fallback, *PathName) if self.serves(p, request)]
            if not seeing:
                raise RequestRejected("attachments", self._no_modality_message(request))
            path = seeing[0]
            reason += (
                f"; {default.path.value} does not take {request.input_modality.value} input, "
                f"{path.value} does"
            )
        return self._decision(request, path, None, "default", reason, output_limit)

    def _why_not(self, path: PathName, request: TaskRequest) -> str:
        if not request.privacy_tier.admits(self.location(path)):
            return f"privacy_tier {request.privacy_tier.value}"
        return f"input_modality {request.input_modality.value}"

    def _passed_over(self, rules: list[str], request: TaskRequest) -> str:
        if not rules:
            return ""
        whys = sorted({self._why_not(self._rules_by_name[rule].path, request) for rule in rules})
        return f" (passed over {', '.join(rules)}: {', '.join(whys)})"

    def _no_modality_message(self, request: TaskRequest) -> str:
        takes = "; ".join(
            f"{path.value} takes {', '.join(sorted(self.takes(path)))}" for path in PathName
        )
        return (
            f"no path takes {request.input_modality.value} input ({takes}); an attachment is "
            "never dropped to let a text-only model answer"
        )

    def _no_path_message(self, request: TaskRequest) -> str:
        where = ", ".join(f"{p.value} sends data to {loc.value}" for p, loc in self._locations())
        return f"'{request.privacy_tier.value}' allows no path that could serve this: {where}"

    def _locations(self) -> list[tuple[PathName, PrivacyTier]]:
        return [(path, self.location(path)) for path in PathName]

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

    def allowed_paths(self, request: TaskRequest) -> list[PathName]:
        """Where this request may run at all: paths its privacy tier admits, and only the
        autoregressive path for tool calls and deep reasoning."""
        needs_tokens = request.requires_tool_calls or request.requires_deep_reasoning
        return [
            path
            for path in PathName
            if self.serves(path, request) and (path is PathName.autoregressive or not needs_tokens)
        ]

    def shadow_path(
        self, request: TaskRequest, decision: RouteDecision, draw: float
    ) -> PathName | None:
        """Where a copy of this request also runs, if its rule shadows and `draw` (uniform in
        [0, 1), the caller's randomness) falls within the share; never where the request
        already goes, nor where its privacy tier forbids."""
        rule = self._rules_by_name.get(decision.rule)
        if rule is None or rule.shadow is None or draw >= rule.shadow.share:
            return None
        target = rule.shadow.path
        if target == decision.path or not self.serves(target, request):
            return None
        return target

    @property
    def rollback(self) -> RollbackThresholds:
        return self.document.rollback

    def can_roll_back(self, path: PathName) -> bool:
        """Only a path with somewhere else to go can be rolled back."""
        return path is not self.document.default.fallback

    def with_path_state(
        self,
        decision: RouteDecision,
        state: str,
        admitted: bool,
        request: TaskRequest,
    ) -> RouteDecision:
        """The decision as the rollback controller leaves it: unchanged when the path is
        admitted, else sent to the fallback path (if it may serve `request`), with the state
        it saw recorded either way."""
        if admitted:
            return decision.model_copy(update={"path_state": state})
        target = self.document.default.fallback
        tier = request.privacy_tier
        if not tier.admits(self.location(target)):
            raise PathUnavailable(
                "privacy_tier",
                f"{decision.path.value} is {state} for this task type and privacy_tier "
                f"'{tier.value}' forbids {target.value} (its data goes to "
                f"{self.location(target).value}); retry later",
            )
        if not self.serves(target, request):
            raise PathUnavailable(
                "attachments",
                f"{decision.path.value} is {state} for this task type and {target.value} does "
                f"not take {request.input_modality.value} input; retry later",
            )
        reason = f"{decision.path.value} is {state} for this task type; sent to {target.value}"
        return decision.model_copy(
            update={"path": target, "path_state": state, "reason": f"{reason} ({decision.reason})"}
        )

    def _decision(
        self,
        request: TaskRequest,
        path: PathName,
        rule_fallback: PathName | None,
        rule: str,
        reason: str,
        output_limit: int,
    ) -> RouteDecision:
        fallback = (
            None
            if request.fallback == "none"
            else (rule_fallback or self.document.default.fallback)
        )
        if fallback is not None and not self.serves(fallback, request):
            fallback = None  # the tier forbids it or it cannot see the images: fail instead
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
    data_locations: Mapping[PathName, PrivacyTier] | None = None,
    modalities: Mapping[PathName, frozenset[Modality]] | None = None,
    models: Mapping[PathName, str] | None = None,
) -> RoutingPolicy:
    """Load, validate and version a policy file; every error names the file, rule and field.
    `data_locations` says where each path's engine sends data (privacy tiers route by it),
    `modalities` what each path's model takes (attachments route by it), `models` which model
    it serves."""
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
    return RoutingPolicy(document, catalog, version, data_locations, modalities, models)
