"""Numbers as values, however they are written: `1,249.99` and `1.249,99` are the same amount,
`10.5` and `10,5` the same, but `10.5` is not `105`. A separator followed by exactly three
digits may group thousands (en `1,249`, de `1.249`) or mark decimals (en `1.249`, de `1,249`),
so such a number has both readings; any other separator is decimal. Numbers written in words
("three hundred euros", "dreihundert Euro") are turned into digits first (text2num, for the
languages it knows), so they are grounded like digits."""

import re
from decimal import Decimal, InvalidOperation

from text_to_num import alpha2digit

from genroute.workers.validation.languages import encodable

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Languages text2num reads numbers in.
_SPELLED = frozenset({"en", "de", "fr", "es", "it", "pt", "nl"})


def spelled_as_digits(text: str, language: str | None) -> str:
    """`text` with its numbers written in words as digits, when its language is known (text2num
    leaves lone small numbers such as "one" as words, so "one of them" stays)."""
    if language not in _SPELLED:
        return text
    try:
        return alpha2digit(encodable(text), language)
    except (ValueError, RuntimeError):  # a text the parser cannot read keeps its words
        return text


def _thousands(groups: list[str]) -> bool:
    return 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])


def number_values(written: str) -> frozenset[Decimal | str]:
    """Every value `written` (digits and separators) can mean; a string that is not a number in
    any convention (a version `1.2.3`) stands for itself."""
    separators = re.findall(r"[.,]", written)
    groups = re.split(r"[.,]", written)
    values: set[Decimal | str] = set()
    try:
        if not separators:
            values.add(Decimal(written))
        elif len(set(separators)) == 2:
            decimal_mark = separators[-1]
            if decimal_mark not in separators[:-1] and _thousands(groups[:-1]):
                values.add(Decimal("".join(groups[:-1]) + "." + groups[-1]))
        else:
            if _thousands(groups):
                values.add(Decimal("".join(groups)))
            if len(separators) == 1:
                values.add(Decimal(groups[0] + "." + groups[1]))
    except InvalidOperation:
        pass
    return frozenset(values or {written})


def values_in(text: str) -> set[Decimal | str]:
    """Every value any number in `text` can mean."""
    return {value for written in NUMBER.findall(text) for value in number_values(written)}
