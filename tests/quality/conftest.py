import pytest

from core.quality.offline import OfflineAnalyser


@pytest.fixture(scope="session")
def analyser() -> OfflineAnalyser:
    # trains in a child process, as the worker will: a few seconds, once per session
    return OfflineAnalyser(model_file="").load()
