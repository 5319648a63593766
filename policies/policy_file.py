"""The policy file's document as written: rules (conditions, a path, a fallback, a shadow, a
preference or an adaptive share) and the default, each refused with the field that is wrong."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genroute.contract import InputModality, PathName, PrivacyTier, TaskRequest
from genroute.policies.adaptive_share import AdaptiveShare
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
    # What the request holds: text only, or images, video or both beside it.
    input_modalities: frozenset[InputModality] | None = None

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
        if self.input_modalities is not None:
            checks.append(("input_modalities", request.input_modality in self.input_modalities))
        return next((name for name, held in checks if not held), None)


class Shadow(BaseModel):
    """A sampled copy of a rule's requests also runs on `path`: recorded and scored, never
    seen by the producer, never steering rollback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: PathName
    share: float = Field(gt=0, le=1)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    when: Conditions = Field(default_factory=Conditions)
    path: PathName
    fallback: PathName | None = None
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

    path: PathName
    fallback: PathName = PathName.autoregressive
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
