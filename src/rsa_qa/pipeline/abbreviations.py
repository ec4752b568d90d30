"""Abbreviations an article defines, found with the Schwartz–Hearst algorithm.

"Recurrent miscarriage (RSA)" defines RSA. A candidate is a parenthesised short form of
2–10 characters (at least one letter, starting with a letter or digit, not more than two
words) after a long form, or a long form in parentheses after a short form; the long form
is the shortest run of words before it in which the short form's characters occur in
order, right to left, the first one at the start of a word (A. Schwartz and M. Hearst,
"A simple algorithm for identifying abbreviation definitions in biomedical text", PSB 2003).
"""

from __future__ import annotations

import re
from collections import Counter

_PARENTHESES = re.compile(r"\(([^()]{1,120})\)")
_MAX_SHORT = 10


def find_pairs(text: str) -> dict[str, str]:
    """Short form → long form for each abbreviation the text defines; the commonest long form wins."""
    seen: Counter[tuple[str, str]] = Counter()
    for match in _PARENTHESES.finditer(text):
        inside = match.group(1).strip()
        # The long form lies in the same sentence: nothing before a line break or a full stop counts.
        before = re.split(r"\n|[.;:!?]\s", text[: match.start()])[-1].rstrip()
        pair = _pair(inside, before)
        if pair is not None:
            seen[pair] += 1
    pairs: dict[str, str] = {}
    for (short, long), _ in seen.most_common():
        pairs.setdefault(short, long)
    return pairs


def _pair(inside: str, before: str) -> tuple[str, str] | None:
    words = before.split()
    if _is_short_form(inside) and words:
        # "long form (SF)": the long form has at most min(|SF| + 5, 2·|SF|) words.
        limit = min(len(inside) + 5, 2 * len(inside))
        for start in range(len(words) - 1, max(0, len(words) - limit) - 1, -1):
            candidate = " ".join(words[start:])
            long = _best_long_form(inside, candidate)
            if long is not None:
                return inside, long
        return None
    # "SF (long form)": the word before the parentheses is the short form.
    if words and _is_short_form(words[-1]) and len(inside.split()) > 1:
        long = _best_long_form(words[-1], inside)
        if long is not None:
            return words[-1], long
    return None


def _is_short_form(candidate: str) -> bool:
    return (
        2 <= len(candidate) <= _MAX_SHORT
        and len(candidate.split()) <= 2
        and any(ch.isalpha() for ch in candidate)
        and candidate[0].isalnum()
        and any(ch.isupper() for ch in candidate)
    )


def _best_long_form(short: str, long: str) -> str | None:
    """The shortest end of long that spells short, right to left (Schwartz–Hearst)."""
    s = len(short) - 1
    l_index = len(long) - 1
    while s >= 0:
        wanted = short[s].lower()
        if not wanted.isalnum():
            s -= 1
            continue
        while l_index >= 0 and (
            long[l_index].lower() != wanted or (s == 0 and l_index > 0 and long[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s -= 1
    start = long.rfind(" ", 0, l_index + 1) + 1
    result = long[start:].strip(" ,;:")
    if len(result) <= len(short) or result.lower() == short.lower():
        return None
    return result
