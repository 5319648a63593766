"""The console's operator pages in a real headless browser against the running stack: the live
scorecard (a sortable table and its plots over time), path states with their events, a batch
run by the real batch runner with its progress, and a dead letter with its lineage that only an
admin key can requeue, after which it ends again with every attempt kept. Each page is limited
to the key's owner and loads nothing from the network."""

import json
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
from sqlalchemy import func

from genroute.contract import Scope
from genroute.db.models import Attempt, RollbackEvent, Task
from genroute.db.rollups import roll_up_task
from genroute.local.stack import Stack, issue_key
from tests.browser import headless_chromium, loaded_from_network, page_status, sign_in, table_rows
from tests.helpers import ticket, wait_for_task, wait_until

pytestmark = pytest.mark.integration
URL = "/v1/chat/completions"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from headless_chromium()


def _finished(session, owner: str, path: str, cost: float, accepted: bool = True) -> None:
    """A finished chat request of `owner` on `path`, rolled up as a finish rolls it up."""
    task_id, attempt_id = uuid.uuid4(), uuid.uuid4()
    outcome = "succeeded" if accepted else "invalid"
    session.add(
        Task(
            id=task_id, owner=owner, task_type="chat", request={"input": "Say hi."},
            status="succeeded" if accepted else "failed", route_path=path, route_rule="seeded",
            policy_version="v1", route_reason="seeded", max_output_tokens=8, queue=path,
            attempt_count=1, max_attempts=1, result_attempt_id=attempt_id if accepted else None,
            output_text="Hi!" if accepted else None, finished_at=func.now(),
        )
    )  # fmt: skip
    session.flush()
    session.add(
        Attempt(
            id=attempt_id, task_id=task_id, attempt_no=1, path=path, queue=path,
            outcome=outcome, output_text="Hi!", cost=cost, finished_at=func.now(),
        )
    )  # fmt: skip
    roll_up_task(session, task_id)


def _chart(driver, name: str) -> dict:
    return driver.execute_script(
        'const f = document.querySelector(`figure[data-chart="${arguments[0]}"]`);'
        "return {rendered: f.dataset.rendered, marks: Number(f.dataset.marks),"
        " error: f.dataset.error}",
        name,
    )


def test_the_scorecard_page_sorts_its_table_and_plots_over_time(
    stack: Stack, browser, sessions
) -> None:
    from selenium.webdriver.common.by import By

    owner = f"ops-{uuid.uuid4().hex[:6]}"
    with sessions.begin() as session:
        for accepted in (True, True, False):
            _finished(session, owner, "diffusion", 0.002, accepted)
        _finished(session, owner, "autoregressive", 0.001)
    sign_in(browser, stack, issue_key(stack.settings, owner, (Scope.read,)))
    wait_until(lambda: page_status(browser) == "scorecard", 10, "the scorecard")
    rows = table_rows(browser, "scorecard")
    assert sorted((r["path"], r["requests"], r["acceptance"]) for r in rows) == [
        ("autoregressive", "1", "100%"),
        ("diffusion", "3", "67%"),  # only this owner's requests
    ]
    heading = browser.find_element(By.XPATH, "//table[@data-table='scorecard']//th[.='requests']")
    heading.click()
    assert [r["requests"] for r in table_rows(browser, "scorecard")] == ["1", "3"]
    heading.click()
    assert [r["requests"] for r in table_rows(browser, "scorecard")] == ["3", "1"]
    assert heading.get_attribute("aria-sort") == "descending"
    for chart in ("acceptance_over_time", "cost_over_time", "latency"):
        drawn = _chart(browser, chart)
        assert drawn["rendered"] == "true" and drawn["marks"] >= 2, (chart, drawn)
    assert loaded_from_network(browser) == 0


def test_the_paths_page_shows_states_and_rollbacks(stack: Stack, browser, sessions) -> None:
    reason = f"operator drill {uuid.uuid4().hex[:6]}"
    with sessions.begin() as session:
        session.add(
            RollbackEvent(
                path="diffusion", task_type="console_drill", from_state="active",
                to_state="rolled_back", samples=20, failures=9, failure_rate=0.45,
                cooldown_s=60, reason=reason, manual=True,
            )
        )  # fmt: skip
    sign_in(browser, stack, issue_key(stack.settings, "ops-paths", (Scope.read,)))
    browser.get(f"{stack.api_url}/console/paths")
    assert page_status(browser) == "paths"
    states = table_rows(browser, "path-states")
    assert {row["path"] for row in states} == {"diffusion", "autoregressive"}
    assert all(row["state"] == "active" for row in states)  # every test starts so
    [drill] = [row for row in table_rows(browser, "rollbacks") if row["why"] == reason]
    assert (drill["change"], drill["by"], drill["failure rate"]) == (
        "active -> rolled_back",
        "operator",
        "45%",
    )
    assert loaded_from_network(browser) == 0


def test_the_batches_page_follows_a_batch_to_its_end(stack: Stack, browser) -> None:
    owner = f"ops-batch-{uuid.uuid4().hex[:6]}"
    key = issue_key(stack.settings, owner, (Scope.submit, Scope.read))
    body = {"model": "chat", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}
    lines = "".join(
        json.dumps({"custom_id": f"c{n}", "method": "POST", "url": URL, "body": body}) + "\n"
        for n in range(2)
    )
    with openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=key, max_retries=0) as sdk:
        upload = sdk.files.create(file=("two.jsonl", lines.encode()), purpose="batch")
        batch = sdk.batches.create(input_file_id=upload.id, endpoint=URL, completion_window="24h")
    sign_in(browser, stack, key)

    def shown() -> dict[str, str] | None:
        browser.get(f"{stack.api_url}/console/batches")
        rows = [row for row in table_rows(browser, "batches") if row["batch"] == batch.id]
        return rows[0] if rows and rows[0]["status"] == "completed" else None

    row = wait_until(shown, 240, "the batch completed on the batches page", interval_s=1)
    assert (row["lines"], row["completed"], row["failed"]) == ("2", "2", "0")
    progress = browser.execute_script("return document.querySelector('progress').value")
    assert progress == 2
    assert len(table_rows(browser, "batches")) == 1  # this owner's batches only


def test_a_dead_letter_shows_its_lineage_and_only_an_admin_requeues_it(
    stack: Stack, browser
) -> None:
    owner = f"ops-dead-{uuid.uuid4().hex[:6]}"
    key = issue_key(stack.settings, owner, (Scope.submit, Scope.read))
    with httpx.Client(base_url=stack.api_url, headers={"X-API-Key": key}) as client:
        body = ticket(task_type="classification", fallback="none")  # noise is never a label
        task_id = client.post("/v1/tasks", json=body).raise_for_status().json()["id"]
        assert wait_for_task(client, task_id).status.value == "failed"
        card = f"section[data-task='{task_id}']"
        sign_in(browser, stack, key)
        browser.get(f"{stack.api_url}/console/dead-letters")
        lineage = browser.execute_script(
            f'return [...document.querySelectorAll("{card} ol.lineage li")]'
            ".map((li) => li.textContent)"
        )
        assert len(lineage) == 1 and lineage[0].startswith("diffusion on diffusion: invalid")
        assert "allowed_values" in lineage[0]
        assert browser.execute_script(f'return document.querySelector("{card} form")') is None
        admin = issue_key(stack.settings, "ops-admin", (Scope.admin,))
        sign_in(browser, stack, admin)
        browser.get(f"{stack.api_url}/console/dead-letters")
        browser.execute_script(f'document.querySelector("{card} form button").click()')
        wait_until(lambda: page_status(browser) == "dead-letters", 10, "back on dead letters")
        view = wait_until(
            lambda: (
                (v := wait_for_task(client, task_id)).status.is_terminal
                and len(v.attempts) == 2
                and v
            ),
            120,
            "the requeued task ending again",
            interval_s=0.5,
        )
    assert [a.outcome.value for a in view.attempts] == ["invalid", "invalid"]
    assert loaded_from_network(browser) == 0
