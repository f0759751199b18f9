"""`python -m bench.derive SEEDS.tar.gz > judged.tsv`: a judged query set derived by a rule.

For a corpus with a few broad sections (the BBC's five), the queries are the words a reader
might type that lean to one section without naming it: for each section, the ``PER_SECTION``
words (4+ letters, not stop words) in the most articles' bodies among those found in at least
``MIN_ARTICLES`` bodies and ``MIN_TITLES`` titles of which that section holds between
``SHARE_LOW`` and ``SHARE_HIGH``. A hit is relevant when it is in that section. No word is
picked by hand, so the set checks ranking changes against queries nobody chose; the output is
a judgments file for ``python -m bench relevance --judgments``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from whoosh.analysis import STOP_WORDS

from bench.relevance import SECTION_LINE

PER_SECTION = 4
MIN_ARTICLES = 150
MIN_TITLES = 5
SHARE_LOW, SHARE_HIGH = 0.45, 0.70

_WORD = re.compile(r"[a-z]{4,}")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def derive(articles: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(query, section) pairs from (section, title, body) triples, by the module's rule; in
    section order, each section's words most common first."""
    in_bodies: defaultdict[str, Counter[str]] = defaultdict(Counter)
    in_titles: Counter[str] = Counter()
    for section, title, body in articles:
        in_titles.update(_words(title))
        for word in _words(body):
            in_bodies[word][section] += 1
    leaning: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    for word, sections in in_bodies.items():
        total = sum(sections.values())
        section, held = sections.most_common(1)[0]
        if (
            total >= MIN_ARTICLES
            and in_titles[word] >= MIN_TITLES
            and SHARE_LOW <= held / total <= SHARE_HIGH
        ):
            leaning[section].append((total, word))
    return [
        (word, section)
        for section in sorted(leaning)
        for _, word in sorted(leaning[section], key=lambda tw: (-tw[0], tw[1]))[:PER_SECTION]
    ]


def seed_articles(archive: Path) -> Iterator[tuple[str, str, str]]:
    """(section, title, body) of each seed in a tar of seed files: the first line is the
    title, the ``Posted in:`` line the section, and the body the lines between, without the
    ``Source:`` line."""
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".txt"):
                continue
            text = tar.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
            lines = text.splitlines()
            section, body = "", []
            for line in lines[1:]:
                found = SECTION_LINE.match(line)
                if found:
                    section = found.group(1)
                    break
                if not line.startswith("Source:"):
                    body.append(line)
            if section:
                yield section, lines[0] if lines else "", "\n".join(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.derive", description=__doc__)
    parser.add_argument("corpus", type=Path, help="a tar of seed files with Posted in: lines")
    args = parser.parse_args(argv)
    pairs = derive(seed_articles(args.corpus))
    print(f"# query\tsection: derived from {args.corpus.name} by bench/derive.py's rule")
    for query, section in pairs:
        print(f"{query}\t{section}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
