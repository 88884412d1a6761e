"""Shared pytest configuration: the tiny model, and slow and GPU tests skipped unless asked."""

import os

import pytest

# Tests use tiny models, for which a second torch thread only adds synchronisation; on a busy
# 2-core machine OpenMP's spinning threads made fits 10-80x slower. One thread keeps the suite
# fast and its timings stable. (Parallel tests spawn workers that inherit the variable.)
os.environ.setdefault("OMP_NUM_THREADS", "1")


TINY = dict(embedding_dim=8, hidden_size=8, max_epochs=2, random_state=0)
"""The parameters of the tests' tiny model; :func:`tiny_classifier` builds it."""


def tiny_classifier(**overrides):
    """The tests' one tiny model: embedding and hidden size 8, 2 epochs, ``random_state=0``.

    ``overrides`` set any other parameter or change these; a test file whose tests share
    changes names them once (``functools.partial(tiny_classifier, max_epochs=1)``). Import
    it with ``from conftest import tiny_classifier`` (pytest puts ``tests/`` on the path).
    """
    from skseqattn import BiLSTMAttentionClassifier

    return BiLSTMAttentionClassifier(**{**TINY, **overrides})


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow to run")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="module")
def bench(request):
    """The benchmark module a test module names in ``BENCHMARK``, imported from benchmarks/."""
    import importlib
    import sys
    from pathlib import Path

    folder = str(Path(__file__).resolve().parents[1] / "benchmarks")
    sys.path.insert(0, folder)
    try:
        yield importlib.import_module(request.module.BENCHMARK)
    finally:
        sys.path.remove(folder)
