"""The package as a user gets it: build the sdist and the wheel, install the wheel into a fresh
virtualenv, run the ``stompest`` console script and import both clients from there.

How, and why this way (it must work on a machine whose only network is the package registry):

* The source tree is copied to a temporary folder first (without ``.venv``, ``.git``, caches
  and build output), so the build writes no ``build/`` or ``*.egg-info`` into the working tree.
* ``python -m build`` (PyPA's ``build``) makes the sdist, then the wheel *from the sdist*, so a
  file missing from the sdist fails here. Its output must not contain the word "warning"
  (setuptools warns about license classifiers, unknown keys, excludes that match nothing). The
  build runs without ``PYTHONDONTWRITEBYTECODE``, which would make setuptools warn that it
  skips byte-compiling: a setting of the environment, not of the project. The build is isolated
  as a release build would be: pip fetches what ``pyproject.toml`` asks for (``setuptools>=77``)
  from the package registry (or its cache). ``build`` itself comes from the
  test environment when it is installed there, else it is installed into a throw-away venv.
* The wheel is installed into a fresh ``python -m venv`` with ``pip install --no-index
  --no-deps``: no network. Its dependencies (Twisted and what Twisted needs) are not downloaded
  again; a ``.pth`` file appends the test environment's site-packages to the new venv's path,
  *after* the venv's own site-packages, so ``stompest`` is imported from the installed wheel
  (checked) while Twisted comes from the environment the suite already runs in. Every
  ``Requires-Dist`` of the wheel's metadata (without extras) is then checked to be satisfied
  by what that venv sees, so a dependency missing from ``setup.cfg`` still fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import stompest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # seconds for the build (it may fetch setuptools); the other steps take seconds
_IGNORED = shutil.ignore_patterns(
    '.git',
    '.venv',
    '.brokers',
    '.hypothesis',
    '.mypy_cache',
    '.ruff_cache',
    '.pytest_cache',
    '__pycache__',
    'build',
    'dist',
    '*.egg-info',
    '_build',
    '*.pyc',
    'erl_crash.dump',
)

CHECK_REQUIREMENTS = '''
import sys
from importlib.metadata import PackageNotFoundError, distribution, version
from packaging.requirements import Requirement
missing = []
for line in distribution("stompest").requires or []:
    requirement = Requirement(line)
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        continue  # an extra's requirement
    try:
        found = version(requirement.name)
    except PackageNotFoundError:
        missing.append(f"{requirement} (not installed)")
        continue
    if not requirement.specifier.contains(found, prereleases=True):
        missing.append(f"{requirement} (found {found})")
print("\\n".join(missing))
sys.exit(1 if missing else 0)
'''


def run(*argv: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    ignored = ('PYTHONPATH', 'PYTHONHOME', 'PYTHONDONTWRITEBYTECODE')
    env = {key: value for key, value in os.environ.items() if key not in ignored}
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    done = subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    command = ' '.join(map(str, argv))
    assert done.returncode == 0, f'{command} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}'
    return done


def venvPython(venv: Path) -> Path:
    return venv / 'bin' / 'python'


def buildPython(workdir: Path) -> Path:
    """A Python that has PyPA's ``build``: this one, or a throw-away venv that gets it from PyPI."""
    if importlib.util.find_spec('build') is not None:
        return Path(sys.executable)
    venv = workdir / 'build-venv'
    run(sys.executable, '-m', 'venv', venv, cwd=workdir)
    run(venvPython(venv), '-m', 'pip', 'install', '-q', 'build', cwd=workdir, timeout=TIMEOUT)
    return venvPython(venv)


@pytest.fixture(scope='module')
def building(tmp_path_factory) -> tuple[Path, Path, Path, str]:
    """(sdist, wheel, work folder, the build's output), built once for this module."""
    workdir = tmp_path_factory.mktemp('package')
    source = workdir / 'source'
    shutil.copytree(ROOT, source, ignore=_IGNORED)
    dist = workdir / 'dist'
    done = run(buildPython(workdir), '-m', 'build', '--outdir', dist, source, cwd=workdir, timeout=TIMEOUT)
    sdists, wheels = sorted(dist.glob('stompest-*.tar.gz')), sorted(dist.glob('stompest-*.whl'))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(path.name for path in dist.iterdir())
    return sdists[0], wheels[0], workdir, done.stdout + done.stderr


@pytest.fixture(scope='module')
def built(building) -> tuple[Path, Path, Path]:
    """(sdist, wheel, work folder)."""
    return building[:3]


def test_buildPrintsNoWarning(building):
    output = building[3]
    warnings = [line for line in output.splitlines() if 'warn' in line.lower()]
    assert warnings == [], '\n'.join(warnings)
    assert 'Successfully built' in output


def metadataOf(text: str) -> list[tuple[str, str]]:
    """The ``Name: value`` fields of a METADATA/PKG-INFO text (up to the description)."""
    fields = []
    for line in text.split('\n\n', 1)[0].splitlines():
        name, _, value = line.partition(': ')
        fields.append((name, value))
    return fields


def test_wheelMetadataHasAnSpdxLicenseAuthorUrlsAndPython313(built):
    _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        name = next(name for name in archive.namelist() if name.endswith('.dist-info/METADATA'))
        fields = metadataOf(archive.read(name).decode())
    values = {}
    for field, value in fields:
        values.setdefault(field, []).append(value)
    assert values['License-Expression'] == ['Apache-2.0']
    assert values['License-File'] == ['LICENSE']
    assert 'License' not in values
    assert not any(value.startswith('License ::') for value in values['Classifier'])
    assert 'Programming Language :: Python :: 3.13' in values['Classifier']
    assert values['Author'] == ['stompest developers']
    assert values['Home-page'] and len(values['Project-URL']) >= 2
    assert not any('pypi' in value.lower() for value in values['Home-page'] + values['Project-URL'])


def test_wheelShipsTypeInformationAndTheConsoleScript(built):
    _, wheel, _ = built
    assert wheel.name.startswith(f'stompest-{stompest.__version__}-py3-none-any')
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entryPoints = next(name for name in names if name.endswith('.dist-info/entry_points.txt'))
        assert 'stompest = stompest.__main__:main' in archive.read(entryPoints).decode()
    assert 'stompest/py.typed' in names
    for module in (
        'stompest/cli/__init__.py',
        'stompest/cli/command.py',
        'stompest/_demo.py',
        'stompest/__main__.py',
        'stompest/sync/__init__.py',
        'stompest/twisted/__init__.py',
        'stompest/protocol/__init__.py',
    ):
        assert module in names
    assert not any(name.startswith(('tests/', 'examples/')) for name in names)


def sourceFiles(*folders: str) -> list[str]:
    """The files of ``folders`` under version control (in a tree without git: their .py and .rst files)."""
    try:
        listed = subprocess.run(
            ['git', 'ls-files', '-z', '--', *folders],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        ).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        listed = ''
    if listed:
        return [name for name in listed.split('\0') if name]
    return [
        str(path.relative_to(ROOT))
        for folder in folders
        for pattern in ('*.py', '*.rst')
        for path in (ROOT / folder).rglob(pattern)
        if '_build' not in path.parts
    ]


def test_sdistHasTheSourcesDocsExamplesAndChangelog(built):
    sdist, _, _ = built
    top = sdist.name[: -len('.tar.gz')]
    with tarfile.open(sdist) as archive:
        names = {name[len(top) + 1 :] for name in archive.getnames()}
    for name in (
        'setup.cfg',
        'setup.py',
        'pyproject.toml',
        'LICENSE',
        'README.md',
        'Makefile',
        'stompest/py.typed',
        'stompest/cli/__init__.py',
        'docs/changes.rst',
        'docs/index.rst',
        'docs/conf.py',
        'docs/cli.rst',
        'tests/test_package.py',
    ):
        assert name in names
    missing = sorted(set(sourceFiles('docs', 'examples', 'tests')) - names)
    assert missing == [], 'MANIFEST.in misses these'
    assert not any('__pycache__' in name or name.endswith('.pyc') or '_build/' in name for name in names)


def test_wheelInstallsIntoAFreshVenvAndRuns(built):
    _, wheel, workdir = built
    venv = workdir / 'venv'
    run(sys.executable, '-m', 'venv', venv, cwd=workdir)
    run(venvPython(venv), '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', wheel, cwd=workdir)
    sitePackages = Path(
        run(
            venvPython(venv), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))', cwd=workdir
        ).stdout.strip()
    )
    # the dependencies come from the environment this suite runs in (see the module docstring)
    ours = {sysconfig.get_path('purelib'), sysconfig.get_path('platlib')}
    (sitePackages / 'zz_test_environment.pth').write_text(''.join(f'{path}\n' for path in sorted(ours)))

    run(venvPython(venv), '-c', CHECK_REQUIREMENTS, cwd=workdir)
    helped = run(venv / 'bin' / 'stompest', '--help', cwd=workdir)
    assert 'usage: stompest' in helped.stdout and 'demo' in helped.stdout
    versioned = run(venv / 'bin' / 'stompest', '--version', cwd=workdir)
    assert versioned.stdout == f'stompest {stompest.__version__}\n'
    imported = run(
        venvPython(venv),
        '-c',
        'import stompest, stompest.twisted, stompest.sync; '
        'print(stompest.__file__, stompest.twisted.Stomp.__module__, stompest.sync.Stomp.__module__)',
        cwd=workdir,
    )
    location, twistedModule, syncModule = imported.stdout.split()
    assert Path(location).is_relative_to(sitePackages)  # the installed wheel, not the source tree
    assert (twistedModule, syncModule) == ('stompest.twisted.client', 'stompest.sync.client')
    refused = subprocess.run(
        [str(venv / 'bin' / 'stompest'), 'send', '--uri', 'tcp://127.0.0.1:1', '/queue/x', 'x'],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 1 and refused.stderr.startswith('stompest: error: connection refused by 127.0.0.1:1 ')
