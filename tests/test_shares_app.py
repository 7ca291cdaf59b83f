"""Share links through the launched app: a read-only page of the conversation as it was (photo
included), its files served to anyone with the link and only those, nothing from later turns
or the owner's other conversations, and 404 for guessed ids, for other files, and for
everything after the owner revokes it (another owner cannot). Nothing here needs a browser."""

from __future__ import annotations

import re

import httpx
import pytest
from gradio_client import handle_file

from tests.helpers import make_photo

pytestmark = pytest.mark.app

ALICE, BOB = "alice-shares-0123456789", "bob-shares-9876543210"


def test_a_share_link_shows_the_snapshot_and_dies_when_revoked(tiny_app, tmp_path):
    alice, bob = tiny_app.client(ALICE), tiny_app.client(BOB)
    photo = make_photo(tmp_path / "red.png")
    alice.predict(
        {"text": "what is in this <b>photo</b>?", "files": [handle_file(str(photo))]},
        api_name="/chat",
    )
    (conv,) = alice.predict(api_name="/conversations")
    link = alice.predict(conv["id"], None, api_name="/share")
    assert re.fullmatch(r"/share/[A-Za-z0-9_-]{43}", link["page"])
    alice.predict({"text": "a later secret question", "files": []}, api_name="/chat")
    elsewhere = tiny_app.client(ALICE)  # a second session of alice: a second conversation
    elsewhere.predict({"text": "my other conversation", "files": []}, api_name="/chat")

    page = httpx.get(tiny_app.url.rstrip("/") + link["page"], timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src" not in page.headers["content-security-policy"]  # none at all: default-src
    assert "what is in this &lt;b&gt;photo&lt;/b&gt;?" in page.text, "text is escaped"
    assert "later secret" not in page.text and "other conversation" not in page.text
    (src,) = re.findall(r'<img src="([^"]+)" alt="red.png">', page.text)
    picture = httpx.get(tiny_app.url.rstrip("/") + src, timeout=30)
    assert picture.status_code == 200 and picture.content == photo.read_bytes()

    base = tiny_app.url.rstrip("/")
    guessed = link["page"][:-1] + ("A" if link["page"][-1] != "A" else "B")
    other_file = src.rsplit("/", 1)[0] + "/" + "0" * 64 + ".png"
    for url in (guessed, other_file, link["page"] + "/files/../../etc", "/share/short"):
        assert httpx.get(base + url, timeout=30).status_code == 404, url

    assert [s["id"] for s in alice.predict(api_name="/shares")] == [link["id"]]
    assert bob.predict(api_name="/shares") == []
    with pytest.raises(Exception, match="not found"):
        bob.predict(link["id"], api_name="/unshare")
    with pytest.raises(Exception, match="not found"):
        bob.predict(conv["id"], None, api_name="/share")
    assert httpx.get(base + link["page"], timeout=30).status_code == 200, "bob changed nothing"

    assert alice.predict(link["id"], api_name="/unshare") == []
    for url in (link["page"], src):
        assert httpx.get(base + url, timeout=30).status_code == 404, url
    with pytest.raises(Exception, match="MAX_SHARE_DAYS"):
        alice.predict(conv["id"], 9999, api_name="/share")


def test_a_link_holder_continues_it_as_their_own_copy(tiny_app, tmp_path):
    alice, carol = tiny_app.client(ALICE + "-copy"), tiny_app.client("carol-shares-55555555")
    photo = make_photo(tmp_path / "blue.png", (30, 60, 200))
    alice.predict({"text": "describe this", "files": [handle_file(str(photo))]}, api_name="/chat")
    (conv,) = alice.predict(api_name="/conversations")
    link = alice.predict("", None, api_name="/share")
    page = httpx.get(tiny_app.url.rstrip("/") + link["page"], timeout=30).text
    assert f'href="/?copy={link["id"]}"' in page, "the page offers the copy"

    turns = carol.predict(link["id"], api_name="/copy_share")
    assert [t["text"] for t in turns][:1] == ["describe this"]
    assert turns[0]["attachments"][0]["name"] == "blue.png"
    _, _, info = carol.predict({"text": "and now?", "files": []}, api_name="/chat")
    assert info["error"] is None, "carol's copy continues with the photo"
    (mine,) = carol.predict(api_name="/conversations")
    assert mine["id"] != conv["id"] and len(carol.predict(mine["id"], api_name="/open")) == 4
    assert len(alice.predict(conv["id"], api_name="/open")) == 2, "alice's is untouched"
    alice.predict(link["id"], api_name="/unshare")
    with pytest.raises(Exception, match="not found"):
        carol.predict(link["id"], api_name="/copy_share")
