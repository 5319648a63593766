"""The console in a real headless browser (Debian's Chromium, driven through its ChromeDriver
by Selenium) against the running stack: a reviewer signs in with a review key, reviews five
sampled outputs from the keyboard (one of them corrected), and the scorecard's human figures
change; a key without the scope is refused; the pages load nothing from anywhere."""

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func

from genroute.contract import Scope
from genroute.db.models import Attempt, Task
from genroute.db.rollups import roll_up_task
from genroute.local.stack import Stack, issue_key
from tests.browser import (
    headless_chromium,
    loaded_from_network,
    page_status,
    sign_in,
    table_rows,
)
from tests.helpers import run_genroute, wait_for_task, wait_until
from tests.media import data_url, image_bytes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from headless_chromium()


def _item(driver) -> str | None:
    """The item on screen (its form's action), read in one step of the page's own script."""
    return driver.execute_script(
        "const form = document.getElementById('review'); return form ? form.action : null"
    )


def _reviewed_on_the_scorecard(driver, stack: Stack) -> int:
    """Reviewed chat outputs, summed over the rows of the console's scorecard table."""
    driver.get(f"{stack.api_url}/console/scorecard")
    rows = table_rows(driver, "scorecard")
    return sum(int(row["reviewed"]) for row in rows if row["task type"] == "chat")


def _human(client: httpx.Client) -> dict:
    rows = client.get("/v1/scorecard", params={"by": "task_type"}).raise_for_status().json()
    return next(row for row in rows["rows"] if row["task_type"] == "chat")


def test_a_reviewer_reviews_five_outputs_from_the_keyboard(stack: Stack, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    owner = f"console-{uuid.uuid4().hex[:6]}"
    producer = issue_key(stack.settings, owner, (Scope.submit, Scope.read))
    with httpx.Client(base_url=stack.api_url, headers={"X-API-Key": producer}) as client:
        ids = [
            client.post(
                "/v1/tasks",
                json={"task_type": "chat", "input": f"Greet customer {n}.", "max_output_tokens": 8},
            ).json()["id"]
            for n in range(6)
        ]
        assert all(wait_for_task(client, i).status == "succeeded" for i in ids)
        assert _human(client)["human_reviewed"] == 0

        sign_in(browser, stack, issue_key(stack.settings, owner, (Scope.review, Scope.read)))
        assert _reviewed_on_the_scorecard(browser, stack) == 0
        browser.get(f"{stack.api_url}/console/review")
        reviewed = []
        for number in range(5):
            action = wait_until(lambda: _item(browser), 10, "the review page")
            assert action not in reviewed  # never the same item twice
            reviewed.append(action)
            body = browser.find_element(By.TAG_NAME, "body")
            if number == 0:  # correct the first one: e, type, Ctrl+Enter
                body.send_keys("e")
                browser.switch_to.active_element.send_keys(" Thanks!")
                browser.switch_to.active_element.send_keys(Keys.CONTROL, Keys.ENTER)
            else:
                body.send_keys("4")
                body.send_keys("r" if number == 4 else "a")
            wait_until(lambda a=action: _item(browser) != a, 10, "the next item")
        assert loaded_from_network(browser) == 0  # every style and script is inline
        figures = _human(client)
    assert _reviewed_on_the_scorecard(browser, stack) == 5  # the console's scorecard page
    assert {action.rsplit("/", 1)[1] for action in reviewed} <= set(ids)
    assert figures["human_reviewed"] == 5
    assert figures["human_edit_rate"] == pytest.approx(0.2)
    assert figures["human_rejection_rate"] == pytest.approx(0.2)
    assert figures["mean_usefulness"] == pytest.approx(4.0)  # the edit gave none
    exported = run_genroute(
        stack.settings, "export-reviewed", "--task-type", "chat", "--owner", owner
    )
    rows = [json.loads(line) for line in exported.splitlines()]
    assert len(rows) == 4  # the rejected output is no answer to expect
    assert sum("Thanks!" in row["reference"] for row in rows) == 1  # the correction


def test_a_key_without_the_review_scope_is_refused(stack: Stack, browser) -> None:
    sign_in(browser, stack, issue_key(stack.settings, "console-reader", (Scope.read,)))
    wait_until(lambda: page_status(browser) == "scorecard", 10, "a reader's first page")
    for page in ("review", "pairs"):
        browser.get(f"{stack.api_url}/console/{page}")
        assert page_status(browser) == "refused"
        assert "lacks the 'review' scope" in browser.page_source


def test_a_wrong_key_cannotsign_in(stack: Stack, browser) -> None:
    sign_in(browser, stack, "gr_0123456789ab_not-a-key")
    wait_until(lambda: "unknown or revoked" in browser.page_source, 10, "the refusal")
    assert page_status(browser) == "sign-in"
    assert browser.get_cookie("genroute_console") is None


def _answered(session, path: str, output: str, **task: object) -> uuid.UUID:
    """A finished task whose accepted output `path` produced (a hand-made shadow pair half)."""
    task_id, attempt_id = uuid.uuid4(), uuid.uuid4()
    session.add(
        Task(
            id=task_id,
            task_type="batch_summary",
            request={"input": "1. Parcel late. 2. Refund missing."},
            status="succeeded",
            route_path=path,
            route_rule="batch-summary-shadowed",
            policy_version="v1",
            route_reason="seeded pair",
            max_output_tokens=64,
            queue=path,
            attempt_count=1,
            max_attempts=1,
            result_attempt_id=attempt_id,
            output_text=output,
            finished_at=func.now(),
            **task,
        )
    )
    session.flush()
    session.add(
        Attempt(
            id=attempt_id, task_id=task_id, attempt_no=1, path=path, queue=path,
            outcome="succeeded", output_text=output, finished_at=func.now(),
        )
    )  # fmt: skip
    roll_up_task(session, task_id)  # the scorecard reads its rollups, as a finish fills them
    return task_id


def test_a_blind_pair_is_compared_from_the_keyboard(stack: Stack, browser, sessions) -> None:
    owner = f"pairs-{uuid.uuid4().hex[:6]}"
    with sessions.begin() as session:
        original = _answered(session, "diffusion", "Two issues: a late parcel.", owner=owner)
        _answered(
            session,
            "autoregressive",
            "Two issues: a late parcel and a missing refund.",
            owner=owner,
            purpose="shadow",
            shadow_of=original,
        )
    sign_in(browser, stack, issue_key(stack.settings, owner, (Scope.review,)))
    browser.get(f"{stack.api_url}/console/pairs")
    assert page_status(browser) == "pair"
    first = browser.execute_script("return document.getElementById('first').textContent")
    assert "diffusion" not in browser.page_source and "autoregressive" not in browser.page_source
    better = "1" if "missing refund" in first else "2"  # the answer that covers both issues
    browser.execute_script("document.activeElement.blur()")
    browser.switch_to.active_element.send_keys(better)
    wait_until(lambda: page_status(browser) == "no-pairs", 10, "the pair leaving the queue")
    reader = issue_key(stack.settings, owner, (Scope.read,))
    with httpx.Client(base_url=stack.api_url, headers={"X-API-Key": reader}) as client:
        card = client.get("/v1/scorecard", params={"by": "path,task_type"}).json()
    [row] = [r for r in card["rows"] if r["purpose"] == "production"]
    assert (row["path"], row["preference_comparisons"]) == ("diffusion", 1)
    assert row["preference_win_rate"] == 0.0  # the reviewer preferred the shadow's answer
    low, high = row["preference_interval"]
    assert low == 0.0 and 0.7 < high < 0.85  # one pair says little: Wilson's interval says so
    sign_in(browser, stack, reader)
    browser.get(f"{stack.api_url}/console/scorecard")
    [shown] = table_rows(browser, "scorecard")
    assert (shown["path"], shown["pairs"], shown["win rate"]) == ("diffusion", "1", "0%")
    assert shown["95% interval"].startswith("0%-")


def test_a_reviewer_sees_the_requests_images_and_no_one_elses(stack: Stack, browser) -> None:
    owner = f"console-img-{uuid.uuid4().hex[:6]}"
    producer = issue_key(stack.settings, owner, (Scope.submit, Scope.read))
    screenshot = image_bytes("Error: payment declined (ORD-4411)", (640, 200))
    attachment = {"type": "image", "data": data_url(screenshot), "name": "checkout.png"}
    request = {"task_type": "chat", "input": "What does this show?", "max_output_tokens": 8}
    with httpx.Client(base_url=stack.api_url, headers={"X-API-Key": producer}) as client:
        answer = client.post("/v1/tasks", json={**request, "attachments": [attachment]})
        task_id = answer.raise_for_status().json()["id"]
        assert wait_for_task(client, task_id).status.value == "succeeded"
    sign_in(browser, stack, issue_key(stack.settings, owner, (Scope.review,)))
    wait_until(lambda: _item(browser), 10, "the review page")
    image = wait_until(
        lambda: browser.execute_script(
            "const img = document.querySelector('.attachments img');"
            "return img && img.complete && img.naturalWidth"
            " ? [img.naturalWidth, img.naturalHeight, img.alt] : null"
        ),
        10,
        "the screenshot shown",
    )
    assert image == [640, 200, "attachments[0] (checkout.png)"]
    address = f"/console/tasks/{task_id}/images/0"
    stranger = issue_key(stack.settings, f"{owner}-other", (Scope.review,))
    with httpx.Client(base_url=stack.api_url, cookies={"genroute_console": stranger}) as other:
        assert other.get(address).status_code == 404  # another owner's reviewer sees nothing
        assert other.get(f"/console/tasks/{task_id}/images/1").status_code == 404
