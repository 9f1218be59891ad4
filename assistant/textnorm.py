"""Text normalisation shared by documents and questions.

The same function runs on passages at ingest time and on questions at ask time, so
traditional/simplified script, full/half width and pinyin annotations never decide a match.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
# A pinyin annotation right after a Han character: 說(shuō) or 說（shuō）.
_PINYIN_ANNOTATION = re.compile(
    r"(?<=[\u3400-\u9fff])[(（]\s*([a-z" + _TONED + r"]{1,7}(?:\s[a-z" + _TONED + r"]{1,7}){0,3})\s*[)）]"
)
_TONE_MARK = re.compile("[" + _TONED + "]")
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")


def strip_pinyin(text: str) -> str:
    """Remove pinyin readings glued to Han characters, keep real parentheses.

    Only annotations that carry a tone mark, or whose whole content is a plausible
    syllable, are removed: "(一)" and "(HIS)" survive.
    """

    def repl(match: re.Match) -> str:
        body = match.group(1)
        if _TONE_MARK.search(body) or re.fullmatch(r"(?:[bpmfdtnlgkhjqxrzcsyw]?h?[aeiouv]+n?g?r?\s?)+", body):
            return ""
        return match.group(0)

    return _PINYIN_ANNOTATION.sub(repl, text)


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if _HAN.search(text) else text


def display_text(text: str) -> str:
    """What a reader of an answer sentence sees: simplified, no pinyin, punctuation kept."""
    return to_simplified(strip_pinyin(text))


def normalize(text: str) -> str:
    """Search form: NFKC (full → half width), pinyin stripped, simplified, lower-case, one space."""
    text = unicodedata.normalize("NFKC", text)
    text = strip_pinyin(text)
    text = to_simplified(text)
    text = _SPACES.sub(" ", text)
    return text.lower().strip()


def detect_language(text: str) -> str:
    """'zh' or 'en' by the share of Han characters against Latin words."""
    han = len(_HAN.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    # A Han character carries roughly as much as three Latin letters.
    return "zh" if han * 3 >= latin else "en"
