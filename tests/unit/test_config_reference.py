"""The README's configuration reference names every setting, so it cannot fall behind."""

from pathlib import Path

from genroute.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"GENROUTE_{name.upper()}"
        for name in Settings.model_fields
        if f"GENROUTE_{name.upper()}" not in README
    ]
    assert not missing, missing
