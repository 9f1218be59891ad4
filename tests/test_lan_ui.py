"""The chat as a village doctor meets it on the LAN: a login, a phone-sized screen, no
knowledge-base page for doctors. Real server (LAN mode, listening on loopback only), real
headless Chromium. Screenshots and the page's weight go to var/test-output/ to be looked at."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.test_ui import CONSULTATION, FUNDING, HYPERTENSION, TIMEOUT_MS, _free_port, browser, wait_turn  # noqa: F401 (browser is a fixture)

OUTPUT = Path(os.environ.get("ZHIYI_TEST_OUTPUT", Path(__file__).resolve().parent.parent / "var" / "test-output"))


@pytest.fixture(scope="module")
def lan_server(tmp_path_factory):
    from tests.conftest import index_corpus
    from ui.app import build_app
    from ui.server import Server, Service, create_app

    settings = index_corpus(
        tmp_path_factory.mktemp("lan"),
        {"funding.txt": FUNDING, "hypertension.md": HYPERTENSION, "consultation.md": CONSULTATION},
        host="0.0.0.0",
    )
    service = Service(settings)
    assert service.lan
    service.accounts.add_user("wang", "village-1", "doctor")
    service.accounts.add_user("li", "county-admin-1", "admin")
    server = Server(create_app(service, build_app(service.assistant, service.feedback, service.accounts.role_of)),
                    "127.0.0.1", _free_port())
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def _login(browser, url: str, user: str, password: str, width: int = 1280, height: int = 900):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.locator("input[type=password]").wait_for()
    page.locator("input[type=text]").first.fill(user)
    page.locator("input[type=password]").fill(password)
    page.locator("input[type=password]").press("Enter")
    return context, page


@pytest.mark.browser
def test_wrong_password_stays_on_the_login_page(browser, lan_server):
    context, page = _login(browser, lan_server, "wang", "not-the-password")
    page.wait_for_timeout(1500)
    assert page.locator("input[type=password]").is_visible()
    assert page.locator("#zy-question").count() == 0
    context.close()


@pytest.mark.browser
def test_doctor_on_a_phone_asks_without_the_admin_page(browser, lan_server):
    from playwright.sync_api import expect

    OUTPUT.mkdir(parents=True, exist_ok=True)
    context, page = _login(browser, lan_server, "wang", "village-1", width=360, height=740)
    page.get_by_role("button", name="提问", exact=True).wait_for()
    expect(page.get_by_role("tab", name="知识库管理")).to_have_count(0)
    page.locator("#zy-question textarea").fill("急会诊多久到场？")
    page.get_by_role("button", name="提问", exact=True).click()
    turn = wait_turn(page, 1)
    expect(turn.locator(".zy-sentence").first).to_contain_text("10分钟")
    # Usable at 360 px: nothing wider than the screen, the citation card reachable.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 362
    turn.locator(".zy-source").first.scroll_into_view_if_needed()
    expect(turn.locator(".zy-source").first).to_be_in_viewport()
    page.screenshot(path=str(OUTPUT / "chat-360px.png"), full_page=True)
    context.close()


@pytest.mark.browser
def test_admin_sees_the_knowledge_base_page_and_the_page_weight_is_recorded(browser, lan_server):
    from playwright.sync_api import expect

    OUTPUT.mkdir(parents=True, exist_ok=True)
    context, page = _login(browser, lan_server, "li", "county-admin-1")
    page.get_by_role("button", name="提问", exact=True).wait_for()
    page.locator("#zy-question textarea").fill("智医助理项目经费怎么分担？")
    asked = time.perf_counter()
    page.get_by_role("button", name="提问", exact=True).click()
    expect(wait_turn(page, 1).locator(".zy-sentence").first).to_contain_text("7:3")
    first_answer_ms = (time.perf_counter() - asked) * 1000
    page.screenshot(path=str(OUTPUT / "chat-desktop.png"), full_page=True)
    weight = page.evaluate(
        """() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const res = performance.getEntriesByType('resource');
          return {requests: res.length + 1, page_load_ms: nav ? nav.duration : null,
                  transfer_bytes: (nav ? nav.transferSize : 0) + res.reduce((s, r) => s + (r.transferSize || 0), 0),
                  decoded_bytes: (nav ? nav.decodedBodySize : 0) + res.reduce((s, r) => s + (r.decodedBodySize || 0), 0)};
        }"""
    )
    weight["first_answer_ms"] = round(first_answer_ms)  # recorded for the README, not asserted
    (OUTPUT / "page-weight.json").write_text(json.dumps(weight, indent=1), encoding="utf-8")
    assert weight["requests"] > 1 and weight["decoded_bytes"] > 0

    page.get_by_role("tab", name="知识库管理").click()
    expect(page.locator("#zy-kb-documents")).to_contain_text("consultation.md")
    page.screenshot(path=str(OUTPUT / "knowledge-base-desktop.png"), full_page=True)
    context.close()
