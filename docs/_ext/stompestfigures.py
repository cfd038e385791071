"""Pictures drawn from the code at build time, so they cannot drift from it.

* ``layers.svg``: stompest's packages and who imports whom, read from the sources with :mod:`ast`
  (imports under ``if TYPE_CHECKING:`` do not count: they are not run). A package that imports a
  package drawn above it is a layering bug, and it shows.
* ``session-states.svg``: the session's states and the commands that move between them, found by
  driving a real :class:`~stompest.protocol.session.StompSession` through every command that
  :data:`~stompest.protocol.session.COMMAND_STATES` allows in every state.
* ``twisted-lifecycle.svg``: the Twisted client's connection lifecycle, when ``stompest.twisted``
  has a transitions table (see :func:`twistedTransitions`); without one, no picture is made and
  the ``stompest-figure`` directive for it says so in the page.
* ``bench-parser.svg``, ``bench-e2e.svg`` and ``bench-pipeline.svg``: the benchmark figures (matplotlib,
  Agg backend), drawn from ``docs/data/bench_parser.json``, ``docs/data/bench_e2e.json`` and
  ``docs/data/bench_pipeline.json``.

The files are written into ``docs/_generated/`` when the builder starts; pages show them with
``.. stompest-figure:: NAME`` (a figure with alt text and caption) so that a missing picture is a
warning, and ``make docs`` turns warnings into errors.
"""

from __future__ import annotations

import ast
import html
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

log = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
OUT = DOCS / '_generated'
DATA = DOCS / 'data'

# Colours that read on Furo's light and dark pages alike (every picture has its own white ground).
INK, MUTED, LINE = '#1f2328', '#57606a', '#8c959f'
FILLS = {
    'core': '#dbeafe',
    'client': '#dcfce7',
    'kit': '#fef3c7',
    'app': '#f3e8ff',
    'base': '#f1f5f9',
    'external': '#ffffff',
}
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


# -- a few SVG primitives --------------------------------------------------------------------------


def _textWidth(text: str, size: float) -> float:
    return len(text) * size * 0.6


class Svg:
    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height, self.title = width, height, title
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, dashed: bool = False) -> None:
        dash = ' stroke-dasharray="5 3"' if dashed else ''
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8" '
            f'fill="{fill}" stroke="{LINE}" stroke-width="1.2"{dash}/>'
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 14,
        weight: str = 'normal',
        colour: str = INK,
        anchor: str = 'middle',
        mono: bool = False,
        halo: bool = False,
    ) -> None:
        family = 'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace"' if mono else FONT
        # A halo: a white outline under the glyphs keeps a label readable where a line crosses it.
        outline = ' stroke="#ffffff" stroke-width="4" paint-order="stroke"' if halo else ''
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" fill="{colour}" '
            f'text-anchor="{anchor}" {family}{outline}>{html.escape(text)}</text>'
        )

    def path(self, d: str, colour: str = MUTED, arrow: bool = True, width: float = 1.4) -> None:
        marker = ' marker-end="url(#arrow)"' if arrow else ''
        self.parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{marker}/>')

    def __str__(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width:.0f} {self.height:.0f}" '
            f'width="{self.width:.0f}" height="{self.height:.0f}" role="img">'
            f'<title>{html.escape(self.title)}</title>'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>'
            f'<rect width="100%" height="100%" fill="#ffffff" rx="6"/>'
        )
        return head + ''.join(self.parts) + '</svg>\n'


# -- the layer diagram -----------------------------------------------------------------------------

#: How the packages are shown: (box title, kind, what it is).
LAYERS = {
    'stompest.error': ('stompest.error', 'base', 'the StompError tree'),
    'stompest.protocol': ('stompest.protocol', 'core', 'sans-IO: frames, parser, session, failover'),
    'stompest.config': ('stompest.config', 'base', 'StompConfig'),
    'stompest.sync': ('stompest.sync', 'client', 'blocking client: socket, select, ssl'),
    'stompest.twisted': ('stompest.twisted', 'client', 'Twisted client: Deferreds, listeners'),
    'stompest.testing': ('stompest.testing', 'kit', 'in-memory broker for tests'),
    'stompest.cli': ('stompest command', 'app', 'cli, __main__, demo'),
    'twisted': ('Twisted (framework)', 'external', 'reactor, endpoints, Deferred'),
}


def _layerOf(module: str) -> str | None:
    if module in ('stompest.cli', 'stompest.__main__', 'stompest._demo'):
        return 'stompest.cli'
    for name in LAYERS:
        if module == name or module.startswith(name + '.'):
            return name
    return None


def _isTypeChecking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == 'TYPE_CHECKING') or (
        isinstance(test, ast.Attribute) and test.attr == 'TYPE_CHECKING'
    )


def _imports(tree: ast.AST) -> Iterable[str]:
    """Module names imported at run time (not under ``if TYPE_CHECKING:``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _isTypeChecking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                yield child.module
                yield from (f'{child.module}.{alias.name}' for alias in child.names)
            stack.append(child)


def layerEdges() -> set[tuple[str, str]]:
    """``(importer, imported)`` between the layers, read from every module under ``stompest/``."""
    edges = set()
    for path in sorted((ROOT / 'stompest').rglob('*.py')):
        module = '.'.join(path.relative_to(ROOT).with_suffix('').parts).removesuffix('.__init__')
        source = _layerOf(module)
        if source is None:
            continue
        for imported in _imports(ast.parse(path.read_text(encoding='utf-8'))):
            target = _layerOf(imported)
            if target is not None and target != source:
                edges.add((source, target))
    return edges


def reduced(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges not implied by a longer path (the transitive reduction of an acyclic graph)."""

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for source, target in edges:
                if source == node and (source, target) != skip and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    return {(source, target) for (source, target) in edges if target not in reachable(source, (source, target))}


def _ranks(nodes_: Iterable[str], edges: set[tuple[str, str]]) -> dict[str, int]:
    """Longest path to a layer that imports nothing: the bottom row is 0."""
    ranks: dict[str, int] = {}

    def rank(node: str, seen: tuple[str, ...] = ()) -> int:
        if node in ranks:
            return ranks[node]
        if node in seen:  # an import cycle: draw it, do not loop
            return 0
        below = [rank(target, seen + (node,)) for (source, target) in edges if source == node]
        ranks[node] = 1 + max(below) if below else 0
        return ranks[node]

    for node in nodes_:
        rank(node)
    return ranks


def drawLayers() -> str:
    edges = reduced(layerEdges())
    present = {node for edge in edges for node in edge} | {'stompest.error'}
    ranks = _ranks(present, edges)
    rows: dict[int, list[str]] = {}
    for node in LAYERS:  # the order of LAYERS within a row
        if node in present:
            rows.setdefault(ranks[node], []).append(node)
    boxW, boxH, gapX, gapY, margin = 300, 62, 40, 54, 40
    widest = max(len(row) for row in rows.values())
    width = margin * 2 + widest * boxW + (widest - 1) * gapX
    top = max(rows)
    height = margin * 2 + (top + 1) * boxH + top * gapY + 26
    svg = Svg(width, height, 'stompest layers: who imports whom')
    where: dict[str, tuple[float, float]] = {}
    for rank, row in rows.items():
        rowWidth = len(row) * boxW + (len(row) - 1) * gapX
        x0 = (width - rowWidth) / 2
        y = margin + (top - rank) * (boxH + gapY)
        for index, node in enumerate(row):
            where[node] = (x0 + index * (boxW + gapX), y)
    # Arrows first, boxes on top; each arrow leaves and enters at its own point along the edge.
    outgoing: dict[str, list[str]] = {}
    incoming: dict[str, list[str]] = {}
    for source, target in sorted(edges, key=lambda e: (where[e[1]][0], where[e[0]][0])):
        outgoing.setdefault(source, []).append(target)
        incoming.setdefault(target, []).append(source)
    lanes = 0
    for source, target in sorted(edges):
        sx, sy = where[source]
        tx, ty = where[target]
        i, n = outgoing[source].index(target), len(outgoing[source])
        j, m = incoming[target].index(source), len(incoming[target])
        x1 = sx + boxW * (i + 1) / (n + 1)
        x2 = tx + boxW * (j + 1) / (m + 1)
        y1, y2 = sy + boxH, ty
        if ranks[source] - ranks[target] > 1:  # skips a row: down the side lane, past the boxes between
            lane = (width - margin / 2 - 10 * lanes) if x2 > width / 2 else (margin / 2 + 10 * lanes)
            lanes += 1
            below, above = y1 + gapY / 2, y2 - gapY / 2
            svg.path(
                f'M{x1:.1f},{y1:.1f} L{x1:.1f},{below:.1f} L{lane:.1f},{below:.1f} L{lane:.1f},{above:.1f} '
                f'L{x2:.1f},{above:.1f} L{x2:.1f},{y2 - 1:.1f}'
            )
        else:
            svg.path(f'M{x1:.1f},{y1:.1f} L{x2:.1f},{y2 - 1:.1f}')
    for node, (x, y) in where.items():
        title, kind, what = LAYERS[node]
        svg.rect(x, y, boxW, boxH, FILLS[kind], dashed=(kind == 'external'))
        svg.text(x + boxW / 2, y + 26, title, 15, 'bold', mono=kind != 'external')
        svg.text(x + boxW / 2, y + 46, what, 11.5, colour=MUTED)
    svg.text(
        margin,
        height - 14,
        'An arrow points from a package to one it imports; imports implied by a longer path are left out.',
        12.5,
        colour=MUTED,
        anchor='start',
    )
    return str(svg)


# -- state diagrams --------------------------------------------------------------------------------


def sessionTransitions() -> tuple[list[str], list[tuple[str, str, str]], dict[str, list[str]]]:
    """``(states, [(from, to, command)], {state: commands that keep it})`` of a real session."""
    from stompest.protocol import session as module
    from stompest.protocol.frame import StompFrame

    states = [module.DISCONNECTED, module.CONNECTING, module.CONNECTED, module.DISCONNECTING]
    message = StompFrame(
        'MESSAGE', {'destination': '/queue/a', 'message-id': 'm', 'subscription': 's', 'ack': 'a'}, version='1.2'
    )
    calls: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
        'connect': ((), {'host': 'h'}),
        'connected': ((StompFrame('CONNECTED', {'version': '1.2', 'session': 's'}),), {}),
        'disconnect': ((), {'receipt': 'bye'}),
        'close': ((), {}),
        'send': (('/queue/a', b'x'), {}),
        'subscribe': (('/queue/a', {'id': 's'}), {}),
        'unsubscribe': ((('id', 's'),), {}),
        'replay': ((), {}),
        'message': ((message,), {}),
        'subscription': ((('id', 's'),), {}),
        'ack': ((message,), {}),
        'nack': ((message,), {}),
        'begin': (('t',), {}),
        'abort': (('t',), {}),
        'commit': (('t',), {}),
        'receipt': ((StompFrame('RECEIPT', {'receipt-id': 'bye'}),), {}),
        'beat': ((), {}),
    }
    for command in sorted(set(module.COMMAND_STATES) - set(calls)):
        log.warning('stompestfigures: the session command %r is not drawn in the state diagram', command)

    def sessionIn(state: str) -> Any:
        session = module.StompSession('1.2', clock=lambda: 0.0)
        path = states[: states.index(state)]
        if path:
            session.connect(host='h')
        if len(path) > 1:
            session.connected(StompFrame('CONNECTED', {'version': '1.2', 'session': 's'}))
            session.subscribe('/queue/a', {'id': 's'})
            session.begin('t')
        if len(path) > 2:
            session.disconnect(receipt='bye')
        assert session.state == state
        return session

    transitions, loops = [], {state: [] for state in states}
    for command, legal in module.COMMAND_STATES.items():
        if command not in calls:
            continue
        for state in legal:
            session = sessionIn(state)
            args, kwargs = calls[command]
            try:
                getattr(session, command)(*args, **kwargs)
            except Exception:  # noqa: BLE001 - legal in this state, but not with these arguments
                loops[state].append(command)
                continue
            if session.state == state:
                loops[state].append(command)
            else:
                transitions.append((state, session.state, command))
    return states, transitions, loops


def twistedTransitions() -> tuple[list[str], list[tuple[str, str, str]]] | None:
    """The Twisted client's lifecycle table, if ``stompest.twisted`` has one: a module-level
    ``TRANSITIONS`` (or ``PHASE_TRANSITIONS``) in ``stompest.twisted.client`` or a module of its
    own, either ``{(from, event): to}`` or an iterable of ``(from, event, to)``."""
    import importlib
    import pkgutil

    import stompest.twisted

    modules = pkgutil.iter_modules(stompest.twisted.__path__)
    candidates = ['stompest.twisted'] + [f'stompest.twisted.{module.name}' for module in modules]
    for name in candidates:
        module = importlib.import_module(name)
        for attribute in ('TRANSITIONS', 'PHASE_TRANSITIONS', 'LIFECYCLE'):
            table = getattr(module, attribute, None)
            if not table:
                continue
            rows = [(k[0], k[1], v) for (k, v) in table.items()] if isinstance(table, dict) else list(table)
            edges = [(str(a), str(c), str(b)) for (a, b, c) in rows]
            states = list(dict.fromkeys(s for (a, b, _) in edges for s in (a, b)))
            return states, edges
    return None


def _wrap(words: list[str], width: int) -> list[str]:
    lines, line = [], ''
    for word in words:
        candidate = f'{line}, {word}' if line else word
        if len(candidate) > width and line:
            lines.append(line + ',')
            line = word
        else:
            line = candidate
    return lines + [line] if line else lines


def drawStates(
    title: str, states: list[str], transitions: list[tuple[str, str, str]], loops: dict[str, list[str]] | None = None
) -> str:
    """States in a row, each box listing the commands that keep it; arrows to the right between
    the boxes (arcs above when they skip one), arrows back to the left below the row, one bus per
    target and label."""
    loops = loops or {}
    gapX, margin, wrap = 84, 20, 19
    texts = {state: _wrap(loops.get(state, []), wrap) for state in states}
    # Boxes as wide as the longest name (and the command lists under it, when there are any).
    boxW = max(_textWidth(max(states, key=len), 16) + 28, 156 if any(texts.values()) else 0)
    lines = max((len(t) for t in texts.values()), default=0)
    boxH = 40 + 16 * lines + (8 if lines else 0)
    merged: dict[tuple[str, str], list[str]] = {}
    for source, target, label in transitions:
        merged.setdefault((source, target), []).append(label)
    forward = [(s, t) for (s, t) in merged if states.index(t) > states.index(s)]
    buses: dict[tuple[str, str], list[str]] = {}  # (target, label) -> sources
    for source, target in merged:
        if states.index(target) < states.index(source):
            buses.setdefault((target, ', '.join(merged[(source, target)])), []).append(source)
    span = max((states.index(t) - states.index(s) for (s, t) in forward), default=1)
    above = 18 + 30 * max(span - 1, 0)
    # Each gap is wide enough for the label of the arrow that crosses it.
    gaps = []
    for left, right in zip(states, states[1:], strict=False):
        label = ', '.join(merged.get((left, right), []))
        gaps.append(max(gapX, _textWidth(label, 14) + 24))
    x = {states[0]: float(margin)}
    for i, state in enumerate(states[1:]):
        x[state] = x[states[i]] + boxW + gaps[i]
    width = x[states[-1]] + boxW + margin
    rowY = margin + above
    height = rowY + boxH + 36 * len(buses) + 40
    svg = Svg(width, height, title)
    nameY = rowY + 26
    for source, target in forward:
        label = ', '.join(merged[(source, target)])
        steps = states.index(target) - states.index(source)
        if steps == 1:
            x1, x2 = x[source] + boxW, x[target]
            svg.path(f'M{x1:.1f},{nameY - 5:.1f} L{x2 - 1:.1f},{nameY - 5:.1f}', colour=INK)
            svg.text((x1 + x2) / 2, nameY - 12, label, 14, mono=True)
        else:
            lift = 30 * (steps - 1) + 10
            sx, tx = x[source] + boxW * 0.75, x[target] + boxW * 0.25
            svg.path(
                f'M{sx:.1f},{rowY:.1f} C{sx:.1f},{rowY - lift:.1f} {tx:.1f},{rowY - lift:.1f} {tx:.1f},{rowY - 1:.1f}',
                colour=INK,
            )
            svg.text((sx + tx) / 2, rowY - lift * 0.75 - 3, label, 14, mono=True)
    for depth, ((target, label), sources) in enumerate(sorted(buses.items(), key=lambda b: states.index(b[0][0]))):
        y = rowY + boxH + 28 + 36 * depth
        tx = x[target] + boxW * (0.5 + 0.12 * depth)
        xs = [x[source] + boxW * (0.5 - 0.12 * depth) for source in sources]
        for sx in xs:
            svg.path(f'M{sx:.1f},{rowY + boxH:.1f} L{sx:.1f},{y:.1f}', colour=MUTED, arrow=False)
        svg.path(f'M{max(xs):.1f},{y:.1f} L{tx:.1f},{y:.1f} L{tx:.1f},{rowY + boxH + 1:.1f}', colour=MUTED)
        svg.text(
            tx + 8,
            y + 17,
            f'{label} (from {", ".join(sources)})',
            13.5,
            colour=MUTED,
            anchor='start',
            mono=True,
            halo=True,
        )
    for state in states:
        svg.rect(x[state], rowY, boxW, boxH, FILLS['core'] if state != states[0] else FILLS['base'])
        svg.text(x[state] + boxW / 2, nameY, state, 16, 'bold')
        for i, text in enumerate(texts[state]):
            svg.text(x[state] + 10, nameY + 22 + i * 16, text, 12, colour=MUTED, mono=True, anchor='start')
    return str(svg)


# -- benchmark charts ------------------------------------------------------------------------------


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            'font.size': 11,
            'svg.fonttype': 'none',
            'figure.facecolor': 'white',
            'axes.spines.top': False,
            'axes.spines.right': False,
        }
    )
    return plt


COLOURS = {'stompest': '#2563eb', 'stomp.py': '#f59e0b', 'raw': '#64748b', 'before': '#cbd5e1', 'after': '#2563eb'}


def drawParserChart(data: dict[str, Any]) -> str:
    plt = _pyplot()
    cases = data['cases']
    sizes = [len(case['results']) for case in cases]
    fig, axes = plt.subplots(
        len(cases),
        1,
        figsize=(8.6, 0.36 * sum(sizes) + 0.95 * len(cases)),
        squeeze=False,
        gridspec_kw={'height_ratios': sizes},
    )
    for axis, case in zip(axes[:, 0], cases, strict=True):
        names = list(case['results'])
        values = [case['results'][name] for name in names]
        colours = [COLOURS['stompest'] if name.startswith('stompest') else COLOURS['stomp.py'] for name in names]
        bars = axis.barh(names[::-1], values[::-1], color=colours[::-1], height=0.7)
        axis.bar_label(bars, labels=[f'{v:,.0f}' for v in values[::-1]], padding=4, fontsize=10)
        axis.set_xlim(0, max(values) * 1.18)
        axis.tick_params(axis='x', labelsize=9)
        axis.tick_params(axis='y', labelsize=10)
        axis.xaxis.set_major_formatter(lambda value, _: f'{value / 1000:,.0f}k' if value else '0')
        axis.set_xlabel(case.get('unit', 'frames/s'), fontsize=9, loc='right', labelpad=1)
    fig.tight_layout(h_pad=2.6, rect=(0, 0, 1, 0.97))
    for axis, case in zip(axes[:, 0], cases, strict=True):  # titles across the whole width, above each panel
        box = axis.get_position()
        fig.text(0.012, box.y1 + 0.012, case['name'], fontsize=11.5, fontweight='bold', va='bottom')
    return _svg(fig, plt)


def drawE2eChart(data: dict[str, Any]) -> str:
    plt = _pyplot()
    brokers = list(data['medians']['after'])
    fig, axes = plt.subplots(1, len(brokers), figsize=(8.6, 3.6), sharey=True, squeeze=False)
    for axis, broker in zip(axes[0], brokers, strict=True):
        clients = list(data['medians']['after'][broker])
        positions = range(len(clients))
        for offset, when in ((-0.2, 'before'), (0.2, 'after')):
            medians = [data['medians'][when][broker][c] for c in clients]
            bars = axis.bar(
                [p + offset for p in positions],
                medians,
                0.38,
                color=COLOURS[when],
                label=when,
                edgecolor='#475569',
                linewidth=0.6,
            )
            axis.bar_label(
                bars,
                labels=[f'{m / 1000:.1f}k' for m in medians],
                label_type='center',
                fontsize=9,
                color='#0f172a' if when == 'before' else '#ffffff',
                rotation=90,
            )
            for p, client in zip(positions, clients, strict=True):
                runs = data['runs'][when][broker][client]
                axis.plot(
                    [p + offset] * len(runs),
                    runs,
                    'o',
                    color='#f59e0b',
                    markersize=4.5,
                    markeredgecolor='#0f172a',
                    markeredgewidth=0.6,
                )
        axis.set_xticks(list(positions), clients)
        axis.set_title(broker, fontweight='bold')
        axis.grid(axis='y', color='#e2e8f0')
        axis.set_axisbelow(True)
    axes[0][0].set_ylabel('messages/s end-to-end')
    axes[0][0].yaxis.set_major_formatter(lambda value, _: f'{value / 1000:,.0f}k')
    axes[0][-1].legend(title='bars: medians; dots: runs', fontsize=9, title_fontsize=9, frameon=False)
    fig.tight_layout()
    return _svg(fig, plt)


PIPELINES = {  # bench_pipeline.py's names: label, colour, line style
    'transactions': ('stompest transactions (a)', COLOURS['stompest'], '-'),
    'ceiling': ('raw-socket ceiling (d)', COLOURS['raw'], '--'),
    'receipts': ('stompest receipts (b)', '#16a34a', ':'),
    'stomppy': ('stomp.py receipts (c)', COLOURS['stomp.py'], ':'),
}


def drawPipelineChart(data: dict[str, Any]) -> str:
    """msg/s over the batch size per broker: the batched pipelines as curves, the per-message
    ones (which do not batch) as flat lines; each point the best round."""
    plt = _pyplot()
    best: dict[tuple[str, str, int | None], float] = {}
    for run in data['results']:
        key = (run['broker'], run['pipeline'], run['batch'])
        best[key] = max(best.get(key, 0.0), run['rate'])
    brokers = list(dict.fromkeys(run['broker'] for run in data['results']))
    batches = sorted({batch for (_, _, batch) in best if batch})
    fig, axes = plt.subplots(1, len(brokers), figsize=(8.6, 3.9), sharey=True, squeeze=False)
    for axis, broker in zip(axes[0], brokers, strict=True):
        for pipeline, (label, colour, style) in PIPELINES.items():
            flat = (broker, pipeline, None) in best
            if flat:
                values = [best[(broker, pipeline, None)]] * len(batches)
            else:
                values = [best.get((broker, pipeline, batch), float('nan')) for batch in batches]
            marker = None if flat else 'o'
            axis.plot(batches, values, style, color=colour, label=label, linewidth=2, marker=marker, markersize=4)
        axis.set_xscale('log')
        axis.set_xticks(batches, [str(batch) for batch in batches])
        axis.minorticks_off()
        axis.set_xlabel('batch size (inputs per transaction)', fontsize=9)
        axis.set_title({'activemq': 'ActiveMQ', 'rabbitmq': 'RabbitMQ'}.get(broker, broker), fontweight='bold')
        axis.grid(axis='y', color='#e2e8f0')
        axis.set_axisbelow(True)
    axes[0][0].set_ylabel('messages/s through the pipeline')
    axes[0][0].yaxis.set_major_formatter(lambda value, _: f'{value / 1000:,.0f}k' if value else '0')
    axes[0][0].set_ylim(bottom=0)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return _svg(fig, plt)


def _svg(fig: Any, plt: Any) -> str:
    import io

    buffer = io.StringIO()
    fig.savefig(buffer, format='svg', metadata={'Date': None})  # no date: the same bytes every build
    plt.close(fig)
    return buffer.getvalue()


# -- the build -------------------------------------------------------------------------------------

FIGURES: dict[str, str] = {}  # name -> file written this build


def generate(app: Sphinx) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / '.gitignore').write_text('*\n')
    FIGURES.clear()

    def write(name: str, content: str) -> None:
        path = OUT / f'{name}.svg'
        if not path.exists() or path.read_text(encoding='utf-8') != content:
            path.write_text(content, encoding='utf-8')
        FIGURES[name] = str(path)

    write('layers', drawLayers())
    states, transitions, loops = sessionTransitions()
    write('session-states', drawStates('StompSession states', states, transitions, loops))
    lifecycle = twistedTransitions()
    if lifecycle is not None:
        write('twisted-lifecycle', drawStates('Twisted client connection lifecycle', *lifecycle))
    write('bench-parser', drawParserChart(json.loads((DATA / 'bench_parser.json').read_text())))
    write('bench-e2e', drawE2eChart(json.loads((DATA / 'bench_e2e.json').read_text())))
    write('bench-pipeline', drawPipelineChart(json.loads((DATA / 'bench_pipeline.json').read_text())))


class Figure(SphinxDirective):
    """``.. stompest-figure:: NAME`` with ``:alt:`` and the caption as content."""

    required_arguments = 1
    has_content = True
    option_spec = {'alt': directives.unchanged_required, 'optional': directives.flag}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        path = FIGURES.get(name)
        if path is None:
            if 'optional' in self.options:
                return [nodes.paragraph(text=f'(The {name} picture is drawn once the code has its table.)')]
            log.warning('stompestfigures: no picture named %r', name, location=self.get_location())
            return []
        for source in (Path(__file__), *sorted(DATA.glob('*.json'))):
            self.env.note_dependency(str(source))
        figure = nodes.figure(classes=['stompest-figure'])
        # A leading slash: relative to the docs' source folder, from any page.
        uri = '/' + os.path.relpath(path, self.env.srcdir).replace(os.sep, '/')
        image = nodes.image(uri=uri, alt=self.options.get('alt', name))
        figure += image
        if self.content:
            text = ' '.join(self.content)
            inline, messages = self.state.inline_text(text, self.lineno)
            figure += nodes.caption(text, '', *inline)
            return [figure, *messages]
        return [figure]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect('builder-inited', generate)
    app.add_directive('stompest-figure', Figure)
    return {'version': '1', 'parallel_read_safe': True, 'parallel_write_safe': True}
