"""Resolving `task_type: auto` (and `model: auto`): which task type of the catalog a request
asks for. Each type's description and examples are scored against the request by the cosine
similarity of their all-MiniLM-L6-v2 embeddings plus `LEXICAL_WEIGHT` times their character
n-gram TF-IDF similarity (the embedding model is English; the n-grams carry word stems across
languages: on the project's labelled requests in four languages the mix is right 72% of the
time against 56% for embeddings alone, bench/classify.py). A type's nearest text counts; a
softmax over the types at `TEMPERATURE` turns the scores into a confidence, and below
`min_confidence` the request goes to the default type.

Only what the request says is read (its input, or a conversation's user messages): a bare
ticket ("Order #1 arrived broken") says nothing of whether a summary, a label or its fields are
wanted; it is most like the summaries' examples and goes there.
"""

import math
from dataclasses import dataclass

from genroute.analysis.char_ngrams import CharNgramIndex
from genroute.analysis.diversity import embed
from genroute.policies import TaskTypeCatalog

# The mixed scores of short texts spread over a few tenths: at 0.1, a confidence of 0.5 or more
# was right 89% of the time on the labelled requests (bench/classify.py), against 85% at 0.05.
TEMPERATURE = 0.1
LEXICAL_WEIGHT = 2.0


@dataclass(frozen=True)
class Classification:
    """What `auto` resolved to: the type, its confidence, every type's, and whether the
    confidence fell short so the default was used."""

    task_type: str
    confidence: float
    scores: dict[str, float]
    used_default: bool

    def record(self) -> dict[str, object]:
        return {
            "task_type": self.task_type,
            "confidence": round(self.confidence, 4),
            "scores": {name: round(score, 4) for name, score in self.scores.items()},
            "used_default": self.used_default,
        }


class TaskClassifier:
    """Embeds the catalog once; `classify` embeds one request."""

    def __init__(
        self,
        catalog: TaskTypeCatalog,
        min_confidence: float,
        default: str,
        lexical_weight: float = LEXICAL_WEIGHT,
    ) -> None:
        catalog.get(default)  # an unknown default fails at start-up, naming the known types
        self._default = default
        self._min_confidence = min_confidence
        self._names: list[str] = []
        texts: list[str] = []
        for name, kind in sorted(catalog.task_types.items()):
            for text in (kind.description, *kind.examples):
                self._names.append(name)
                texts.append(text)
        self._vectors = embed(texts)
        self._lexical = CharNgramIndex(texts)
        self._lexical_weight = lexical_weight
        self._types = sorted(set(self._names))

    def classify(self, text: str) -> Classification:
        semantic = (self._vectors @ embed([text])[0]).tolist()
        lexical = (
            self._lexical.similarities(text) if self._lexical_weight else [0.0] * len(semantic)
        )
        nearest = dict.fromkeys(self._types, -math.inf)
        for name, meaning, wording in zip(self._names, semantic, lexical, strict=True):
            nearest[name] = max(nearest[name], meaning + self._lexical_weight * wording)
        top = max(nearest.values())
        weights = {name: math.exp((value - top) / TEMPERATURE) for name, value in nearest.items()}
        total = sum(weights.values())
        scores = {name: weight / total for name, weight in weights.items()}
        best = max(scores, key=scores.__getitem__)
        if scores[best] < self._min_confidence:
            return Classification(self._default, scores[best], scores, used_default=True)
        return Classification(best, scores[best], scores, used_default=False)
