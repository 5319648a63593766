"""Reviewed outputs as an eval dataset: the expected value takes the shape eval scores for the
task type, a correction replaces the output, a rejection is left out."""

from pathlib import Path

from genroute.analysis.quality import expected_kind
from genroute.analysis.reviewed_dataset import Reviewed, dataset_rows
from genroute.policies import load_catalog

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "policies" / "task_types.yaml")


def _rows(task_type: str, *reviewed: Reviewed) -> list[dict]:
    return list(dataset_rows(CATALOG.get(task_type), reviewed))


def test_labels_fields_and_prose_each_get_their_shape() -> None:
    [label] = _rows(
        "classification", Reviewed("t1", "Charged twice", " billing\n", "accepted", None, 5)
    )
    assert label["expected"] == "billing" and expected_kind(label["expected"]) == "label"
    corrected = '{"customer_name": "Ana", "order_id": "A-1"}'
    [fields] = _rows(
        "extraction", Reviewed("t2", "x", '{"customer_name": "Anna"}', "edited", corrected, 3)
    )
    assert fields["expected"] == {"customer_name": "Ana", "order_id": "A-1"}
    assert expected_kind(fields["expected"]) == "fields"
    [prose] = _rows("ticket_summary", Reviewed("t3", "x", "Parcel late.", "accepted", None, None))
    assert prose["reference"] == "Parcel late." and "expected" not in prose


def test_a_rejected_output_is_left_out_and_a_broken_json_edit_kept_as_reference() -> None:
    rows = _rows(
        "extraction",
        Reviewed("t1", "x", "{}", "rejected", None, 1),
        Reviewed("t2", "x", "{}", "edited", "not json", 2),
    )
    assert [(r["id"], r.get("reference")) for r in rows] == [("t2", "not json")]
