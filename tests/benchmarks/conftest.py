"""Benchmarks are run on demand as scripts (see each file's docstring), not collected by pytest."""

collect_ignore_glob = ['bench_*.py']
