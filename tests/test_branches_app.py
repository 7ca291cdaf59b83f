"""Edit, Retry, switch and 👍 / 👎 through the launched app, over gradio_client: the tree is
kept by the store (a second client of the same owner sees the same path and alternatives), the
KV prefix is reused by an edit up to its branch point (the metrics /edit returns), and bad input
(another owner's conversation, an index or alternative that does not exist, a rating of a
question) gets a clear message, changes nothing, and the app keeps answering."""

from __future__ import annotations

import json
import zipfile

import pytest

pytestmark = pytest.mark.app

ALICE, BOB = "alice-branches-0123456789", "bob-branches-9876543210"


def say(client, text):
    return client.predict({"text": text, "files": []}, api_name="/chat")


def test_edit_retry_switch_and_rate_over_the_api(tiny_app):
    alice = tiny_app.client(ALICE)
    first = say(alice, "first question")[2]
    say(alice, "second question")
    say(alice, "third question")
    (conv,) = alice.predict(api_name="/conversations")
    before = alice.predict(conv["id"], api_name="/open")
    assert [t["branch"] for t in before] == [[1, 1]] * 6

    text, files, info = alice.predict("", 4, "third, edited", api_name="/edit")
    assert info["error"] is None and info["metrics"]["new_tokens"] > 0
    assert info["metrics"]["reused_tokens"] > first["metrics"]["prompt_tokens"], (
        "the edit's prompt came from the KV cache up to the branch point"
    )
    turns = alice.predict(conv["id"], api_name="/open")
    assert [t["text"] for t in turns[:4]] == [t["text"] for t in before[:4]]
    assert turns[4]["text"] == "third, edited" and turns[4]["branch"] == [2, 2]
    assert turns[4]["parent"] == before[4]["parent"], "a sibling of the edited message"

    alice.predict(api_name="/retry")
    turns = alice.predict(conv["id"], api_name="/open")
    assert turns[5]["branch"] == [2, 2] and turns[5]["parent"] == turns[4]["id"]

    path = alice.predict("", 4, 1, api_name="/branch")
    assert [t["text"] for t in path] == [t["text"] for t in before], "the old branch, intact"
    assert path[4]["branch"] == [1, 2]

    watcher = tiny_app.client(ALICE)  # the same owner elsewhere: the path the store keeps
    assert watcher.predict(conv["id"], api_name="/open") == path
    tree = watcher.predict(conv["id"], api_name="/tree")
    assert tree["head"] == path[-1]["id"] and len(tree["turns"]) == 9, "every branch"
    assert [t["text"] for t in tree["turns"] if t["branch"] == [2, 2]] == [
        "third, edited",
        tree["turns"][-1]["text"],
    ], "the edit and the retried reply are the second of their alternatives"

    rated = alice.predict("", 5, "up", "good answer", api_name="/feedback")
    assert rated[5]["rating"] == "up" and rated[5]["comment"] == "good answer"
    with zipfile.ZipFile(alice.predict(conv["id"], api_name="/export")) as z:
        doc = json.loads(z.read("conversation.json"))
    assert doc["version"] == 2 and len(doc["turns"]) == 9
    assert [t["rating"] for t in doc["turns"] if t["rating"]] == ["up"]


def test_bad_branch_requests_get_a_clear_message_and_change_nothing(tiny_app):
    alice, bob = tiny_app.client(ALICE + "-2"), tiny_app.client(BOB)
    say(alice, "only question")
    (conv,) = alice.predict(api_name="/conversations")
    before = alice.predict(conv["id"], api_name="/open")
    for args, endpoint, why in (
        ((conv["id"], 0, "mine now"), "/edit", "not found"),
        ((conv["id"], 0, 1), "/branch", "not found"),
        ((conv["id"], 1, "down", ""), "/feedback", "not found"),
    ):
        with pytest.raises(Exception, match=why):
            bob.predict(*args, api_name=endpoint)
    for args, endpoint, why in (
        (("", 99, "x"), "/edit", "There is no message 99"),
        (("", 1, "x"), "/edit", "only your own messages can be edited"),
        (("", 0, 3), "/branch", "has 1 alternatives"),
        (("", 0, "up", ""), "/feedback", "only replies can be rated"),
        (("", 1, "great", ""), "/feedback", "A rating is"),
    ):
        with pytest.raises(Exception, match=why):
            alice.predict(*args, api_name=endpoint)
    assert alice.predict(conv["id"], api_name="/open") == before, "nothing changed"
    assert bob.predict(api_name="/conversations") == []
    assert say(alice, "still up?")[2]["error"] is None
