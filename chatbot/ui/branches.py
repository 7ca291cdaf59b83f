"""The message tree and feedback on the page and in the API: edit a message (a new branch),
switch between alternatives (‹ n/m ›), 👍 / 👎 with a comment.

In the browser: the Chatbot's own edit button on a user message (editable="user"), its
thumbs (feedback_options), and the "Alternatives" dropdown under the chat, which lists every
‹ n/m › of the visible path. For programs: /edit, /branch and /feedback, each naming the
conversation ("" for the one this client has open) and a turn by its index in /open's list.
Everything goes through the pipeline's door (door.py: edit, switch, rate); a bad index or a
conversation that is not the caller's answers a clear message and changes nothing.
"""

from __future__ import annotations

import gradio as gr

from ..conversation import Conversation
from ..messages import UserError
from .conversations import ConversationHandlers
from .handlers import Handlers, api_reply
from .owners import browser_language, received_at, session_conv
from .render import BRANCH_MARK, rendered, shown, turns_json

SNIPPET_CHARS = 40  # how much of a message the Alternatives dropdown quotes


def whole(value):
    """An index as sent: 3.0 from a Number is 3; anything else is left for the door to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def rating_of(liked) -> str | None:
    """Gradio's like value: True (👍), False (👎), anything else (un-clicked): no rating."""
    return "up" if liked is True else "down" if liked is False else None


class BranchHandlers:
    """Edit, switch and rate, for the page and the API."""

    def __init__(self, chat: Handlers, convs: ConversationHandlers):
        self.chat, self.convs, self.pipeline = chat, convs, chat.pipeline

    def target(self, conversation_id: str, conv, request) -> Conversation:
        """The caller's conversation: the one open in this session ("" or its id), else one of
        theirs from the store; anyone else's id is "not found"."""
        conv = session_conv(conv, request)
        if not conversation_id or (conv.saved and conversation_id == conv.id):
            return conv
        return self.convs.open_owned(conv.owner, conversation_id, browser_language(request))

    def refused(self, exc: UserError, conv, request=None) -> gr.Error:
        lang = browser_language(request) if request is not None else None
        return gr.Error(exc.text(lang or (conv.language if conv else None)))

    # ---- the page -----------------------------------------------------------------------
    def choices(self, conv: Conversation | None):
        """The Alternatives dropdown: one entry per alternative of each ‹ n/m › on the path."""
        items = []
        for i, turn in enumerate(conv.turns if conv else []):
            alternatives = conv.alternatives(turn) if turn.node is not None else [turn]
            if len(alternatives) < 2:
                continue
            for k, alt in enumerate(alternatives, 1):
                words = " ".join((alt.text or alt.error or "…").split())[:SNIPPET_CHARS]
                shown = "● " if alt is turn else ""
                items.append((f"{shown}#{i} ‹ {k}/{len(alternatives)} › {words}", f"{i}:{k}"))
        return gr.update(choices=items, value=None, visible=bool(items))

    def switch_ui(self, value: str | None, conv):
        index, _, choice = (value or "").partition(":")
        if conv is None or not (index.isdigit() and choice.isdigit()):
            return gr.skip(), conv, gr.skip()
        index, choice = int(index), int(choice)
        try:
            self.pipeline.switch(conv, index, choice)
        except UserError as exc:
            raise self.refused(exc, conv) from None
        return shown(conv, self.chat.shower(conv)), conv, self.choices(conv)

    def chat_messages(self, conv) -> list[dict]:
        return rendered(conv, self.chat.shower(conv))[0]

    def turn_of_message(self, conv, message_index) -> int | None:
        """The index of the turn a Chatbot message belongs to."""
        owners = rendered(conv)[1] if conv else []
        i = message_index[0] if isinstance(message_index, (list, tuple)) else message_index
        return owners[i] if isinstance(i, int) and 0 <= i < len(owners) else None

    def edit_ui(self, conv, data: gr.EditData, request: gr.Request = None):
        """The Chatbot's edit of a user message: a new branch from that message's parent."""
        index = self.turn_of_message(conv, data.index)
        text = BRANCH_MARK.sub("", data.value if isinstance(data.value, str) else "")
        try:
            replies = self.pipeline.edit(
                conv, index, text, received_at(request), browser_language(request)
            )
        except UserError as exc:
            raise self.refused(exc, conv, request) from None
        for conv, _ in self.chat.stream(conv, replies, outlive=True):
            yield self.chat_messages(conv), conv

    def like_ui(self, conv, comment: str, data: gr.LikeData):
        """👍 / 👎 on a reply (the comment box's text goes with it, then the box empties)."""
        index = self.turn_of_message(conv, data.index)
        try:
            self.pipeline.rate(conv, index, rating_of(data.liked), comment or "")
        except UserError as exc:
            raise self.refused(exc, conv) from None
        return conv, ""

    # ---- the API -------------------------------------------------------------------------
    def edit_api(self, conversation_id: str, index, text: str, conv, request: gr.Request):
        """Edit the user message at `index` of /open's list to `text`: a new branch (the old
        message stays, ‹ 1/2 ›); streams the new reply as /chat does."""
        conv = self.target(conversation_id, conv, request)
        show = self.chat.shower(conv)
        try:
            if not isinstance(text, str):
                raise UserError("message.text_type", type=type(text).__name__)
            replies = self.pipeline.edit(
                conv, whole(index), text, received_at(request), browser_language(request)
            )
        except UserError as exc:
            raise self.refused(exc, conv, request) from None
        for conv, reply in self.chat.stream(conv, replies):
            yield (*api_reply(reply, show), conv)

    def branch_api(self, conversation_id: str, index, choice, conv, request: gr.Request):
        """Show alternative `choice` (1..m of ‹ n/m ›) of the turn at `index`; the new path."""
        conv = self.target(conversation_id, conv, request)
        try:
            self.pipeline.switch(conv, whole(index), whole(choice))
        except UserError as exc:
            raise self.refused(exc, conv, request) from None
        return turns_json(conv), conv

    def feedback_api(
        self, conversation_id: str, index, rating: str, comment: str, conv, request: gr.Request
    ):
        """Rate the reply at `index`: "up" (👍), "down" (👎) or "" (none), with an optional
        comment; the path, with the rating on its turn."""
        conv = self.target(conversation_id, conv, request)
        try:
            self.pipeline.rate(conv, whole(index), rating or None, comment or "")
        except UserError as exc:
            raise self.refused(exc, conv, request) from None
        return turns_json(conv), conv
