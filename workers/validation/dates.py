"""Dates as (year, month, day) wherever and however they are written: `2026-11-20`,
`20.11.2026`, `20/11/2026` and `11/20/2026` (either order, since both are in use),
`20 November 2026`, `20. November`, `November 20th, 2026`, `20 de noviembre`, `Nov 2026`, with
month names in English, German, French, Spanish, Italian, Dutch and Portuguese. A reply's
date is grounded when the input has the same day (or, for a bare month, the same month) in
any of these forms; a missing year on either side matches any year."""

import re
from dataclasses import dataclass

_MONTH_NAMES = {
    1: "january jan januar jänner janvier enero gennaio januari janeiro",
    2: "february feb februar février fevrier febrero febbraio februari fevereiro",
    3: "march mar märz maerz mars marzo maart março",
    4: "april apr avril abril aprile",
    5: "may mai mayo maggio mei maio",
    6: "june jun juni juin junio giugno junho",
    7: "july jul juli juillet julio luglio julho",
    8: "august aug août aout agosto augustus",
    9: "september sep sept septembre septiembre settembre setembro",
    10: "october oct oktober octobre octubre ottobre okt outubro",
    11: "november nov novembre noviembre novembro",
    12: "december dec dezember décembre decembre diciembre dicembre dez dezembro",
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
_MONTH = "(?P<month>" + "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.|º)?"
_YEAR = r"(?P<year>\d{4})"
_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(
        r"(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?:(?P<year>\d{4}|\d{2})\b|(?!\d))"
    ),
    re.compile(r"\b(?P<first>\d{1,2})/(?P<second>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?\b"),
    re.compile(rf"\b{_DAY}\s*(?:of\s+|de\s+)?{_MONTH}(?:,?\s*(?:de\s+)?{_YEAR})?", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s*{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_YEAR}\b", re.IGNORECASE),
]


@dataclass(frozen=True)
class Date:
    """A written date; None where the text leaves that part out."""

    year: int | None
    month: int
    day: int | None

    def matches(self, other: "Date") -> bool:
        """Whether `other` (from the input) is this date, as far as both say."""
        return (
            self.month == other.month
            and (self.day is None or self.day == other.day)
            and (self.year is None or other.year is None or self.year == other.year)
        )


@dataclass(frozen=True)
class WrittenDate:
    """A date found in a text: where, as written, and what it can mean (two readings for
    `03/04/2026`)."""

    start: int
    end: int
    text: str
    readings: tuple[Date, ...]


def _year(text: str | None) -> int | None:
    if not text:
        return None
    return int(text) + 2000 if len(text) == 2 else int(text)


def _valid(month: int, day: int | None) -> bool:
    return 1 <= month <= 12 and (day is None or 1 <= day <= 31)


def _readings(match: re.Match[str]) -> list[Date]:
    parts = match.groupdict()
    year = _year(parts.get("year"))
    if "first" in parts:  # d/m or m/d
        first, second = int(parts["first"]), int(parts["second"])
        candidates = [(second, first), (first, second)]
    else:
        month_text = parts["month"].lower().rstrip(".")
        month = MONTHS[month_text] if month_text in MONTHS else int(month_text)
        day = int(parts["day"]) if parts.get("day") else None
        candidates = [(month, day)]
    return [Date(year, month, day) for month, day in candidates if _valid(month, day)]


def find_dates(text: str) -> list[WrittenDate]:
    """Every date written in `text`, first match wins where forms overlap."""
    found: list[WrittenDate] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < stop and end > begin for begin, stop in taken):
                continue
            readings = _readings(match)
            if readings:
                found.append(WrittenDate(start, end, match.group(), tuple(readings)))
                taken.append((start, end))
    return sorted(found, key=lambda date: date.start)


def grounded_date(date: WrittenDate, source_dates: list[WrittenDate]) -> bool:
    """Whether some reading of `date` is a date of the input."""
    return any(
        reading.matches(known)
        for reading in date.readings
        for written in source_dates
        for known in written.readings
    )
