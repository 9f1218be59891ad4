"""Optional language-model answers: the model words the answer, the verifier decides what of it
the doctor sees.

Runs after the checks, only on a question zhiyi has decided to answer — the refusal stays
zhiyi's. The model gets the question, the earlier questions and the passages (the extractive
answer's first, numbered) through LangChain's chat-model interface (`ChatOpenAI` against any
OpenAI-compatible base URL). Its reply streams in; each finished sentence goes through
`verify.verify_sentence` and only a kept one is shown. When the kept sentences do not carry the
fact zhiyi's own answer found, or the server fails, times out or says nothing usable, the
extractive answer is served with a short note: the model can only ever make an answer more
fluent, never less safe.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from assistant import texts
from assistant.answer.checks import Draft
from assistant.answer.cite import cite_generated
from assistant.answer.verify import CONTROL_TOKEN, Dropped, Passage, Verified, figures, plain, split_generated, support, verify_sentence
from assistant.config import Settings
from assistant.models import Answer, Chunk, DroppedSentence, Generation
from assistant.synonyms import SynonymTable
from assistant.textnorm import display_text


class GenerationFailed(Exception):
    """The server could not give a reply; the message says why, in Chinese, for the note."""


def base_url(url: str) -> str:
    """A bare host (http://host:11434) gets the OpenAI path /v1; a given path is kept as is
    (a provincial platform may serve under /api/v1)."""
    url = url.strip().rstrip("/")
    return url if urlsplit(url).path not in ("", "/") else f"{url}/v1"


def chat_model(settings: Settings):
    from langchain_openai import ChatOpenAI  # imported only where a site configured a model

    return ChatOpenAI(
        base_url=base_url(settings.llm_url), model=settings.llm_model or "default",
        api_key=settings.llm_api_key.get_secret_value() or "none",  # local servers take any key
        timeout=settings.llm_timeout, max_retries=0, temperature=0, max_tokens=settings.llm_max_tokens,
    )


def passages_for(draft: Draft, extractive: Answer, limit: int) -> list[tuple[Chunk, Passage]]:
    """The extractive answer's passages first (they hold the asked fact), then the search's."""
    by_id = {h.chunk.id: h.chunk for h in draft.hits}
    for cand in draft.chosen:
        by_id.setdefault(cand.chunk.id, cand.chunk)
    order = [c.chunk_id for c in extractive.citations] + [h.chunk.id for h in draft.hits]
    chunks = [by_id[i] for i in dict.fromkeys(order) if i in by_id][:limit]
    out = []
    for number, chunk in enumerate(chunks, start=1):
        year = f"（{chunk.doc.year}年）" if chunk.doc.year else ""
        section = f" · {display_text(chunk.section)}" if chunk.section else ""
        header = f"《{chunk.doc.title}》{year}{section}"
        out.append((chunk, Passage(number, f"{header}\n{chunk.text}", len(header) + 1)))
    return out


def messages(question: str, history: list[str] | None, passages: list[Passage]) -> list[tuple[str, str]]:
    given = "\n\n".join(f"[{p.number}] {p.text}" for p in passages)
    earlier = f"{texts.LLM_EARLIER}{'；'.join(history[-3:])}\n\n" if history else ""
    return [("system", texts.LLM_SYSTEM), ("human", f"{texts.LLM_PASSAGES}\n{given}\n\n{earlier}{texts.LLM_QUESTION}{question}")]


def stream_reply(settings: Settings, prompt: list[tuple[str, str]], model=None) -> Iterator[str]:
    """The reply's text as it arrives, within `llm_timeout` seconds for the whole of it.

    The request runs in a thread so that the deadline holds even when a server stops sending
    mid-reply (a client timeout is per read, and a slow drip never trips it)."""
    model = model or chat_model(settings)
    parts: queue.Queue = queue.Queue()
    done = object()

    def work() -> None:
        try:
            for chunk in model.stream(prompt):
                if isinstance(chunk.content, str) and chunk.content:
                    parts.put(chunk.content)
            parts.put(done)
        except Exception as exc:  # any client or server failure becomes the extractive answer
            parts.put(exc)

    threading.Thread(target=work, daemon=True, name="zhiyi-llm").start()
    deadline = time.monotonic() + settings.llm_timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise GenerationFailed("超时")
        try:
            part = parts.get(timeout=left)
        except queue.Empty:
            raise GenerationFailed("超时") from None
        if part is done:
            return
        if isinstance(part, Exception):
            raise GenerationFailed(_why(part)) from part
        yield part


def _why(exc: Exception) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return "超时"
    if "Connection" in name:
        return "无法连接"
    if "Authentication" in name or "PermissionDenied" in name:
        return "密钥无效"
    if "NotFound" in name:
        return "找不到模型或地址"
    return "返回异常"


def _covers_the_answer(kept: list[Verified], extractive: Answer, min_coverage: float) -> bool:
    """Does what the model kept say what zhiyi's own answer says? Every figure its quoted
    sentences add to the question must be among the kept sentences' figures, and most of
    the quoted words must be there: a sentence true to its passage but about something else
    (a model copying the neighbouring line, or asking the question back) is no answer."""
    said = plain("".join(k.text for k in kept))
    figures_said = figures(said)
    asked = figures(plain(extractive.question))
    quoted = plain("".join(c.text[s:e] for c in extractive.citations for s, e in (c.spans or [(c.quote_start, c.quote_end)])))
    wanted = [w for w in figures(quoted) if not any(w.same_value(q) for q in asked)]
    if any(not any(w.same_value(f) for f in figures_said) for w in wanted):
        return False
    return support(quoted, said) >= min_coverage


def generate(
    draft: Draft, extractive: Answer, history: list[str] | None, settings: Settings, synonyms: SynonymTable, model=None,
) -> Iterator[Answer]:
    """The model's answer as it is verified, sentence by sentence; the last one yielded is final."""
    started = time.perf_counter()
    given = passages_for(draft, extractive, settings.llm_passages)
    passages = [p for _, p in given]
    report = Generation(model=settings.llm_model or "default", passages=len(passages))
    kept: list[Verified] = []
    written = ""
    shown = 0

    def answer_so_far() -> Answer:
        answer = extractive.model_copy(deep=True)
        answer.backend = "llm"
        answer.generation = report.model_copy(deep=True)
        cite_generated(answer, kept, given)
        answer.message = texts.LLM_NOTE.format(model=report.model, dropped=len(report.dropped))
        return answer

    def settle(sentence: str) -> bool:
        report.generated += 1
        verdict = verify_sentence(sentence, passages, synonyms, settings.llm_min_support, extractive.question)
        if isinstance(verdict, Verified) and any(plain(verdict.text) in plain(k.text) for k in kept):
            verdict = Dropped(verdict.text, "repeat")  # small models loop: a sentence once
        if isinstance(verdict, Verified):
            kept.append(verdict)
            report.kept += 1
            report.recited += verdict.recited
            return True
        report.dropped.append(DroppedSentence(text=verdict.text, reason=verdict.reason, detail=verdict.detail))
        return False

    def fall_back(why: str, note: str) -> Answer:
        report.fallback = why
        report.seconds = round(time.perf_counter() - started, 3)
        report.done = True
        answer = extractive.model_copy(deep=True)
        answer.generation = report
        answer.message = note if not answer.message else f"{note}\n{answer.message}"
        return answer

    try:
        for part in stream_reply(settings, messages(extractive.question, history, passages), model):
            written += part
            written = CONTROL_TOKEN.sub("", written)
            finished = split_generated(written)[:-1]  # the last piece may still be growing
            for sentence in finished[shown:]:
                if settle(sentence):
                    yield answer_so_far()
            shown = max(shown, len(finished))
    except GenerationFailed as exc:
        yield fall_back(f"error: {exc}", texts.LLM_UNAVAILABLE.format(why=exc))
        return
    for sentence in split_generated(written)[shown:]:
        settle(sentence)
    report.seconds = round(time.perf_counter() - started, 3)
    if not written.strip():
        yield fall_back("empty reply", texts.LLM_UNAVAILABLE.format(why="未返回内容"))
    elif not kept or not _covers_the_answer(kept, extractive, settings.llm_min_coverage):
        yield fall_back("asked fact not kept", texts.LLM_UNSUPPORTED)
    else:
        report.done = True
        yield answer_so_far()
