"""The help line's knowledge base: SQLite FTS5 over markdown. Searched by the worker's activity
``search_knowledge_base`` (activities/kb.py) and by the console's intake form as the agent types.

Article format (``settings.kb_dir/*.md``; the slug is the file stem)::

    # Title on the first non-blank line
    category: billing
    tags: refunds, duplicate charge, double billing

    Body in markdown...

The ``key: value`` lines right after the title are optional front matter; only ``category`` and
``tags`` are recognised (the first other non-blank line starts the body). A file without a
``# Title`` line uses its slug as title.

Index: ``settings.data_dir/kb.sqlite`` (stdlib ``sqlite3``, FTS5, ``porter unicode61`` tokenizer so
"charged" finds "charge"). It is rebuilt whenever the articles change: a fingerprint of every
file's name, size and mtime is stored in the index and compared before each search. The rebuild
runs in one ``BEGIN IMMEDIATE`` transaction and re-checks the fingerprint after taking the write
lock, so two workers starting at once build it once and readers (WAL) never see a half-built
index.

Query: the category and the text are reduced to word tokens (``\\w+``), lower-cased, common
stop words dropped, each token quoted as an FTS5 string and the tokens OR-ed, so no user text can
produce an FTS5 syntax error. Ranking is FTS5 ``bm25`` with column weights (title 8, category 3,
tags 3, body 1); articles whose category or tags equal the query's category get their score
multiplied by :data:`CATEGORY_BOOST`. ``score`` is ``-bm25`` after the boost: higher is better.
Matches scoring below :data:`MIN_RELATIVE_SCORE` of the best one (incidental one-word hits) are
dropped.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from workflows.models import KbMatch

log = structlog.get_logger("kb")

SCHEMA_VERSION = "kb-1"
CATEGORY_BOOST = 1.5
MIN_RELATIVE_SCORE = 0.1
MAX_TERMS = 64
MAX_LIMIT = 20
BM25_WEIGHTS = (0.0, 8.0, 3.0, 3.0, 1.0)  # slug, title, category, tags, body
_FRONT = re.compile(r"^\s*(category|tags)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his
    how i if in into is it its me my no not of on or our she so than that the their them then
    there they this to too us was we were what when where which who why will with would you
    your yours ive im dont cant please hi hello thanks thank customer customers""".split()
)


@dataclass
class Article:
    slug: str
    title: str
    category: str = ""
    tags: list[str] = field(default_factory=list)
    body: str = ""


def parse_article(path: Path) -> Article:
    lines = path.read_text(encoding="utf-8").splitlines()
    slug = path.stem
    title, category, tags = slug, "", []
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].startswith("# "):
        title = lines[i][2:].strip() or slug
        i += 1
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            m = _FRONT.match(lines[i])
            if not m:
                break
            key, value = m.group(1).lower(), m.group(2)
            if key == "category":
                category = value.strip().lower()
            else:
                tags = [t.strip().lower() for t in value.split(",") if t.strip()]
            i += 1
    body = "\n".join(lines[i:]).strip()
    return Article(slug=slug, title=title, category=category, tags=tags, body=body)


def query_terms(*texts: str) -> list[str]:
    """Safe FTS5 terms from free text: word tokens only, deduplicated, in order."""
    seen: dict[str, None] = {}
    for text in texts:
        for tok in _WORD.findall(text.lower()):
            tok = tok.strip("_")
            if tok and tok not in STOP_WORDS and tok not in seen:
                seen[tok] = None
                if len(seen) >= MAX_TERMS:
                    return list(seen)
    return list(seen)


def match_expression(terms: list[str]) -> str:
    # Tokens from \w+ contain no double quote; quoting makes AND/OR/NOT/NEAR plain words.
    return " OR ".join(f'"{t}"' for t in terms)


class KnowledgeBase:
    """The index and the search, synchronous (the activity runs it in a thread)."""

    def __init__(self, kb_dir: Path, db_path: Path) -> None:
        self.kb_dir = Path(kb_dir)
        self.db_path = Path(db_path)
        self._indexed: str | None = None  # fingerprint this process last saw in the index

    def _files(self) -> list[Path]:
        if not self.kb_dir.is_dir():
            return []
        return sorted(p for p in self.kb_dir.glob("*.md") if p.is_file())

    def fingerprint(self, files: list[Path]) -> str:
        h = hashlib.sha256(SCHEMA_VERSION.encode())
        for p in files:
            st = p.stat()
            h.update(f"\0{p.name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        return h.hexdigest()

    def _connect(self) -> sqlite3.Connection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass  # another process holds the lock right now; WAL is persistent once set
        return conn

    @staticmethod
    def _stored_fingerprint(conn: sqlite3.Connection) -> str | None:
        try:
            row = conn.execute("SELECT value FROM kb_meta WHERE key = 'fingerprint'").fetchone()
        except sqlite3.OperationalError:
            return None  # no index yet
        return row[0] if row else None

    def ensure_index(self, conn: sqlite3.Connection) -> None:
        files = self._files()
        fp = self.fingerprint(files)
        if fp == self._indexed or fp == self._stored_fingerprint(conn):
            self._indexed = fp
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self._stored_fingerprint(conn) != fp:  # someone else may have just built it
                articles = [parse_article(p) for p in files]
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT)"
                )
                conn.execute("DROP TABLE IF EXISTS kb_articles")
                conn.execute(
                    "CREATE VIRTUAL TABLE kb_articles USING fts5("
                    "slug UNINDEXED, title, category, tags, body, "
                    "tokenize = 'porter unicode61 remove_diacritics 2')"
                )
                conn.executemany(
                    "INSERT INTO kb_articles (slug, title, category, tags, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(a.slug, a.title, a.category, ", ".join(a.tags), a.body) for a in articles],
                )
                conn.execute(
                    "INSERT INTO kb_meta (key, value) VALUES ('fingerprint', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (fp,),
                )
                log.info("kb_indexed", articles=len(articles), kb_dir=str(self.kb_dir))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._indexed = fp

    def search(self, category: str, text: str, limit: int = 3) -> list[KbMatch]:
        limit = max(1, min(int(limit), MAX_LIMIT))
        terms = query_terms(category, text)
        conn = self._connect()
        try:
            self.ensure_index(conn)
            if not terms:
                return []
            weights = ", ".join(str(w) for w in BM25_WEIGHTS)
            rows = conn.execute(
                f"SELECT slug, title, category, tags, bm25(kb_articles, {weights}) AS rank, "
                "snippet(kb_articles, 4, '**', '**', '…', 16) "
                "FROM kb_articles WHERE kb_articles MATCH ? ORDER BY rank LIMIT ?",
                (match_expression(terms), limit * 3 + 10),
            ).fetchall()
        finally:
            conn.close()
        cat = category.strip().lower()
        matches = []
        for slug, title, art_cat, tags, rank, snippet in rows:
            tag_set = {t.strip() for t in tags.split(",")}
            boost = CATEGORY_BOOST if cat and (cat == art_cat or cat in tag_set) else 1.0
            matches.append(
                KbMatch(slug=slug, title=title, score=round(-rank * boost, 4), snippet=snippet)
            )
        matches.sort(key=lambda m: (-m.score, m.slug))
        if matches:
            floor = matches[0].score * MIN_RELATIVE_SCORE
            matches = [m for m in matches if m.score >= floor]
        return matches[:limit]
