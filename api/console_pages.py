"""The console's pages as HTML, without I/O: server-rendered, every style and script inline
(nothing is loaded from anywhere, so it works offline and behind any proxy), every value
escaped. Review pages are driven from the keyboard: on one output `a` accepts, `r` rejects,
`1`-`5` rate usefulness, `e` edits the text (`Ctrl+Enter` sends the edit, `Esc` leaves the box);
on a pair `1` or Left prefers the first answer, `2` or Right the second, `t` calls a tie."""

from collections.abc import Sequence
from html import escape

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center}
header a,header button{color:#fff;background:none;border:0;font:inherit;cursor:pointer}
main{max-width:56rem;margin:1.5rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #dfe3ea;border-radius:8px;padding:1rem 1.2rem;margin:1rem 0}
pre{white-space:pre-wrap;margin:0}
textarea{width:100%;min-height:7rem;font:inherit}
.keys{color:#5b6576;font-size:.9rem}
.error{color:#a21b1b}
button.choice{margin-right:.4rem}
button.choice[aria-pressed=true]{background:#1d2330;color:#fff}
main.wide{max-width:none}
table{border-collapse:collapse;background:#fff;font-size:.85rem;margin:.5rem 0 1.5rem}
th,td{border:1px solid #dfe3ea;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{cursor:pointer;background:#eef0f4;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
figure{background:#fff;border:1px solid #dfe3ea;border-radius:8px;margin:1rem 0;padding:.5rem}
figcaption{font-weight:600}.empty{color:#5b6576;font-style:italic}
.attachments{display:flex;flex-wrap:wrap;gap:.5rem}.attachments figure{margin:.5rem 0}
.attachments img{max-width:100%;max-height:24rem;display:block}
"""

_REVIEW_SCRIPT = """
const form = document.getElementById('review');
const text = form.elements['edited_text'];
const original = text.value;
function send(verdict) {
  form.elements['verdict'].value = verdict === 'accepted' && text.value !== original
    ? 'edited' : verdict;
  form.submit();
}
function rate(value) {
  form.elements['usefulness'].value = value;
  for (const button of document.querySelectorAll('[data-usefulness]'))
    button.setAttribute('aria-pressed', button.dataset.usefulness === value);
}
for (const button of document.querySelectorAll('[data-usefulness]'))
  button.addEventListener('click', () => rate(button.dataset.usefulness));
document.getElementById('accept').addEventListener('click', () => send('accepted'));
document.getElementById('reject').addEventListener('click', () => send('rejected'));
document.addEventListener('keydown', (event) => {
  if (event.target === text) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send('accepted');
    if (event.key === 'Escape') text.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if ('12345'.includes(event.key)) rate(event.key);
  else if (event.key === 'a') send('accepted');
  else if (event.key === 'r') send('rejected');
  else if (event.key === 'e') { event.preventDefault(); text.focus(); }
});
"""


def page(
    title: str, body: str, signed_in: bool = True, status: str = "", wide: bool = False
) -> str:
    sign_out = (
        '<form method="post" action="/console/sign-out"><button>Sign out</button></form>'
        if signed_in
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)} · genroute</title><style>{_STYLE}</style></head><body>"
        f"<header><strong>genroute</strong><a href='/console/review'>Review</a>"
        "<a href='/console/pairs'>Compare</a><a href='/console/scorecard'>Scorecard</a>"
        "<a href='/console/paths'>Paths</a><a href='/console/batches'>Batches</a>"
        "<a href='/console/dead-letters'>Dead letters</a>"
        f"<span style='flex:1'></span>{sign_out}</header>"
        f"<main class='{'wide' if wide else ''}' data-status='{escape(status)}'>"
        f"<h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def sign_in(error: str | None = None) -> str:
    problem = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
    form = (
        "<form class='card' method='post' action='/console/sign-in'>"
        "<label for='key'>API key</label><br>"
        "<input id='key' name='key' type='password' autocomplete='off' size='60' autofocus>"
        " <button>Sign in</button></form>"
        "<p class='keys'>The key is kept in a cookie this console alone reads (HttpOnly, "
        "SameSite=Strict) until you sign out or close the browser.</p>"
    )
    return page("Sign in", problem + form, signed_in=False, status="sign-in")


def refused(message: str) -> str:
    return page(
        "Not allowed", f"<p class='error' role='alert'>{escape(message)}</p>", True, "refused"
    )


def nothing_to_review() -> str:
    body = "<p>Nothing to review: every sampled output has a verdict. Come back later.</p>"
    return page("Review", body, status="empty")


def attachments(images: Sequence[tuple[str, str]]) -> str:
    """The request's images (a video as its sampled frames), from this console's own address."""
    shown = "".join(
        f"<figure><img src='{escape(address)}' alt='{escape(label)}' loading='lazy'>"
        f"<figcaption>{escape(label)}</figcaption></figure>"
        for address, label in images
    )
    return f"<div class='attachments'>{shown}</div>" if shown else ""


def review(
    task_id: str,
    task_type: str,
    request_input: str,
    output: str,
    left: str,
    images: Sequence[tuple[str, str]] = (),
) -> str:
    """One output to judge, with the request's images; the path that produced it is not shown
    (the review is blind)."""
    usefulness = "".join(
        f"<button type='button' class='choice' data-usefulness='{n}' aria-pressed='false'>"
        f"{n}</button>"
        for n in "12345"
    )
    body = (
        f"<p class='keys'>{escape(task_type)} · {escape(left)}</p>"
        f"<section class='card'><h2>Request</h2><pre id='input'>{escape(request_input)}</pre>"
        f"{attachments(images)}</section>"
        f"<form id='review' class='card' method='post' action='/console/review/{escape(task_id)}'>"
        "<h2>Output</h2>"
        f"<textarea name='edited_text' aria-label='output (edit to correct it)'>{escape(output)}"
        "</textarea>"
        "<input type='hidden' name='verdict' value='accepted'>"
        "<input type='hidden' name='usefulness' value=''>"
        f"<p>Usefulness: {usefulness}</p>"
        "<button type='button' id='accept'>Accept (a)</button> "
        "<button type='button' id='reject'>Reject (r)</button>"
        "<p class='keys'>a accept · r reject · 1-5 usefulness · e edit (Ctrl+Enter sends an "
        "edit, Esc leaves it)</p></form>"
        f"<script>{_REVIEW_SCRIPT}</script>"
    )
    return page("Review", body, status="review")


_PAIR_SCRIPT = """
const form = document.getElementById('pair');
function choose(choice) { form.elements['choice'].value = choice; form.submit(); }
for (const button of document.querySelectorAll('[data-choice]'))
  button.addEventListener('click', () => choose(button.dataset.choice));
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === '1' || event.key === 'ArrowLeft') choose('a');
  else if (event.key === '2' || event.key === 'ArrowRight') choose('b');
  else if (event.key === 't') choose('tie');
});
"""


def pair(
    task_id: str,
    task_type: str,
    request_input: str,
    answers: tuple[str, str],
    images: Sequence[tuple[str, str]] = (),
) -> str:
    """Two answers to one input (with its images), in an order drawn for this reviewer, their
    paths hidden."""
    first, second = answers
    body = (
        f"<p class='keys'>{escape(task_type)} · which answer is better?</p>"
        f"<section class='card'><h2>Request</h2><pre>{escape(request_input)}</pre>"
        f"{attachments(images)}</section>"
        f"<form id='pair' method='post' action='/console/pairs/{escape(task_id)}'>"
        "<input type='hidden' name='choice' value=''>"
        f"<section class='card'><h2>Answer 1</h2><pre id='first'>{escape(first)}</pre>"
        "<button type='button' data-choice='a'>This one (1)</button></section>"
        f"<section class='card'><h2>Answer 2</h2><pre id='second'>{escape(second)}</pre>"
        "<button type='button' data-choice='b'>This one (2)</button></section>"
        "<button type='button' data-choice='tie'>As good as each other (t)</button>"
        "<p class='keys'>1 or Left: the first · 2 or Right: the second · t: a tie</p></form>"
        f"<script>{_PAIR_SCRIPT}</script>"
    )
    return page("Compare", body, status="pair")


def no_pairs() -> str:
    body = "<p>No pair to compare: shadow copies answered by another path show up here.</p>"
    return page("Compare", body, status="no-pairs")
