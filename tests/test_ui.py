"""The browser UI end to end: a real index, the real Gradio server, real headless Chromium.

One server and one browser page for the module; the tests run in file order and share
the page (each starts by clearing the conversation). The last test checks that every
request the page made went to this machine only.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

NO_CHROMIUM = f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"

FUNDING = """某县“智医助理”建设实施方案

一、建设目标
为每个村卫生室配备“智医助理”终端，辅助基层医生诊疗和医学知识检索。
二、经费保障
“智医助理”项目经费由省与市财政按7:3比例分担。县级财政负责系统运行维护经费。
"""

HYPERTENSION = """---
title: 高血压患者健康管理服务规范（测试摘要）
year: 2017
category: chronic
---
# 一、随访频次
对原发性高血压患者，每年要提供至少4次面对面的随访。

# 二、紧急转诊
随访时如收缩压≥180mmHg和（或）舒张压≥110mmHg，须在处理后紧急转诊。
"""

CONSULTATION = """---
title: 医疗质量安全核心制度要点（测试摘要）
year: 2018
category: core_system
---
# 会诊制度
急会诊时，会诊人员应当在接到会诊通知后10分钟内到场。
"""

FUNDING_TITLE = "某县“智医助理”建设实施方案"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _is_local(host: str | None) -> bool:
    if not host:
        return False
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module")
def outbound():
    """Every non-loopback connection the Python side tries while the UI runs."""
    attempts: list[str] = []
    inner = socket.socket.connect

    def recording(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(str(host)):
            attempts.append(str(address))
        return inner(self, address)

    socket.socket.connect = recording
    yield attempts
    socket.socket.connect = inner


@pytest.fixture(scope="module")
def ui_settings(tmp_path_factory):
    from tests.conftest import index_corpus

    return index_corpus(
        tmp_path_factory.mktemp("ui"),
        {"funding.txt": FUNDING, "hypertension.md": HYPERTENSION, "consultation.md": CONSULTATION},
        port=_free_port(),
    )


class Spy:
    """Wraps Assistant.ask_stream (what the page calls): records the calls and fails on demand."""

    FAIL = "请故意出错"

    def __init__(self, ask_stream):
        self._ask_stream = ask_stream
        self.calls: list[dict] = []

    def __call__(self, question, history=None, categories=None, model=None):
        self.calls.append({"question": question, "history": list(history or []), "categories": categories})
        if question == self.FAIL:
            raise RuntimeError("boom")
        yield from self._ask_stream(question, history=history, categories=categories, model=model)


@pytest.fixture(scope="module")
def server(ui_settings, outbound):
    from assistant.pipeline import Assistant
    from ui.app import build_app, preload
    from ui.server import Server, Service, create_app

    assistant = Assistant(ui_settings)
    assert preload(assistant)
    spy = Spy(assistant.ask_stream)
    assistant.ask_stream = spy
    spy.assistant = assistant
    # The deployed shape: the chat mounted under the FastAPI service.
    service = Service(ui_settings, assistant)
    server = Server(create_app(service, build_app(assistant, service.feedback)), ui_settings.host, ui_settings.port)
    server.start()
    spy.feedback = service.feedback
    yield f"http://127.0.0.1:{ui_settings.port}", spy
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def session(browser, server):
    url, spy = server
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("button", name="提问", exact=True).wait_for()
    yield page, spy, requests
    context.close()


@pytest.fixture
def spy(server) -> Spy:
    return server[1]


@pytest.fixture
def page(session):
    from playwright.sync_api import expect

    page, spy, _ = session
    if page.locator("#zy-chat .zy-turn").count():
        page.get_by_role("button", name="清空对话").click()
        # wait for the server's reply, or it could empty the next question as it is typed
        expect(page.locator("#zy-chat .zy-turn")).to_have_count(0)
        page.locator("#zy-chat .zy-welcome").wait_for()
    spy.calls.clear()
    return page


def ask(page, question: str, turn: int):
    page.locator("#zy-question textarea").fill(question)
    page.get_by_role("button", name="提问", exact=True).click()
    return wait_turn(page, turn)


def wait_turn(page, turn: int):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    done = page.locator(f'#zy-chat .zy-turn[data-turn="{turn}"] .zy-answer:not([data-state="pending"])')
    try:
        done.wait_for()
    except PlaywrightTimeout:
        chat = page.locator("#zy-chat").inner_html()
        asked = page.locator("#zy-question textarea").input_value()
        pytest.fail(f"no answer for turn {turn}; question box={asked!r}; chat={chat[:2000]}")
    return page.locator(f'#zy-chat .zy-turn[data-turn="{turn}"]')


@pytest.mark.browser
def test_answer_with_citation_highlight_and_disclaimer(page):
    from playwright.sync_api import expect

    started = time.perf_counter()
    turn = ask(page, "智医助理项目经费怎么分担？", 1)
    elapsed = time.perf_counter() - started
    expect(turn.locator(".zy-q-text")).to_have_text("智医助理项目经费怎么分担？")
    answer = turn.locator(".zy-answer")
    expect(answer).to_have_attribute("data-state", "answered")
    expect(answer.locator(".zy-sentence").first).to_contain_text("7:3")
    marker = answer.locator("sup.zy-cite a").first
    expect(marker).to_be_visible()
    expect(marker).to_have_text("[1]")
    card = answer.locator("#t1-src-1")
    expect(card).to_be_visible()
    expect(card.locator(".zy-src-title")).to_have_text(FUNDING_TITLE)
    expect(card).to_contain_text("funding.txt")
    expect(card).to_contain_text("经费保障")
    mark = card.locator("mark").first
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("省与市财政按7:3比例分担")
    expect(answer.locator(".zy-disclaimer")).to_be_visible()
    expect(answer.locator(".zy-disclaimer")).to_contain_text("仅供参考，不替代临床判断")
    # the input was cleared for the next question, the page is in Chinese
    expect(page.locator("#zy-question textarea")).to_have_value("")
    assert page.title() == "智医助理 · 基层医生知识问答"
    assert elapsed < 15, f"answer took {elapsed:.1f}s"

    # [1] jumps to its source card
    marker.click()
    expect(card).to_be_in_viewport()
    assert page.url.endswith("#t1-src-1")


@pytest.mark.browser
def test_thumbs_down_with_a_comment_is_stored_with_the_answer(page, spy):
    from playwright.sync_api import expect

    turn = ask(page, "急会诊多久到场？", 1)
    box = turn.locator(".zy-feedback")
    box.locator(".zy-fb-comment").fill("<img src=x onerror=alert(1)>没说白天")
    box.get_by_role("button", name="有错").click()
    expect(box.locator(".zy-fb-done")).to_have_text("已记录：有错")
    expect(box.locator(".zy-fb").first).to_be_disabled()
    deadline = time.monotonic() + 10
    while not spy.feedback.recent("down") and time.monotonic() < deadline:
        time.sleep(0.1)
    stored = spy.feedback.recent("down")[0]
    assert stored["comment"] == "<img src=x onerror=alert(1)>没说白天" and stored["question"] == "急会诊多久到场？"
    assert stored["answer"]["citations"][0]["source"] == "consultation.md"


@pytest.mark.browser
def test_out_of_scope_question_is_refused_without_sources(page):
    from playwright.sync_api import expect

    turn = ask(page, "明天天气怎么样？", 1)
    answer = turn.locator(".zy-answer")
    expect(answer).to_have_attribute("data-state", "refused")
    expect(answer.locator(".zy-refusal")).to_contain_text("知识库中没有找到")
    expect(answer.locator(".zy-source")).to_have_count(0)
    expect(answer.locator(".zy-disclaimer")).to_contain_text("仅供参考，不替代临床判断")


@pytest.mark.browser
def test_follow_up_gets_previous_questions_and_example_buttons_ask(page, spy):
    from playwright.sync_api import expect

    page.get_by_role("button", name="高血压患者多久随访一次？").click()
    first = wait_turn(page, 1)
    expect(first.locator(".zy-sentence").first).to_contain_text("4次")
    expect(first.locator("#t1-src-1 .zy-src-meta")).to_contain_text("2017年")
    expect(first.locator("#t1-src-1 .zy-src-meta")).to_contain_text("慢病管理")
    ask(page, "那糖尿病呢？", 2)
    assert [c["question"] for c in spy.calls] == ["高血压患者多久随访一次？", "那糖尿病呢？"]
    assert spy.calls[0]["history"] == []
    assert spy.calls[1]["history"] == ["高血压患者多久随访一次？"]
    expect(page.locator("#zy-chat .zy-turn")).to_have_count(2)


@pytest.mark.browser
def test_category_filter_is_passed_and_restricts_sources(page, spy):
    from playwright.sync_api import expect

    for label in ("分级诊疗与转诊", "医疗质量安全核心制度", "卫生管理与工作方案"):
        page.get_by_label(label).uncheck()
    turn = ask(page, "智医助理项目经费怎么分担？", 1)
    assert spy.calls[-1]["categories"] == ["chronic"]
    expect(turn.locator(".zy-src-title", has_text=FUNDING_TITLE)).to_have_count(0)
    for label in ("分级诊疗与转诊", "医疗质量安全核心制度", "卫生管理与工作方案"):
        page.get_by_label(label).check()
    ask(page, "急会诊多久到场？", 2)
    assert spy.calls[-1]["categories"] is None  # everything ticked = no filter


@pytest.mark.browser
def test_failure_becomes_a_chinese_message_and_the_chat_goes_on(page):
    from playwright.sync_api import expect

    turn = ask(page, Spy.FAIL, 1)
    expect(turn.locator(".zy-error")).to_contain_text("抱歉，回答这个问题时出错了")
    turn = ask(page, "急会诊多久到场？", 2)
    expect(turn.locator(".zy-sentence").first).to_contain_text("10分钟")
    page.get_by_role("button", name="清空对话").click()
    expect(page.locator("#zy-chat .zy-turn")).to_have_count(0)


@pytest.mark.browser
def test_a_models_answer_is_marked_and_shows_only_verified_sentences(page, spy):
    """With a site's model server (a fake one on loopback): the answer is marked as worded by a
    model, shows the sentence the verifier kept under its source, and never the one with a
    changed number."""
    from playwright.sync_api import expect

    from tests.test_llm import FakeLLM

    fake = FakeLLM()
    fake.reply = lambda prompt: "原发性高血压患者每年至少要有4次面对面的随访[1]。原发性高血压患者每年至少要有8次面对面随访[1]。"
    assistant = spy.assistant
    plain_settings = assistant.settings
    assistant.settings = plain_settings.with_overrides({"llm_url": fake.url, "llm_model": "县级模型", "llm_timeout": 10})
    try:
        turn = ask(page, "高血压患者每年随访几次？", 1)
        answer = turn.locator(".zy-answer")
        expect(answer).to_have_attribute("data-state", "answered")
        expect(answer).to_have_attribute("data-backend", "llm")
        expect(answer.locator(".zy-llm")).to_contain_text("模型组织语言")
        expect(answer.locator(".zy-note")).to_contain_text("县级模型")
        expect(answer.locator(".zy-sentence")).to_have_count(1)
        expect(answer.locator(".zy-sentence")).to_contain_text("每年至少要有4次面对面的随访")
        assert "8次" not in answer.inner_text()
        expect(answer.locator("#t1-src-1 mark").first).to_contain_text("至少4次")
        expect(answer.locator(".zy-disclaimer")).to_contain_text("仅供参考，不替代临床判断")
        assert fake.requests and "至少4次" in json.dumps(fake.requests[-1], ensure_ascii=False)
    finally:
        assistant.settings = plain_settings
        fake.server.shutdown()


@pytest.mark.browser
def test_trainer_makes_a_handout_and_downloads_it(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="培训材料").click()
    page.locator("#zy-handout-topic textarea").fill("高血压患者随访")
    page.get_by_role("button", name="生成讲义").click()
    preview = page.locator("#zy-handout-preview")
    expect(preview).to_contain_text("高血压患者随访 · 培训讲义", timeout=60_000)
    expect(preview).to_contain_text("每年要提供至少4次面对面的随访")
    expect(preview).to_contain_text("仅供参考，不替代临床判断")
    link = page.locator("#zy-handout-file a[download]").first
    expect(link).to_have_attribute("download", "高血压患者随访-讲义.docx")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith("讲义.docx")
    page.locator("#zy-handout-topic textarea").fill("火锅底料怎么炒")
    page.get_by_role("button", name="生成讲义").click()
    expect(preview).to_contain_text("无法生成讲义")
    page.get_by_role("tab", name="问答").click()


@pytest.mark.browser
def test_trainer_makes_a_quiz_bank_and_downloads_it(page, tmp_path):
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    page.get_by_role("tab", name="培训材料").click()
    page.locator("#zy-quiz-topic textarea").fill("高血压")
    page.locator("#zy-quiz-count input").fill("2")
    page.get_by_role("button", name="生成题库").click()
    preview = page.locator("#zy-quiz-preview")
    expect(preview).to_contain_text("高血压 · 练习题", timeout=60_000)
    expect(preview.locator(".zy-quiz-item")).to_have_count(2)
    expect(preview).to_contain_text("仅供参考，不替代临床判断")
    link = page.locator("#zy-quiz-file a[download]").first
    expect(link).to_have_attribute("download", "高血压-题库.xlsx")
    with page.expect_download() as download:
        link.click()
    download.value.save_as(tmp_path / "bank.xlsx")
    rows = list(load_workbook(tmp_path / "bank.xlsx")["题库"].iter_rows(values_only=True))
    assert rows[0][:3] == ("题型", "题干", "选项A") and len(rows) == 3
    # No type ticked, and a topic the base does not hold: a message, no file.
    for box in page.locator("#zy-quiz-types input[type=checkbox]").all():
        box.uncheck()
    page.get_by_role("button", name="生成题库").click()
    expect(preview).to_contain_text("请至少选择一种题型")
    page.locator("#zy-quiz-types input[type=checkbox]").first.check()
    page.locator("#zy-quiz-topic textarea").fill("火锅底料怎么炒")
    page.get_by_role("button", name="生成题库").click()
    expect(preview).to_contain_text("无法生成题库")
    page.get_by_role("tab", name="问答").click()


NEW_DOC = """# 村卫生室冷链管理（测试文件）
疫苗冷藏箱温度每天上午、下午各记录一次，温度应保持在2～8℃。
<script>alert("x")</script>
"""


@pytest.mark.browser
def test_admin_uploads_a_document_and_the_chat_answers_from_it(page, tmp_path):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="知识库管理").click()
    documents = page.locator("#zy-kb-documents")
    expect(documents).to_contain_text("funding.txt")
    upload = tmp_path / "冷链 管理<1>.md"
    upload.write_text(NEW_DOC, encoding="utf-8")
    page.locator("#zy-kb-upload input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="上传并重建索引").click()
    expect(page.locator("#zy-kb-progress")).to_contain_text("新索引已启用", timeout=120_000)
    expect(documents).to_contain_text("uploads/冷链_管理")
    # The doctor's 有错 comment from the earlier test is listed, as text.
    listed = page.locator("#zy-kb-feedback")
    expect(listed).to_contain_text("<img src=x onerror=alert(1)>没说白天")
    assert listed.locator("img").count() == 0

    # The retrieval test shows the passage, its score and the checks' verdict.
    page.locator("#zy-kb-query textarea").fill("疫苗冷藏箱温度多少")
    page.get_by_role("button", name="检索", exact=True).click()
    result = page.locator("#zy-kb-search-result")
    expect(result).to_contain_text("会作答")
    expect(result).to_contain_text("uploads/冷链_管理")
    expect(documents).to_contain_text("慢病管理")  # the category chosen on upload (default 慢病管理)

    page.get_by_role("tab", name="问答").click()
    turn = ask(page, "疫苗冷藏箱温度要保持多少度？", 1)
    answer = turn.locator(".zy-answer")
    expect(answer.locator(".zy-sentence").first).to_contain_text("2～8℃")
    expect(answer.locator(".zy-source").first).to_contain_text("uploads/冷链_管理")
    # A document's markup is shown as text, never run.
    assert page.evaluate("() => document.querySelectorAll('#zy-chat script').length") == 0


@pytest.mark.browser
def test_page_made_local_requests_only(session, server, outbound):
    page, _, requests = session
    # The API docs page too: its Swagger UI comes from this server, not a CDN.
    page.goto(f"{server[0]}/docs")
    page.locator(".swagger-ui").get_by_text("/api/ask", exact=True).first.wait_for()
    assert requests, "no request recorded"
    remote = [
        u for u in requests if urlsplit(u).scheme not in ("data", "blob", "about") and not _is_local(urlsplit(u).hostname)
    ]
    assert remote == [], f"the page reached off the machine: {remote}"
    assert outbound == [], f"the server reached off the machine: {outbound}"


# -- without a browser: the index is missing -----------------------------------------
def test_missing_index_is_a_message_not_a_crash(tmp_path, capsys):
    from assistant.config import load_settings
    from assistant.pipeline import Assistant
    from ui import texts
    from ui.app import answer_html, build_app, index_status, preload

    settings = load_settings({"knowledge_dir": tmp_path / "knowledge", "index_dir": tmp_path / "index"}, environ={})
    assistant = Assistant(settings)
    assert preload(assistant) is False
    assert texts.INDEX_MISSING in capsys.readouterr().err
    assert texts.INDEX_MISSING in index_status(assistant)
    out = answer_html(assistant, "高血压患者多久随访一次？", [], None, anchor="t1")
    assert texts.INDEX_MISSING in out and "仅供参考，不替代临床判断" in out
    build_app(assistant)  # the page builds without an index
