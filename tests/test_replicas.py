"""Two app processes over one PostgreSQL and one file store (what runs behind a proxy with sticky
sessions): a conversation started on one continues on the other, a stored picture is served by
either to its owner only (the owners are checked in the store, not in one process's memory), the
owner-cookie key is the same on both, and another owner sees nothing on either."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client

from tests.helpers import RunningApp

ANN, BOB = "replica-ann-secret-0123456789", "replica-bob-secret-9876543210"


def client(app, secret) -> Client:
    return Client(
        app.url, verbose=False, headers={"Authorization": f"Bearer {secret}"}, download_files=False
    )


def fetch(app, path: str, secret=None, cookies=None) -> int:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    url = f"{app.url}gradio_api/file={path}"
    return httpx.get(url, headers=headers, cookies=cookies, timeout=30).status_code


@pytest.mark.app
def test_two_app_processes_over_one_postgresql_serve_the_same_owners(
    postgres, tiny_models, tmp_path
):
    from chatbot.ui.files import OWNER_COOKIE, OwnerTokens
    from chatbot.ui.owners import owner_of

    url, data = postgres.create_database(), tmp_path / "data"
    args = ("--profile", "tiny", "--max-new-tokens", "3", "--database-url", url)
    one = RunningApp(*args, data_dir=data)
    two = RunningApp(*args, data_dir=data)
    try:
        ann1, ann2 = client(one, ANN), client(two, ANN)
        ann1.predict({"text": "/imagine a red kite", "files": []}, api_name="/chat")
        (conv,) = ann2.predict(api_name="/conversations")  # the other process lists it
        assert conv["title"] == "/imagine a red kite"
        ann2.predict(conv["id"], api_name="/open")  # ...and continues it
        _, _, info = ann2.predict({"text": "and a blue one", "files": []}, api_name="/chat")
        assert info["error"] is None
        turns = ann1.predict(conv["id"], api_name="/open")  # back on the first: all four turns
        assert [t["text"] for t in turns if t["role"] == "user"] == [
            "/imagine a red kite",
            "and a blue one",
        ]
        (picture,) = turns[1]["files"]
        assert fetch(two, picture, ANN) == 200 and fetch(one, picture, ANN) == 200
        assert fetch(two, picture, BOB) == 404 and fetch(two, picture) == 404
        # the owner cookie is signed with one key for both processes (kept in the data folder)
        key = (data / "browser-state.key").read_text().strip()
        cookie = {OWNER_COOKIE: OwnerTokens(key).sign(owner_of(ANN))}
        assert fetch(one, picture, cookies=cookie) == fetch(two, picture, cookies=cookie) == 200
        for app in (one, two):
            assert client(app, BOB).predict(api_name="/conversations") == []
    finally:
        one.stop()
        two.stop()
        postgres.drop_database(url)
