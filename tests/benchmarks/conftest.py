collect_ignore_glob = ['bench_*.py']
