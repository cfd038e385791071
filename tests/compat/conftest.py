"""The harness modules are run by ``run.py`` (``make compat``), not collected by the main test run.

Only ``test_expectations.py``, the harness's own tests, belongs to the ordinary suite.
"""

collect_ignore = ['run.py', 'compat_plugin.py', 'compat_backwards.py', 'expectations.py']
