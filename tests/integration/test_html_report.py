"""The HTML report opened in headless Chromium: every chart drew its marks (the page's script
says so on each figure), nothing was fetched from the network, and a screenshot is taken."""

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from genroute.analysis.html_report import CHARTS, write_report

pytestmark = pytest.mark.integration

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("chrome")


class Figures(HTMLParser):
    """The attributes of every chart figure in a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "figure" and values.get("data-chart"):
            self.found[str(values["data-chart"])] = values


def _chromium(*args: str) -> str:
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    done = subprocess.run(
        [*command, "--virtual-time-budget=5000", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium on this machine (`python3 dev.py test` installs Debian's chromium "
    "when it runs as root with apt, as in CI)",
)
def test_every_chart_renders_in_a_browser(seeded: Session, tmp_path: Path) -> None:
    report = Path(write_report(seeded, None, str(tmp_path / "report.html")))
    page = report.read_text()
    # Self-contained: nothing the page would load from elsewhere.
    for loader in ("<link", " src=", "url(", "@import", "fetch(", "XMLHttpRequest"):
        assert loader not in page, loader
    dom = _chromium("--dump-dom", report.as_uri())
    parser = Figures()
    parser.feed(dom)
    assert set(parser.found) == set(CHARTS)
    for name, figure in parser.found.items():
        assert figure.get("data-error") is None, f"{name}: {figure.get('data-error')}"
        assert figure.get("data-rendered") == "true", f"{name} did not render"
        assert int(figure.get("data-marks") or 0) > 0, f"{name} drew nothing"
    assert dom.count('class="mark"') >= 4
    _chromium(f"--screenshot={tmp_path / 'report.png'}", "--window-size=900,1800", report.as_uri())
    assert (tmp_path / "report.png").stat().st_size > 10_000
