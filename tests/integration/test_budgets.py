"""Spend budgets on the running stack: concurrent submitters through two API processes stop
within one request's cost of a key's cap; a spent budget answers 429 budget_exceeded to a
single submit, a REST batch, the official OpenAI SDK (which does not retry it) and an OpenAI
Batch (its remaining lines fail with that code); the ledger and `GET /v1/spend` add up to the
attempts' recorded costs, and nothing stays held once every task has ended."""

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest
from sqlalchemy import text

from genroute.contract import Scope
from genroute.contract.spend import BudgetPeriod, BudgetSubject
from genroute.db.budgets import set_budget
from genroute.local.stack import Stack, free_port, issue_key, start_api, wait_for_api
from tests.helpers import ticket, wait_for_task, wait_until

pytestmark = pytest.mark.integration


def _key(stack: Stack, sessions) -> tuple[str, str, uuid.UUID]:
    """A new owner's submit+read key: (owner, secret, key id)."""
    owner = f"budget-{uuid.uuid4().hex[:8]}"
    secret = issue_key(stack.settings, owner, (Scope.submit, Scope.read))
    with sessions() as session:
        key_id = session.execute(
            text("SELECT id FROM api_keys WHERE owner = :o"), {"o": owner}
        ).scalar_one()
    return owner, secret, key_id


@contextmanager
def _client(url: str, secret: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers={"X-API-Key": secret}, timeout=60) as client:
        yield client


def _attempt_costs(sessions, owner: str) -> tuple[float, float]:
    """The owner's attempts' summed cost, and its costliest task's."""
    with sessions() as session:
        per_task = session.execute(
            text(
                "SELECT coalesce(sum(a.cost), 0) FROM attempts a JOIN tasks t ON t.id = a.task_id "
                "WHERE t.owner = :o GROUP BY t.id"
            ),
            {"o": owner},
        ).scalars()
        costs = [float(c) for c in per_task]
    return sum(costs), max(costs, default=0.0)


def _ledger(sessions, owner: str) -> tuple[float, float]:
    with sessions() as session:
        spent, held = session.execute(
            text(
                "SELECT p.spent_usd, p.held_usd FROM budget_periods p "
                "JOIN spend_budgets b ON b.id = p.budget_id WHERE b.subject = :o"
            ),
            {"o": owner},
        ).one()
    return spent, held


@pytest.fixture(scope="module")
def second_api(stack: Stack) -> Iterator[str]:
    """Another API process on the same database and broker: budgets hold across both."""
    port = free_port()
    api = start_api(port, free_port(), stack.env, stack.log_dir / "second-api")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(api, url, 60)
        yield url
    finally:
        api.stop()


@pytest.mark.timeout(300)
def test_concurrent_submitters_stop_within_one_request_of_the_cap(
    stack: Stack, second_api: str, sessions
) -> None:
    owner, secret, _key_id = _key(stack, sessions)
    cap = 0.0012  # a handful of short tickets at the test paths' $2.50 a GPU-hour
    with sessions.begin() as session:
        set_budget(session, BudgetSubject.owner, owner, cap, BudgetPeriod.day)
    accepted: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def submitter(url: str) -> None:
        with _client(url, secret) as client:
            while True:
                answer = client.post("/v1/tasks", json=ticket(max_output_tokens=16))
                with lock:
                    statuses.append(answer.status_code)
                if answer.status_code == 202:
                    with lock:
                        accepted.append(answer.json()["id"])
                    continue
                assert answer.status_code == 429, answer.text
                assert answer.json()["code"] == "budget_exceeded"
                if answer.headers.get("x-should-retry") == "false":
                    return  # spent until the reset
                stop = threading.Event()
                stop.wait(0.2)  # held by requests in flight: retry shortly

    threads = [
        threading.Thread(target=submitter, args=(url,)) for url in [stack.api_url, second_api] * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert not any(thread.is_alive() for thread in threads)
    assert set(statuses) <= {202, 429}
    with _client(stack.api_url, secret) as client:
        for task_id in accepted:
            assert wait_for_task(client, task_id).status.is_terminal
        report = client.get("/v1/spend", params={"since": "1h"}).raise_for_status().json()
    spent, costliest = _attempt_costs(sessions, owner)
    assert cap <= spent <= cap + costliest, (spent, costliest, len(accepted))
    assert report["total_usd"] == pytest.approx(spent, abs=1e-7)
    assert sum(row["cost_usd"] for row in report["rows"]) == pytest.approx(spent, abs=1e-7)
    assert {row["owner"] for row in report["rows"]} == {owner}
    [budget] = report["budgets"]
    assert budget["state"] == "exceeded" and budget["spent_usd"] == pytest.approx(spent, abs=1e-7)
    ledger_spent, held = _ledger(sessions, owner)
    assert ledger_spent == pytest.approx(spent, abs=1e-7) and held == pytest.approx(0, abs=1e-9)
    scraped = httpx.get(f"{stack.ops_url}/metrics").text  # what dashboards plot against cap
    [line] = [
        line
        for line in scraped.splitlines()
        if line.startswith("genroute_budget_spent_usd{") and f'subject="{owner}"' in line
    ]
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(spent, abs=1e-7)


@pytest.fixture(scope="module")
def spent_key(stack: Stack, sessions) -> tuple[str, str]:
    """A key whose owner's budget is below what it already spent (set after two tasks: a
    budget set mid-period counts the period's spend so far)."""
    owner, secret, _key_id = _key(stack, sessions)
    with _client(stack.api_url, secret) as client:
        for _ in range(2):
            task_id = client.post("/v1/tasks", json=ticket()).raise_for_status().json()["id"]
            wait_for_task(client, task_id)
    spent, _ = _attempt_costs(sessions, owner)
    assert spent > 0
    with sessions.begin() as session:
        set_budget(session, BudgetSubject.key, str(_key_id), spent / 2, BudgetPeriod.month)
    return owner, secret


def test_a_spent_budget_refuses_single_and_batch_submissions(
    stack: Stack, spent_key: tuple[str, str], sessions
) -> None:
    owner, secret = spent_key
    with _client(stack.api_url, secret) as client:
        single = client.post("/v1/tasks", json=ticket())
        batch = client.post("/v1/tasks/batch", json={"items": [ticket(), ticket()]})
    for answer in (single, batch):
        assert answer.status_code == 429, answer.text
        body = answer.json()
        assert body["code"] == "budget_exceeded" and body["errors"][0]["field"] == "budget"
        assert "the key budget of" in body["detail"] and "resets at" in body["detail"]
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.headers["x-should-retry"] == "false"
    with sessions() as session:
        count = session.execute(text("SELECT count(*) FROM tasks WHERE owner = :o"), {"o": owner})
        assert count.scalar_one() == 2  # nothing was made


def test_the_openai_sdk_gets_budget_exceeded_once_without_retrying(
    stack: Stack, spent_key: tuple[str, str]
) -> None:
    _owner, secret = spent_key
    sent: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: sent.append(request.url.path)]})
    with (
        openai.OpenAI(
            base_url=f"{stack.api_url}/v1", api_key=secret, max_retries=2, http_client=http
        ) as sdk,
        pytest.raises(openai.RateLimitError) as refused,
    ):
        sdk.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}], max_tokens=3
        )
    assert refused.value.code == "budget_exceeded" and refused.value.param == "budget"
    assert sent == ["/v1/chat/completions"]  # x-should-retry: false stopped the SDK's retries


@pytest.mark.timeout(300)
def test_an_openai_batch_stops_at_the_budget_and_fails_its_remaining_lines(
    stack: Stack, sessions
) -> None:
    owner, secret, key_id = _key(stack, sessions)
    with sessions.begin() as session:  # room for about two of its lines
        set_budget(session, BudgetSubject.key, str(key_id), 0.0005, BudgetPeriod.week)
    lines = [
        json.dumps(
            {
                "custom_id": f"line-{number}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "ticket_summary",
                    "max_tokens": 16,
                    "messages": [{"role": "user", "content": ticket()["input"]}],
                },
            }
        )
        for number in range(1, 13)
    ]
    with openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=secret, max_retries=0) as sdk:
        uploaded = sdk.files.create(file=("b.jsonl", "\n".join(lines).encode()), purpose="batch")
        batch = sdk.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        done = wait_until(
            lambda: (b := sdk.batches.retrieve(batch.id)).status in {"completed", "failed"} and b,
            240,
            "the batch ending",
        )
        outputs = (
            sdk.files.content(done.output_file_id).text.splitlines() if done.output_file_id else []
        )
        errors = [
            json.loads(line) for line in sdk.files.content(done.error_file_id).text.splitlines()
        ]
    assert done.status == "completed"
    seen = sorted(
        [json.loads(line)["custom_id"] for line in outputs] + [e["custom_id"] for e in errors]
    )
    assert seen == sorted(f"line-{n}" for n in range(1, 13))  # each line once
    refused = [e for e in errors if e["response"]["body"]["error"]["code"] == "budget_exceeded"]
    ran = {e["custom_id"] for e in errors if e not in refused} | {
        json.loads(line)["custom_id"] for line in outputs
    }
    assert refused and "line-1" in ran, errors[:2]  # the first line ran (it may fail its checks)
    assert all(e["response"]["status_code"] == 429 for e in refused)
    assert all(e["response"]["body"]["error"]["param"] == "budget" for e in refused)
    spent, costliest = _attempt_costs(sessions, owner)
    assert 0.0005 <= spent <= 0.0005 + costliest


def test_a_rest_batch_past_the_budget_answers_per_item(stack: Stack, sessions) -> None:
    """The first item is admitted (nothing is spent or held yet); the others find the budget
    held by it, and are refused on their own, worth a retry shortly."""
    owner, secret, _key_id = _key(stack, sessions)
    with sessions.begin() as session:
        set_budget(session, BudgetSubject.owner, owner, 1e-7, BudgetPeriod.day)
    with _client(stack.api_url, secret) as client:
        answer = client.post("/v1/tasks/batch", json={"items": [ticket(), ticket(), ticket()]})
        body = answer.raise_for_status().json()
        [first, *refused] = body["items"]
        assert first["outcome"] == "accepted" and body["rejected"] == 2
        for item in refused:
            assert item["outcome"] == "rejected" and item["errors"][0]["field"] == "budget"
            assert "held by requests in flight" in item["errors"][0]["message"]
        wait_for_task(client, first["task"]["id"])
    _spent, held = _ledger(sessions, owner)
    assert held == pytest.approx(0, abs=1e-12)  # the ended task's hold went back


def test_a_budget_past_its_soft_limit_warns_in_the_answer(stack: Stack, sessions) -> None:
    owner, secret, _key_id = _key(stack, sessions)
    with sessions.begin() as session:
        set_budget(session, BudgetSubject.owner, owner, 10.0, BudgetPeriod.week, soft_limit_usd=0)
    with _client(stack.api_url, secret) as client:
        single = client.post("/v1/tasks", json=ticket())
        batch = client.post("/v1/tasks/batch", json={"items": [ticket()]})
        for task_id in (single.json()["id"], batch.json()["items"][0]["task"]["id"]):
            wait_for_task(client, task_id)
    for answer in (single, batch):
        assert answer.status_code in (200, 202)
        warning = answer.headers["Genroute-Budget-Warning"]
        assert f"the owner budget of {owner} is past its soft limit" in warning
