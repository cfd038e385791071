"""examples/twisted_transactional_transformer.py in the examples' pipeline, on the real brokers.

producer -> /in -> transactional transformer -> /out -> consumer, 10,000 messages, every 500th
marked poison (it lands on the error destination, inside the transaction). Stopped with SIGTERM,
it must exit cleanly; every expected ``seq`` arrives once.
"""

from __future__ import annotations

import signal

import pytest

from tests.brokers.test_examples_twisted import COUNT, runPipeline

pytestmark = pytest.mark.broker


def test_transactionalTransformerExampleDeliversEveryMessageOnce(broker, tmp_path):
    # SIGTERM: it must commit what is complete and stop cleanly
    err = runPipeline(broker, tmp_path, 'twisted_transactional_transformer.py', 'tx', signal.SIGTERM)
    assert f'stopped: {COUNT} messages committed' in err, err[-3000:]
