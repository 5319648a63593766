"""SQLAlchemy 2 models, one module per resource; importing this package registers every table
on `Base.metadata` (what Alembic compares against). PostgreSQL is the system of record."""

from genroute.db.models.api_keys import ApiKey
from genroute.db.models.attachment_texts import AttachmentText
from genroute.db.models.base import Base
from genroute.db.models.batches import Batch, BatchLine, StoredFile
from genroute.db.models.budgets import BudgetHold, BudgetPeriodSpend, SpendBudget
from genroute.db.models.events import RollbackEvent, ShareEvent
from genroute.db.models.feedback import TaskFeedback
from genroute.db.models.output_cache import OutputCacheEntry
from genroute.db.models.pairwise import PairwiseReview
from genroute.db.models.rollups import ScorecardHistogram, ScorecardRollup
from genroute.db.models.tasks import Attempt, AttemptValidation, Task

__all__ = [
    "ApiKey",
    "AttachmentText",
    "Attempt",
    "AttemptValidation",
    "Base",
    "Batch",
    "BatchLine",
    "BudgetHold",
    "BudgetPeriodSpend",
    "OutputCacheEntry",
    "PairwiseReview",
    "RollbackEvent",
    "ScorecardHistogram",
    "ScorecardRollup",
    "ShareEvent",
    "SpendBudget",
    "StoredFile",
    "Task",
    "TaskFeedback",
]
