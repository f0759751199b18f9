"""Deterministic synthetic corpus of seed files for the benchmarks.

Writes N files in the seed format the importer reads (title, `Source:... Published: ...` line,
paragraphs, `Posted in: <section>`, the Disqus trailer). The text is meant to behave like news
for a search engine, not to read well:

* words come from `bench/words.txt` (about 4,000 common English words, most frequent first) with
  Zipf-distributed ranks (exponent 1), so a handful of words are in nearly every article and most
  are rare;
* each section has its own topic words that its articles use more often, so facet counts and
  matches are correlated the way they are in a real archive;
* common two-word phrases ("interest rates", "prime minister", ...) are sprinkled in with a
  Zipf-like frequency, so phrase queries match a realistic share of documents;
* bodies are 200 to 1,200 words in paragraphs of 1 to 5 sentences;
* 8 sources (mildly skewed), 20 sections (Zipf-skewed), dates uniform over 25 years.

The output depends only on the seed: article i is the same for every N (a 10,000-file corpus is
the first 10,000 files of the 100,000-file one). `python -m bench.corpus --n 10000 --out DIR`.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

WORDS_FILE = Path(__file__).with_name("words.txt")
# Bump when the generated text changes, so cached corpora are regenerated.
GENERATOR_VERSION = 1
MANIFEST = ".bench-corpus.json"

SOURCES: tuple[str, ...] = (
    "AFP",
    "Reuters",
    "AP",
    "Xinhua",
    "DPA",
    "Bloomberg",
    "Anadolu",
    "BBC",
)
SOURCE_WEIGHTS: tuple[float, ...] = (0.24, 0.20, 0.15, 0.11, 0.09, 0.08, 0.07, 0.06)

SECTIONS: tuple[str, ...] = (
    "World",
    "Business",
    "Mid-East",
    "Politics",
    "Europe",
    "Asia",
    "Africa",
    "Americas",
    "Markets",
    "Sport",
    "Energy",
    "Technology",
    "Health",
    "Science",
    "Environment",
    "Culture",
    "Opinion",
    "Education",
    "Agriculture",
    "Travel",
)

# Two-word phrases news text repeats; most frequent first.
COLLOCATIONS: tuple[str, ...] = (
    "prime minister",
    "last year",
    "interest rates",
    "told reporters",
    "central bank",
    "security forces",
    "oil prices",
    "human rights",
    "foreign minister",
    "united nations",
    "stock market",
    "civil war",
    "air strikes",
    "finance minister",
    "economic growth",
    "police said",
    "trade deal",
    "next week",
    "climate change",
    "opposition leader",
    "peace talks",
    "state media",
    "public health",
    "armed forces",
    "general election",
    "cocoa prices",
    "exchange rate",
    "supreme court",
    "news agency",
    "defence ministry",
    "budget deficit",
    "energy sector",
    "middle class",
    "death toll",
    "aid workers",
    "world bank",
    "free trade",
    "tax cuts",
    "nuclear programme",
    "emergency services",
)

START = datetime(1995, 1, 1)
END = datetime(2020, 1, 1)  # exclusive: 25 years

ZIPF_EXPONENT = 1.0
TOPIC_WORDS_PER_SECTION = 150
TOPIC_SHARE = 0.12  # share of body words drawn from the section's topic words
COLLOCATION_CHANCE = 0.05  # per sentence
NAME_TAIL = 40_000  # made-up proper names ranked after the word list: the rare-term tail
FUNCTION_WORD_RANKS = 100  # titles skip the most frequent words


def load_words(path: Path = WORDS_FILE) -> list[str]:
    """The word list, most frequent first (blank lines and `#` comments skipped)."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words.append(word)
    return words


_SYLLABLES_TEXT = (
    "ka lo mi ren dra vo sha tan bel gor ni za ru pe dal min os ter ha vik "
    "sa lu mar ti ben co ra fel ga jo ki no pa que rel si tu va we xo ya zu "
    "an bri cal dor el fin gra hil ist jun kor lem mor nal ort pir sel tor ul"
)
_ENDINGS = ("", "", "", "ov", "ez", "son", "ski", "ani", "ou", "berg", "ine", "ato", "ic")


def name_tail(size: int = NAME_TAIL) -> list[str]:
    """Made-up proper names (people, places, companies) that form the long tail of the
    vocabulary; the same list for every seed, so a benchmark can name a rare term."""
    rnd = random.Random(20151010)
    syllables = _SYLLABLES_TEXT.split()
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < size:
        word = "".join(rnd.choice(syllables) for _ in range(rnd.randint(2, 3)))
        word += rnd.choice(_ENDINGS)
        if word not in seen:
            seen.add(word)
            names.append(word.capitalize())
    return names


def _zipf_cdf(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


@dataclass(frozen=True)
class CorpusStats:
    """What `generate` wrote."""

    n: int
    seed: int
    files: int
    bytes: int
    words: int
    seconds: float
    folder: str


class CorpusGenerator:
    """Produces the articles of the corpus for one seed, in order, from `articles()`.

    Articles are made in blocks of `BLOCK` (the numpy work is done per block, which is what
    makes 100,000 files take seconds rather than minutes); a block never depends on how many
    articles are asked for, so every N gives a prefix of the same sequence.
    """

    BLOCK = 500

    def __init__(self, seed: int = 1, words: list[str] | None = None) -> None:
        self.seed = seed
        self.rnd = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        real = words if words is not None else load_words()
        if len(real) < FUNCTION_WORD_RANKS + TOPIC_WORDS_PER_SECTION:
            raise ValueError("word list too short")
        taken = set(real)
        vocab = real + [name for name in name_tail() if name.lower() not in taken]
        self.cdf = _zipf_cdf(len(vocab), ZIPF_EXPONENT)
        self.content = np.array(vocab[FUNCTION_WORD_RANKS:], dtype=object)
        self.content_cdf = _zipf_cdf(len(self.content), ZIPF_EXPONENT)
        self.collocation_cdf = _zipf_cdf(len(COLLOCATIONS), 1.0)
        self.collocation_cum = list(self.collocation_cdf)
        # Word ids for bodies: the ranked list, then phrase words missing from it (never drawn
        # on their own).
        extended = list(vocab)
        position = {word: i for i, word in enumerate(extended)}
        pairs = []
        for phrase in COLLOCATIONS:
            pair = []
            for word in phrase.split():
                if word not in position:
                    position[word] = len(extended)
                    extended.append(word)
                pair.append(position[word])
            pairs.append(pair)
        self.collocation_ids = np.array(pairs, dtype=np.int64)
        self.words = np.array(extended, dtype=object)
        self.capitalised = np.array([w[:1].upper() + w[1:] for w in extended], dtype=object)
        # Topic words per section: drawn from the content words, skipping the top ranks.
        topic_rng = np.random.default_rng([seed, 1])
        topic_ids = np.arange(FUNCTION_WORD_RANKS, len(real))
        self.topics = np.stack(
            [topic_rng.choice(topic_ids, TOPIC_WORDS_PER_SECTION, replace=False) for _ in SECTIONS]
        )
        self.section_cum = list(np.cumsum(1.0 / np.arange(1, len(SECTIONS) + 1)))
        self.source_cum = list(np.cumsum(SOURCE_WEIGHTS))
        self.span_seconds = int((END - START).total_seconds())

    def articles(self) -> Iterator[tuple[str, str, int]]:
        """Endless (file name, file text, body word count) for articles 0, 1, 2, ..."""
        i = 0
        while True:
            for name, text, n_words in self._block(i):
                yield name, text, n_words
                i += 1

    def _collocation(self) -> list[str]:
        return COLLOCATIONS[_pick(self.collocation_cum, self.rnd.random())].split()

    def _title(self) -> str:
        rnd = self.rnd
        n = rnd.randint(4, 11)
        ids = np.searchsorted(self.content_cdf, self.np_rng.random(n), side="right")
        np.minimum(ids, len(self.content) - 1, out=ids)
        words = self.content[ids].tolist()
        if rnd.random() < 0.3:
            k = rnd.randrange(n - 1)
            words[k : k + 2] = self._collocation()
        first = words[0]
        words[0] = first[:1].upper() + first[1:]
        return " ".join(words)

    def _block(self, first: int) -> list[tuple[str, str, int]]:
        rnd = self.rnd
        heads = []
        sections = []
        lengths = []
        for i in range(first, first + self.BLOCK):
            source = SOURCES[_pick(self.source_cum, rnd.random())]
            section = _pick(self.section_cum, rnd.random() * self.section_cum[-1])
            published = START + timedelta(seconds=rnd.randrange(self.span_seconds))
            n_words = int(rnd.triangular(200, 1200, 450))
            name = f"{i:07d}_{rnd.getrandbits(64):016x}.txt"
            stamp = f"{published:%Y-%m-%d} {published.hour}:{published:%M:%S}"
            heads.append((name, f"{self._title()}\n\nSource:{source} Published: {stamp}\n\n"))
            sections.append(section)
            lengths.append(n_words)
        bodies = self._bodies(np.array(sections), np.array(lengths))
        return [
            (
                name,
                f"{head}{body}\n\n\n\nPosted in: {SECTIONS[section]}\n\n"
                "blog comments powered by Disqus",
                n_words,
            )
            for (name, head), body, section, n_words in zip(
                heads, bodies, sections, lengths, strict=True
            )
        ]

    def _bodies(self, sections: np.ndarray, lengths: np.ndarray) -> list[str]:
        """Bodies for a block: all words drawn at once, then one separator after each word
        (" ", ", ", ". " or a paragraph break), then sliced per article."""
        r = self.np_rng
        doc_ends = np.cumsum(lengths)
        total = int(doc_ends[-1])
        ids = np.searchsorted(self.cdf, r.random(total), side="right")
        np.minimum(ids, len(self.cdf) - 1, out=ids)
        topical = np.flatnonzero(r.random(total) < TOPIC_SHARE)
        token_section = np.repeat(sections, lengths)[topical]
        ids[topical] = self.topics[
            token_section, r.integers(0, TOPIC_WORDS_PER_SECTION, len(topical))
        ]

        # Sentences of 8 to 30 words, cut at article ends.
        ends = np.cumsum(r.integers(8, 31, total // 8 + 1))
        ends = np.union1d(ends[ends < total], doc_ends)
        starts = np.concatenate(([0], ends[:-1]))
        sizes = ends - starts
        k = len(ends)

        phrase = (r.random(k) < COLLOCATION_CHANCE) & (sizes >= 4)
        at = starts + (r.random(k) * (sizes - 1)).astype(np.int64)
        which = np.searchsorted(self.collocation_cdf, r.random(k), side="right")
        which = np.minimum(which, len(COLLOCATIONS) - 1)[phrase]
        ids[at[phrase]] = self.collocation_ids[which, 0]
        ids[at[phrase] + 1] = self.collocation_ids[which, 1]

        seps = np.full(total, " ", dtype=object)
        comma = (r.random(k) < 0.5) & (sizes >= 12)
        comma_at = starts + 3 + (r.random(k) * (sizes - 6)).astype(np.int64)
        seps[comma_at[comma]] = ", "
        seps[ends - 1] = ". "
        paragraph_ends = np.cumsum(r.integers(1, 6, k)) - 1
        seps[ends[paragraph_ends[paragraph_ends < k]] - 1] = ".\n\n"
        seps[doc_ends - 1] = "."

        words = self.words[ids]
        words[starts] = self.capitalised[ids[starts]]
        out = np.empty(2 * total, dtype=object)
        out[0::2] = words
        out[1::2] = seps
        pieces = out.tolist()
        bounds = [0, *(2 * doc_ends).tolist()]
        return ["".join(pieces[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def _pick(cumulative: list[float], x: float) -> int:
    return min(bisect.bisect_right(cumulative, x), len(cumulative) - 1)


def generate(n: int, out: Path | str, seed: int = 1, progress: bool = False) -> CorpusStats:
    """Write articles 0..n-1 for `seed` into `out` (created if needed) and a manifest file.

    Files already there with other names are left alone; use a fresh folder for a clean corpus.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / MANIFEST
    manifest.unlink(missing_ok=True)
    articles = CorpusGenerator(seed).articles()
    started = time.perf_counter()
    total_bytes = total_words = 0
    step = max(1, n // 20)
    for i in range(n):
        name, text, n_words = next(articles)
        data = text.encode("utf-8")
        with open(folder / name, "wb") as f:
            f.write(data)
        total_bytes += len(data)
        total_words += n_words
        if progress and (i + 1) % step == 0:
            print(f"  corpus: {i + 1:,}/{n:,} files", file=sys.stderr, flush=True)
    stats = CorpusStats(
        n=n,
        seed=seed,
        files=n,
        bytes=total_bytes,
        words=total_words,
        seconds=round(time.perf_counter() - started, 3),
        folder=str(folder),
    )
    manifest.write_text(
        json.dumps({"version": GENERATOR_VERSION, **asdict(stats)}, indent=2), encoding="utf-8"
    )
    return stats


def _complete(folder: Path, n: int) -> bool:
    try:
        info = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("version") == GENERATOR_VERSION and info.get("n") == n


def cached_corpus(n: int, root: Path | str, seed: int = 1, progress: bool = False) -> Path:
    """The folder `root/corpus-n<N>-s<seed>`, generated unless a complete copy is already there.

    A new corpus is written to a private folder and renamed into place when complete, so two
    benchmark runs started together never see (or delete) each other's half-written files.
    """
    folder = Path(root) / f"corpus-n{n}-s{seed}"
    if _complete(folder, n):
        return folder
    partial = Path(root) / f".{folder.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    generate(n, partial, seed, progress=progress)
    if folder.exists() and not _complete(folder, n):
        shutil.rmtree(folder)  # left by an older generator version or an interrupted run
    try:
        partial.rename(folder)
    except OSError:
        # Another run finished the same corpus first; the files are identical, keep theirs.
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus", description="Write a synthetic corpus of seed files."
    )
    parser.add_argument("--n", type=int, required=True, help="number of files")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("--n must be >= 0")
    stats = generate(args.n, args.out, args.seed, progress=True)
    print(
        f"wrote {stats.files:,} files, {stats.bytes / 1e6:.1f} MB, {stats.words:,} body words "
        f"to {stats.folder} in {stats.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
