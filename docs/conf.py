"""Sphinx configuration for stompest's documentation.

Build with ``make docs`` (warnings are errors). No network access is needed: intersphinx is
off. The theme is Furo (pinned in the ``docs`` extra), widened in ``_static/stompest.css`` so code
is shown at full width; the pictures are drawn from the code by ``_ext/stompestfigures.py``.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The repository root (never stompest/ itself: stompest.twisted would shadow the framework).
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, '_ext'))

import stompest  # noqa: E402

project = 'stompest'
author = 'the stompest authors'
copyright = 'the stompest authors; Apache License 2.0'
release = stompest.__version__
version = '.'.join(release.split('.')[:2])

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.doctest',
    'stompestdocs',
    'stompestfigures',
]

exclude_patterns = ['_build', '_generated/.gitignore']
html_theme = 'furo'
html_title = f'stompest {release}'
html_static_path = ['_static']
html_css_files = ['stompest.css']
templates_path: list[str] = []
html_theme_options = {'navigation_with_keys': True}
pygments_style = 'friendly'
pygments_dark_style = 'monokai'

autodoc_member_order = 'bysource'
autodoc_typehints = 'signature'
autodoc_default_options = {
    'members': True,
    'show-inheritance': True,
}

# Only explicit ``.. doctest::`` blocks run under ``-b doctest``; the ``>>>`` examples in the
# docstrings shown by autodoc are run by pytest (``--doctest-modules``) in their modules' namespace.
doctest_test_doctest_blocks = ''

# The listener hooks annotate ``connection: Stomp`` with the Twisted client imported only for type
# checking (a runtime import would be circular), so Sphinx cannot tell which of the two ``Stomp``
# classes (sync, twisted) the annotation means and warns that the reference is ambiguous.
suppress_warnings = ['ref.python']

# Every code sample in the docs is Python unless it says otherwise.
highlight_language = 'python3'
