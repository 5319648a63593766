"""Character n-gram TF-IDF vectors and their cosine similarity, in plain Python: a lexical
signal that works across languages sharing word stems (resume / resumen / résume, extract /
extrae / extrahiere), where an English sentence-embedding model is weak."""

import math
import re
from collections import Counter

SIZES = (3, 4, 5)
_SPACES = re.compile(r"\s+")

Vector = dict[str, float]


def _grams(text: str) -> Counter[str]:
    words = _SPACES.sub(" ", text.lower()).strip()
    padded = f" {words} "
    return Counter(
        padded[start : start + size] for size in SIZES for start in range(len(padded) - size + 1)
    )


class CharNgramIndex:
    """TF-IDF over a fixed set of documents (IDF from them); `similarities` scores a query
    against each document, in their order."""

    def __init__(self, documents: list[str]) -> None:
        counts = [_grams(text) for text in documents]
        frequency = Counter(gram for count in counts for gram in count)
        self._idf = {
            gram: math.log((len(counts) + 1) / (seen + 1)) for gram, seen in frequency.items()
        }
        self._unseen_idf = math.log(len(counts) + 1)
        self._documents = [self._vector(count) for count in counts]

    def _vector(self, count: Counter[str]) -> Vector:
        weights = {
            gram: (1 + math.log(times)) * self._idf.get(gram, self._unseen_idf)
            for gram, times in count.items()
        }
        norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        return {gram: weight / norm for gram, weight in weights.items()}

    def similarities(self, query: str) -> list[float]:
        asked = self._vector(_grams(query))
        return [
            sum(weight * document.get(gram, 0.0) for gram, weight in asked.items())
            for document in self._documents
        ]
