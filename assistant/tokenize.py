"""Word segmentation for BM25 and for lexical matching in answers.

bm25s's default splitter treats a run of Han characters as one token, which makes
Chinese BM25 useless; jieba's search mode segments it, and the synonym list's terms
are added to jieba's dictionary so domain words (双向转诊, 智医助理) stay whole.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from assistant.textnorm import normalize

_STOP_ZH = set(
    """的 了 是 在 和 与 及 或 等 吗 呢 啊 吧 呀 嘛 么 哦 之 其 该 此 这 那 这个 那个 这些 那些 个 把 被 给 让 从 向 对 于 以 为
    就 都 也 还 又 再 才 而 并 且 但 如 若 如果 因为 所以 可以 能 能够 会 要 需要 应 应该 应当 得 着 过 地 很 更 最 不 没 没有 有
    我 我们 你 你们 他 她 它 他们 咱 咱们 俺 请问 请 一下 一个 什么 啥 咋 怎么 怎么样 怎样 如何 哪 哪些 哪个 哪里 多少 几 几个 多久
    多长 时候 几次 一次 几天 几年 几个月 多长时间 多少次 怎么办 干啥 干什么 做什么 咋办 啥样 是啥 咋样 咋整 搞 搞的 弄 干嘛 啥子 怎么弄 怎么搞 哪样 有啥 要啥 靠啥 为啥 啥意思 什么样 该怎么 能否 可否 吗 呐 嘞 哈 吗 呢 么 是否 是不是 有没有 能不能 要不要 情况 问题 知道 说 讲 告诉 规定 一般 具体 主要 大概 现在 目前""".split()
)
_STOP_EN = set(
    """a an the of to in on for and or is are was were be been by with at as from that this these those it its do does did
    how what which who whom when where why can could should would will shall may might must i we you he she they our your
    their there here about into than then so not no yes any all some""".split()
)
_TOKEN_OK = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")
# Question words and bare counts ("哪几个", "十六个", "多少") say what kind of answer is
# wanted, not what it is about: they are kept out of matching.
_NOT_TOPICAL = re.compile(r"[几哪啥咋怎吗]|多少|^[零一二两三四五六七八九十百千万半]+[个字]?$")
_EN_WORD = re.compile(r"[a-z][a-z0-9\-]*|\d+(?:\.\d+)?")

_lock = threading.Lock()
_tokenizer = None
_user_words: set[str] = set()


def _jieba():
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            _tokenizer = jieba.Tokenizer()
            _tokenizer.initialize()
        return _tokenizer


def add_words(words: Iterable[str]) -> None:
    """Teach the segmenter domain terms (from the synonym list)."""
    tok = _jieba()
    with _lock:
        for word in words:
            word = normalize(word)
            if len(word) >= 2 and word not in _user_words:
                tok.add_word(word, freq=2000, tag="n")
                _user_words.add(word)


_posseg = None


def tagged_words(text: str) -> list[tuple[str, str]]:
    """Words with their part of speech (jieba's tags: n noun, ns place, v verb…)."""
    global _posseg
    if _posseg is None:
        import jieba.posseg

        tokenizer = _jieba()  # takes the lock itself
        with _lock:
            _posseg = _posseg or jieba.posseg.POSTokenizer(tokenizer)
    # HMM guesses glue words into fake nouns (人能).
    return [(w.word, w.flag) for w in _posseg.cut(text, HMM=False)]


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize_normalized(text: str) -> list[str]:
    """Tokens of already-normalised text (see textnorm.normalize)."""
    tokens: list[str] = []
    for piece in _jieba().cut_for_search(text):
        piece = piece.strip()
        if not piece or not _TOKEN_OK.search(piece):
            continue
        if piece.isascii():
            for word in _EN_WORD.findall(piece):
                if word not in _STOP_EN:
                    tokens.append(_stem(word))
        elif piece not in _STOP_ZH and not _NOT_TOPICAL.search(piece):
            tokens.append(piece)
    return tokens


def word_units(text: str) -> list[tuple[str, list[str]]]:
    """The topical words of already-normalised text, each with its parts as
    `tokenize_normalized` gives them (糖化血红蛋白 → 糖化, 血红, 蛋白, 糖化血红蛋白…)."""
    units: list[tuple[str, list[str]]] = []
    for piece in _jieba().cut(text, HMM=False):
        parts = tokenize_normalized(piece)
        if parts:
            units.append((max(parts, key=len) if piece.isascii() else piece, parts))
    return units


def tokenize(text: str) -> list[str]:
    return tokenize_normalized(normalize(text))
