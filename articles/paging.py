"""Page numbers for every paged list (search results, sources, sections, the date archive):
the first and last page always, and a few either side of the current one, with gaps between."""

from __future__ import annotations

#: Pages shown either side of the current one.
PAGE_WINDOW = 2


def page_numbers(current: int, last: int, window: int = PAGE_WINDOW) -> list[int | None]:
    """``[1, None, 4, 5, 6, 7, 8, None, 953]`` for page 6 of 953 (None is a gap)."""
    if last <= 1:
        return []
    wanted = {1, last, *range(current - window, current + window + 1)}
    numbers: list[int | None] = []
    previous = 0
    for number in sorted(n for n in wanted if 1 <= n <= last):
        if number - previous > 1:
            numbers.append(None)
        numbers.append(number)
        previous = number
    return numbers
