"""Benchmarks for newsarchive: synthetic corpus, raw Whoosh baseline and the `make bench` run.

Run `python -m bench --help`; see bench/README.md for what each figure means.
"""
