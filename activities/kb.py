"""The help line's knowledge-base search as an activity (``search_knowledge_base``); the index
and its ranking are in core/kb.py."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.logging import activity_context
from core.kb import KnowledgeBase
from core.settings import Settings
from workflows.messages import KbQuery, KbResult


class KbActivities:
    def __init__(self, settings: Settings) -> None:
        self.kb = KnowledgeBase(settings.kb_dir, Path(settings.data_dir) / "kb.sqlite")

    @activity.defn(name="search_knowledge_base")
    async def search_knowledge_base(self, q: KbQuery) -> KbResult:
        with activity_context(category=q.category) as alog:
            try:
                matches = await asyncio.to_thread(self.kb.search, q.category, q.text, q.limit)
            except sqlite3.Error as e:
                alog.error("kb_search_failed", error=str(e))
                raise ApplicationError(
                    f"knowledge base unavailable: {e}", type="KbUnavailable"
                ) from e
            alog.info("kb_searched", matches=[m.slug for m in matches])
            return KbResult(matches=matches)
