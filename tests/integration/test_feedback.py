"""Human feedback through the API and the Python client, and the scorecard over HTTP: both
scoped to the caller's own tasks."""

import asyncio
import uuid

import pytest
from rapidfuzz.distance import Levenshtein
from sqlalchemy import text

from genroute.client import ApiError, AsyncClient, Client
from genroute.contract import Scope
from genroute.db.rollups import KEY, SUMS, sums_select
from genroute.local.stack import Stack, issue_key
from genroute.settings import Settings
from tests.helpers import ticket

pytestmark = pytest.mark.integration


def _rollups_match_a_recount(sessions, owner: str) -> None:
    """What workers added to the rollups as tasks finished equals a recount from the tables."""
    columns = ", ".join((*KEY, *SUMS))
    with sessions() as session:
        kept = session.execute(
            text(f"SELECT {columns} FROM scorecard_rollups WHERE owner = :o ORDER BY 1, 4"),
            {"o": owner},
        ).all()
        recount = session.execute(
            text(
                f"SELECT {columns} FROM ({sums_select('t.owner = :o', 't.owner = :o')}) s "
                "ORDER BY 1, 4"
            ),
            {"o": owner},
        ).all()
    width = len(KEY)
    assert kept and [r[:width] for r in kept] == [r[:width] for r in recount]
    figures = [float(value) for row in kept for value in row[width:]]
    assert figures == pytest.approx([float(value) for row in recount for value in row[width:]])


def test_feedback_and_the_scorecard_over_http(stack: Stack, settings: Settings, sessions) -> None:
    owner = f"reviewer-{uuid.uuid4().hex[:8]}"
    key = issue_key(settings, owner, (Scope.submit, Scope.read))
    with Client(stack.api_url, key) as client:
        good = client.submit(ticket(task_type="classification"))
        doomed = client.submit(ticket(task_type="classification", fallback="none"))
        done = client.wait(good.id, timeout_s=120)
        assert done.status.value == "succeeded" and done.output
        assert client.wait(doomed.id, timeout_s=120).status.value == "failed"

        first = client.feedback(good.id, "accepted")
        assert (first.verdict, first.edit_distance) == ("accepted", None)
        edited = done.output + " (checked)"
        second = client.feedback(good.id, "edited", edited_text=edited, reason="added a note")
        expected = Levenshtein.normalized_distance(done.output, edited)
        assert second.verdict == "edited" and second.edit_distance == pytest.approx(expected)

        for call, status in [
            (lambda: client.feedback(doomed.id, "accepted"), 409),  # no output to review
            (lambda: client.feedback(good.id, "edited"), 422),  # edited needs the text
            (lambda: client.feedback(good.id, "accepted", edited_text="x"), 422),
            (lambda: client.feedback(uuid.uuid4(), "rejected"), 404),
            (lambda: client.scorecard(since="yesterday"), 422),
            (lambda: client.scorecard(by="path,colour"), 422),
        ]:
            with pytest.raises(ApiError) as caught:
                call()
            assert caught.value.status == status, caught.value.body

        card = client.scorecard(since="1h", by="path,task_type")
        [row] = card.rows  # only this owner's two requests, both routed to diffusion
        assert (row.purpose, row.path, row.task_type) == (
            "production",
            "diffusion",
            "classification",
        )
        assert (row.requests, row.accepted, row.human_reviewed) == (2, 1, 1)
        assert row.human_edit_rate == 1.0 and row.mean_edit_distance == pytest.approx(expected)
        assert row.fallback_rate == 0.5 and row.cost_per_accepted_output is not None
        _rollups_match_a_recount(sessions, owner)

    other = issue_key(settings, f"other-{uuid.uuid4().hex[:8]}", (Scope.submit, Scope.read))
    with Client(stack.api_url, other) as client:
        with pytest.raises(ApiError) as caught:
            client.feedback(good.id, "rejected")
        assert caught.value.status == 404
        assert client.scorecard().rows == []

    async def reject() -> str:
        async with AsyncClient(stack.api_url, key) as client:
            return (await client.feedback(good.id, "rejected", reason="wrong label")).verdict

    assert asyncio.run(reject()) == "rejected"
