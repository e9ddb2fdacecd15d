"""Working memory of one conversation: persistence, prompt assembly, collapse → rebuild.

Each turn's prompt is: persona, what is known about the user (relevant insights), the rolling
summary of older turns, then as many recent turns verbatim as fit — counted in tokens against
the model's context. When the turns not yet summarised outgrow their share of the context,
the oldest are summarised (by the model, through the ``summarize`` frame the composition root
passes in) into a new rolling summary that records the message range it covers. Nothing is
deleted: collapsed turns stay in the store and can be searched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from overlayagi.engine.types import Message
from overlayagi.memory.records import Insight, SessionInfo, StoredMessage, Summary
from overlayagi.memory.store import Store

Summarizer = Callable[[str], Awaitable[str]]
"""Text of the turns to fold in (with the previous summary) → the new rolling summary."""

PER_MESSAGE_OVERHEAD = 8  # template tokens around each message (role markers, newlines)
RECENT_WINDOW = 400  # never read more than this many recent messages to build a prompt


@dataclass(frozen=True)
class TurnContext:
    messages: list[Message]
    summary: Summary | None
    insights: list[Insight]
    verbatim: int
    left_out: int
    tokens: int


def render_turns(messages: Sequence[StoredMessage]) -> str:
    return "\n".join(f"{m.role}: {m.content}" for m in messages)


class SessionMemory:
    def __init__(
        self,
        store: Store,
        session: SessionInfo,
        *,
        count_tokens: Callable[[str], int],
        context_size: int,
        reply_tokens: int,
        persona: str | None = None,
        history_share: float = 0.5,
    ) -> None:
        self.store = store
        self.session = session
        self.count_tokens = count_tokens
        self.context_size = context_size
        self.reply_tokens = reply_tokens
        self.persona = persona
        self.history_share = history_share

    @property
    def history_budget(self) -> int:
        """Tokens the verbatim turns may use before the oldest are collapsed."""
        return int((self.context_size - self.reply_tokens) * self.history_share)

    def add(self, role: str, content: str, run_id: str | None = None) -> StoredMessage:
        tokens = self.count_tokens(content) + PER_MESSAGE_OVERHEAD
        return self.store.add_messages(self.session.id, [(role, content, tokens)], run_id)[0]

    def unsummarised(self) -> list[StoredMessage]:
        summary = self.store.latest_summary(self.session.id)
        return self.store.messages(
            self.session.id, after_id=summary.last_message_id if summary else 0
        )

    def build(self, insights: Sequence[Insight] = ()) -> TurnContext:
        """The prompt for the next reply (the user's latest message must already be added)."""
        summary = self.store.latest_summary(self.session.id)
        parts = [self.persona] if self.persona else []
        if insights:
            known = "\n".join(f"- {i.text}" for i in insights)
            parts.append(f"What you know about the user from earlier sessions:\n{known}")
        if summary:
            parts.append(f"Summary of the conversation so far:\n{summary.text}")
        system = "\n\n".join(parts)
        used = self.count_tokens(system) + PER_MESSAGE_OVERHEAD if system else 0
        budget = self.context_size - self.reply_tokens
        after = summary.last_message_id if summary else 0
        recent = [
            m for m in self.store.recent_messages(self.session.id, RECENT_WINDOW) if m.id > after
        ]
        kept: list[StoredMessage] = []
        for message in reversed(recent):
            if used + message.tokens > budget and kept:
                break
            kept.append(message)
            used += message.tokens
        kept.reverse()
        head = [Message.system(system)] if system else []
        turns = [Message(role=m.role, content=m.content) for m in kept if m.role != "system"]
        return TurnContext(
            messages=head + turns,
            summary=summary,
            insights=list(insights),
            verbatim=len(kept),
            left_out=len(recent) - len(kept),
            tokens=used,
        )

    def needs_collapse(self) -> bool:
        return sum(m.tokens for m in self.unsummarised()) > self.history_budget

    async def collapse(
        self, summarize: Summarizer, *, keep_tokens: int | None = None
    ) -> Summary | None:
        """Fold the oldest unsummarised turns into a new rolling summary; keep the newest
        ``keep_tokens`` (default: half the history budget) verbatim."""
        pending = self.unsummarised()
        keep = self.history_budget // 2 if keep_tokens is None else keep_tokens
        kept_tokens = 0
        split = len(pending)
        while split > 0 and kept_tokens + pending[split - 1].tokens <= keep:
            split -= 1
            kept_tokens += pending[split].tokens
        fold = pending[:split]
        if not fold:
            return None
        previous = self.store.latest_summary(self.session.id)
        text = ""
        if previous:
            text += f"Summary so far:\n{previous.text}\n\nThen:\n"
        text += render_turns(fold)
        new_summary = (await summarize(text)).strip()
        first = previous.first_message_id if previous else fold[0].id
        return self.store.add_summary(
            self.session.id, first, fold[-1].id, new_summary, self.count_tokens(new_summary)
        )

    def search(self, text: str, limit: int = 20) -> list[StoredMessage]:
        """Find turns by text, collapsed or not."""
        return self.store.search_messages(self.session.id, text, limit)
