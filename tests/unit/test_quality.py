"""Quality against expected outputs: labels (accuracy, per-label precision and recall, the
confusion matrix, the commonest-label floor), JSON fields, and must-include facts, with an
unaccepted answer counted as wrong."""

import pytest

from genroute.analysis.quality import Scored, expected_kind, score


def test_labels_score_accuracy_against_the_commonest_label_floor() -> None:
    items = [Scored("billing", "billing"), Scored("billing", "Billing."), Scored("billing", None),
             Scored("shipping", "billing"), Scored("refund", "refund")]  # fmt: skip
    figures = score(items)
    assert figures is not None and figures["kind"] == "label"
    assert figures["accuracy"] == 0.6 and figures["headline"] == "accuracy"
    assert figures["commonest_label"] == "billing" and figures["commonest_label_accuracy"] == 0.6
    assert figures["per_label"]["billing"] == {"precision": 0.667, "recall": 0.667, "support": 3}
    assert figures["per_label"]["shipping"]["recall"] == 0.0
    assert figures["confusion"]["billing"] == {"billing": 2, "(no accepted output)": 1}


def test_fields_compare_values_not_spelling() -> None:
    expected = {"order_id": "A-1", "amount": 59.0, "name": "Maria Lopez"}
    items = [
        Scored(expected, '{"order_id": "a-1", "amount": "59.00", "name": " maria lopez"}'),
        Scored(expected, 'Sure: {"order_id": "A-2", "amount": 59}'),
        Scored(expected, "not json"),
    ]
    figures = score(items)
    assert figures is not None and figures["field_accuracy"] == pytest.approx(4 / 9, abs=1e-3)
    assert figures["exact_match_rate"] == 0.333
    assert figures["per_field"] == {"amount": 0.667, "name": 0.333, "order_id": 0.333}


def test_facts_measure_coverage() -> None:
    expected = {"must_include": ["A-10293", "cracked screen"]}
    items = [Scored(expected, "Order A-10293 has a Cracked  screen."),
             Scored(expected, "Order A-10293 arrived."), Scored(expected, None)]  # fmt: skip
    figures = score(items)
    assert figures is not None and figures["coverage"] == 0.5 and figures["complete_rate"] == 0.333


def test_items_without_expected_outputs_and_mixed_kinds() -> None:
    assert score([Scored(None, "x")]) is None
    with pytest.raises(ValueError, match="of one kind"):
        score([Scored("a", "a"), Scored({"f": 1}, "{}")])
    with pytest.raises(ValueError, match="an expected output is a label"):
        expected_kind(3)
