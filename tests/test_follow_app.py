"""A second client of the same owner watches a reply in progress (/follow): it starts from the
point the reply has reached, receives the rest live, and its Stop stops the reply; the reply is
stored once, complete. A stranger, or a conversation with nothing in progress, gets a clear
message. Uses the long-reply app (30,000 tokens: only Stop ends a reply)."""

from __future__ import annotations

import pytest

from tests.helpers import streaming, wait_for_tokens, wait_until

pytestmark = pytest.mark.app

OWNER = "follow-owner-secret-0123456789"


def test_a_second_client_follows_a_reply_and_stops_it(long_app):
    asker, watcher = long_app.client(OWNER), long_app.client(OWNER)
    job = asker.submit({"text": "tell me a very long story", "files": []}, api_name="/chat")
    wait_for_tokens(job)
    (conv,) = watcher.predict(api_name="/conversations")
    follow = watcher.submit(conv["id"], api_name="/follow")
    wait_until(lambda: streaming(follow), what="the follower to receive the reply")
    first = follow.outputs()[0][0]
    assert first, "it starts from the point the reply has reached, not from nothing"
    wait_until(
        lambda: len(follow.outputs()[-1][0]) > len(first), what="the follower to receive more"
    )
    with pytest.raises(Exception, match="No reply is being written"):
        long_app.client("follow-stranger-secret-987654").predict(conv["id"], api_name="/follow")
    watcher.predict(api_name="/stop")  # Stop from the follower
    text, _, info = job.result(timeout=60)
    followed, _, followed_info = follow.result(timeout=60)
    assert info["stopped"] and followed_info["stopped"] and followed == text
    turns = watcher.predict(conv["id"], api_name="/open")
    assert [t["role"] for t in turns] == ["user", "assistant"], "stored once"
    assert turns[1]["text"] and turns[1]["stopped"] and text.startswith(turns[1]["text"])
    with pytest.raises(Exception, match="No reply is being written"):
        watcher.predict(conv["id"], api_name="/follow")
