"""Edit and Retry through the pipeline with a real store (SQLite): an edit is a new branch from
the edited message's parent, a retry a sibling of the reply, switching shows another path, and
the model is given the visible path only. The caches follow the branch: the photo's encoding
is reused by content hash and the KV prefix up to the branch point (metrics say how many
tokens came from the cache). Bad indexes change nothing."""

from __future__ import annotations

import pytest

from chatbot.context import build_messages
from chatbot.conversation import Conversation
from chatbot.history import History
from chatbot.messages import UserError
from chatbot.pipeline import Pipeline
from chatbot.store import Store
from tests.helpers import ask, make_photo


@pytest.fixture
def saving(pipe, tmp_path):
    """The tiny pipeline's models with a History on a fresh store."""
    store = Store.open(tmp_path / "data")
    p = Pipeline(pipe.cfg, pipe.sampling, history=History(store))
    p.models = pipe.models
    yield p
    store.close()


def last(replies):
    return list(replies)[-1]


def prompt_words(conv: Conversation) -> str:
    """Everything the model would be given for the next turn, as one string."""
    messages = build_messages(conv, [], False, question="next")
    return " ".join(p.get("text", "") for m in messages for p in m["content"])


def three_questions(pipe, conv, tmp_path):
    first = ask(pipe, conv, "zebra photo please", [make_photo(tmp_path / "red.png")])
    second = ask(pipe, conv, "second question")
    third = ask(pipe, conv, "third about a walrus")
    return first, second, third


def test_an_edit_is_a_new_branch_and_the_old_one_stays_one_switch_away(saving, tmp_path):
    conv = Conversation(owner="o-edit")
    first, second, third = three_questions(saving, conv, tmp_path)
    reply = last(saving.edit(conv, 4, "third about a giraffe"))
    assert reply.error is None and reply.text
    assert [t.text for t in conv.turns][::2] == ["zebra photo please", "second question"] + [
        "third about a giraffe"
    ]
    assert [t.node for t in conv.alternatives(conv.turns[4])] == [4, 6], "‹ 2/2 ›"
    words = prompt_words(conv)
    assert "giraffe" in words and "walrus" not in words, "the model sees the visible path only"
    assert reply.metrics["reused_tokens"] > first.metrics["prompt_tokens"], (
        "the KV prefix is reused past the first exchange, up to the branch point"
    )
    assert reply.metrics["reused_tokens"] < reply.metrics["prompt_tokens"]

    saving.switch(conv, 4, 1)
    assert [t.text for t in conv.turns][4:] == ["third about a walrus", third.text]
    assert "walrus" in prompt_words(conv) and "giraffe" not in prompt_words(conv)
    store = saving.history.store
    assert [t.text for t in store.turns("o-edit", conv.id)][4] == "third about a walrus"
    reopened = saving.open("o-edit", conv.id)
    assert [t.text for t in reopened.turns] == [t.text for t in conv.turns], "the path lasts"
    assert len(reopened.nodes) == 8 and len(reopened.alternatives(reopened.turns[4])) == 2


def test_retry_keeps_both_replies_and_reuses_the_whole_prompt(saving, tmp_path):
    conv = Conversation(owner="o-retry")
    three_questions(saving, conv, tmp_path)
    old = conv.turns[-1]
    again = last(saving.regenerate(conv))
    assert again is conv.turns[-1] and again is not old and again.text
    assert [t.node for t in conv.alternatives(again)] == [old.node, again.node]
    assert again.metrics["reused_tokens"] == again.metrics["prompt_tokens"] - 1, (
        "the same prompt: every token but the one fed again comes from the cache"
    )
    saving.switch(conv, 5, 1)
    assert conv.turns[-1] is old
    stored = saving.history.store.tree("o-retry", conv.id)
    assert stored.head == old.node and len(stored.nodes) == 7


def test_editing_the_photo_message_reuses_its_encoding_by_content_hash(saving, tmp_path):
    conv = Conversation(owner="o-photo")
    ask(saving, conv, "what is this?", [make_photo(tmp_path / "red.png")])
    cached = dict(conv.image_cache)
    assert cached, "the photo was encoded once"
    reply = last(saving.edit(conv, 0, "and what colour is it?"))
    assert reply.error is None and conv.turns[0].attachments[0].name == "red.png"
    assert conv.image_cache.keys() == cached.keys()
    assert all(conv.image_cache[k] is cached[k] for k in cached), "not encoded again"


@pytest.mark.parametrize(
    "act, key",
    [
        (lambda p, c: p.edit(c, 9, "x"), "branch.no_such_turn"),
        (lambda p, c: p.edit(c, -1, "x"), "branch.no_such_turn"),
        (lambda p, c: p.edit(c, 1, "x"), "branch.not_user"),
        (lambda p, c: p.edit(c, 0, ""), "message.empty"),
        (lambda p, c: p.switch(c, 1, 2), "branch.no_such_alternative"),
        (lambda p, c: p.switch(c, 1, "1"), "branch.no_such_alternative"),
        (lambda p, c: p.rate(c, 0, "up"), "branch.not_assistant"),
        (lambda p, c: p.rate(c, 1, "meh"), "feedback.bad_rating"),
        (lambda p, c: p.rate(c, 1, "up", "x" * 5000), "feedback.comment_too_long"),
    ],
)
def test_a_bad_index_or_value_changes_nothing(saving, act, key):
    conv = Conversation(owner="o-bad")
    ask(saving, conv, "only question")
    store = saving.history.store
    before = ([t.node for t in conv.turns], len(store.tree("o-bad", conv.id).nodes))
    with pytest.raises(UserError) as caught:
        act(saving, conv)
    assert caught.value.key == key
    assert caught.value.text("ko") and caught.value.text("en")
    after = ([t.node for t in conv.turns], len(store.tree("o-bad", conv.id).nodes))
    assert after == before and conv.turns[1].rating is None


def test_a_rating_is_stored_with_its_turn(saving):
    conv = Conversation(owner="o-rate")
    ask(saving, conv, "rate me")
    saving.rate(conv, 1, "up", "  clear and short ")
    turn = saving.history.store.turns("o-rate", conv.id)[1]
    assert (turn.rating, turn.comment) == ("up", "clear and short")
    saving.rate(conv, 1, None)
    turn = saving.history.store.turns("o-rate", conv.id)[1]
    assert (turn.rating, turn.comment) == (None, "")


def test_the_page_marks_alternatives_and_shows_the_stored_thumbs(saving):
    from chatbot.ui.render import BRANCH_MARK, feedback_values, rendered, shown

    conv = Conversation(owner="o-page")
    ask(saving, conv, "one")
    ask(saving, conv, "two")
    last(saving.edit(conv, 2, "two, again"))
    saving.rate(conv, 3, "down")
    msgs, owners = rendered(conv)
    users = [(m["content"], owners[i]) for i, m in enumerate(msgs) if m["role"] == "user"]
    assert users == [("one", 0), ("two, again  ‹ 2/2 ›", 2)], "the marker, and its turn"
    assert BRANCH_MARK.sub("", users[1][0]) == "two, again", "an edit of it loses the marker"
    assert feedback_values(conv, msgs, owners) == [None, "Dislike"]
    assert shown(conv)["feedback_value"] == [None, "Dislike"]
    reopened = saving.open("o-page", conv.id)
    assert shown(reopened)["feedback_value"] == [None, "Dislike"], "the thumbs come back"


def test_undoing_an_edit_brings_back_the_message_it_replaced(saving):
    conv = Conversation(owner="o-undo-edit")
    ask(saving, conv, "one")
    ask(saving, conv, "two")
    last(saving.edit(conv, 2, "two, edited"))
    assert saving.undo(conv).text == "two, edited"
    assert [t.text for t in conv.turns][::2] == ["one", "two"], "the old branch is shown again"
    assert conv.branch_marks() == {}, "the edit is gone: no alternatives left"
    stored = saving.history.store.turns("o-undo-edit", conv.id)
    assert [t.text for t in stored] == [t.text for t in conv.turns]


def test_two_sessions_of_one_conversation_each_keep_what_they_say(saving):
    """Two tabs (two Conversations opened from the store) both answer at the end of the same
    path: each one's turns are stored, as two branches, instead of the second being refused."""
    conv = Conversation(owner="o-tabs")
    ask(saving, conv, "shared start")
    tab_a, tab_b = saving.open("o-tabs", conv.id), saving.open("o-tabs", conv.id)
    ask(saving, tab_a, "from tab a")
    reply_b = ask(saving, tab_b, "from tab b")
    assert not any(s.key == "saving" for s in reply_b.steps), "tab b's turns were stored"
    tree = saving.history.store.tree("o-tabs", conv.id)
    assert len(tree.nodes) == 6
    assert [t.text for t in tree.path][2] == "from tab b" and tree.path[3].text == reply_b.text
    assert [t.text for t in tab_b.alternatives(tab_b.turns[2])] == ["from tab b"]
    reopened = saving.open("o-tabs", conv.id)
    assert [t.text for t in reopened.alternatives(reopened.turns[2])] == [
        "from tab a",
        "from tab b",
    ], "the store holds both as alternatives of the third turn"


def test_undo_in_one_session_leaves_another_sessions_branch_alone(saving):
    conv = Conversation(owner="o-tabs-undo")
    ask(saving, conv, "shared start")
    tab_a, tab_b = saving.open("o-tabs-undo", conv.id), saving.open("o-tabs-undo", conv.id)
    ask(saving, tab_a, "from tab a")
    ask(saving, tab_b, "from tab b")  # the store's path now ends in tab b's branch
    assert saving.undo(tab_a).text == "from tab a"
    kept = saving.history.store.tree("o-tabs-undo", conv.id)
    assert sorted(t.text for t in kept.nodes.values() if t.role == "user") == [
        "from tab b",
        "shared start",
    ], "tab a removed only its own exchange"


def test_a_reply_without_its_page_stops_at_its_limit(pipe, monkeypatch):
    """Door.carry_on writes a page-less reply to its end, but never past
    MAX_REPLY_WITHOUT_PAGE_S: then it is stopped as by Stop (no model needed to see it)."""
    import chatbot.config
    from tests.helpers import wait_until

    monkeypatch.setattr(chatbot.config, "MAX_REPLY_WITHOUT_PAGE_S", 0.2)
    conv = Conversation()
    steps = []

    def endless():
        while not conv.stop_event.is_set():
            steps.append(1)
            yield None
            conv.stop_event.wait(0.01)

    thread = pipe.carry_on(conv, endless())
    wait_until(lambda: not thread.is_alive(), timeout=10, what="the limit to stop the reply")
    assert conv.stop_event.is_set() and steps, "it ran, then the limit stopped it"
