"""Shared fixtures: tiny models in hub layout, test images, the app launched on 127.0.0.1, the
browser, PostgreSQL and the conversation store."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.helpers import RunningApp, make_photo

# Everything the app caches during tests (tiny models, converted GGUF) goes to one temp folder.
os.environ.setdefault("CHATBOT_CACHE", str(Path(tempfile.gettempdir()) / "chatbot-test-cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# The fixtures that launch the app: a test using one carries the `app` marker (pytest.ini), so that
# `pytest -m "not app"` runs only the tests that launch nothing.
APP_FIXTURES = {"tiny_app", "long_app"}


def pytest_collection_modifyitems(config, items):
    unmarked = [
        item.nodeid
        for item in items
        if APP_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("app") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests launch the app but lack @pytest.mark.app: " + ", ".join(unmarked)
        )


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, Path]:
    from chatbot.models.tiny import BUILDERS, tiny_model_path

    return {name: tiny_model_path(name) for name in BUILDERS}


@pytest.fixture(scope="module")
def pipe(tiny_models):
    """The pipeline on the tiny profile, loaded; replies are exactly 6 tokens."""
    from chatbot.models.decoding import Sampling
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config

    p = Pipeline(build_config("tiny"), Sampling(max_new_tokens=6, min_new_tokens=6))
    list(p.models.wait())
    return p


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    return [
        make_photo(tmp_path / "red.png", (200, 40, 40)),
        make_photo(tmp_path / "blue.jpg", (30, 60, 200)),
    ]


@pytest.fixture(scope="session")
def tiny_app(tiny_models):
    app = RunningApp("--profile", "tiny", "--max-new-tokens", "24")
    yield app
    app.stop()


@pytest.fixture(scope="session")
def long_app(tiny_models):
    """Replies of 30,000 tokens (half a minute or more, however fast the machine): for Stop, and
    for requests queued behind one."""
    app = RunningApp("--profile", "tiny", "--max-new-tokens", "30000", "--min-new-tokens", "30000")
    yield app
    app.stop()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the whole session (Debian's package), stopped by pg_ctl."""
    from tests.pgserver import PostgresServer

    try:
        server = PostgresServer().start()
    except RuntimeError as e:
        problem = str(e)
    else:
        yield server
        server.stop()
        return
    pytest.fail(problem, pytrace=False)  # fail, never skip: CI installs postgresql


@pytest.fixture(scope="module")
def browser():
    """Debian Chromium, headless, driven by Playwright (one per test module)."""
    from tests.browsing import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian chromium is not installed: run scripts/setup.sh (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """None (SQLite in the data folder) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def store(tmp_path, db_url):
    """The conversation store on a fresh data folder, against each database of db_url."""
    from chatbot.store import Store

    s = Store.open(tmp_path / "data", db_url)
    yield s
    s.close()
