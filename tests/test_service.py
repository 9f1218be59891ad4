"""The clinic service end to end: a real index, the real FastAPI + Gradio app under a real
uvicorn on loopback, the real `openai` client, real SQLite account and feedback stores."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.test_ui import CONSULTATION, FUNDING, HYPERTENSION, _free_port


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    from tests.conftest import index_corpus

    return index_corpus(
        tmp_path_factory.mktemp("service"),
        {"funding.txt": FUNDING, "hypertension.md": HYPERTENSION, "consultation.md": CONSULTATION},
    )


def _start(settings, chat: bool = False):
    from ui.app import build_app
    from ui.server import Server, Service, create_app

    service = Service(settings)
    app = create_app(service, build_app(service.assistant) if chat else None)
    # Whatever host the settings name, the test server listens on loopback only.
    server = Server(app, "127.0.0.1", _free_port())
    server.start()
    return service, server, f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def local(indexed):
    service, server, url = _start(indexed)
    yield service, url
    server.stop()


def test_health_and_ask_on_loopback_need_no_key(local, indexed):
    service, url = local
    health = httpx.get(f"{url}/api/health").json()
    assert health["status"] == "ok" and health["documents"] == 3 and health["passages"] > 0 and health["index"]

    answer = httpx.post(f"{url}/api/ask", json={"question": "急会诊多久到场？"}, timeout=60).json()
    assert answer["refused"] is False and "10分钟" in answer["sentences"][0]["text"]
    assert answer["citations"][0]["title"] == "医疗质量安全核心制度要点（测试摘要）"
    assert answer["disclaimer"] == "仅供参考，不替代临床判断" and len(answer["answer_id"]) == 32

    refused = httpx.post(f"{url}/api/ask", json={"question": "今天股票行情怎么样"}, timeout=60).json()
    assert refused["refused"] is True and refused["citations"] == []

    bad = httpx.post(f"{url}/api/ask", json={"question": ""}, timeout=60)
    assert bad.status_code == 422


def test_feedback_is_stored_with_the_logged_answer(local):
    service, url = local
    answer = httpx.post(f"{url}/api/ask", json={"question": "高血压患者多久随访一次？"}, timeout=60).json()
    saved = httpx.post(
        f"{url}/api/feedback",
        json={"question": answer["question"], "answer_id": answer["answer_id"], "rating": "down", "comment": "<b>不全</b>"},
    )
    assert saved.status_code == 200
    stored = service.feedback.recent("down")[0]
    assert stored["comment"] == "<b>不全</b>" and stored["user"] == "local"
    assert stored["answer"]["citations"][0]["source"] == "hypertension.md"  # the cited passage is kept

    unknown = httpx.post(f"{url}/api/feedback", json={"question": "x", "answer_id": "nope", "rating": "up"})
    assert unknown.status_code == 404
    no_answer = httpx.post(f"{url}/api/feedback", json={"question": "x", "rating": "up"})
    assert no_answer.status_code == 422 and "answer_id" in no_answer.json()["detail"]
    assert httpx.post(f"{url}/api/feedback", json={"question": "x", "answer": "y", "rating": "meh"}).status_code == 422


def test_feedback_exports_as_eval_items(local, indexed, tmp_path, monkeypatch, capsys):
    from evaluation.items import load_items
    from ui.cli import main

    service, url = local
    for question, rating in (("智医助理项目经费怎么分担？", "up"), ("急会诊多久到场？", "down")):
        answer = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=60).json()
        httpx.post(f"{url}/api/feedback", json={"question": question, "answer_id": answer["answer_id"], "rating": rating,
                                                "comment": "夜间呢？" if rating == "down" else ""})
    monkeypatch.setenv("ZHIYI_STATE_DIR", str(indexed.state_dir))
    out = tmp_path / "items.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    items, problems = load_items([out])
    assert not problems
    by_question = {i.question: i for i in items}
    assert "7:3" in by_question["智医助理项目经费怎么分担？"].evidence
    raw = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    flagged = [r for r in raw if r.get("needs_review")]
    assert flagged and all(r["rating"] == "down" for r in flagged) and any(r["comment"] == "夜间呢？" for r in flagged)


def test_openai_client_gets_cited_answers_streaming_and_not(local):
    from openai import OpenAI

    service, url = local
    client = OpenAI(base_url=f"{url}/v1", api_key="unused-on-loopback", max_retries=0, timeout=60)
    assert [m.id for m in client.models.list().data] == ["zhiyi"]

    reply = client.chat.completions.create(
        model="zhiyi",
        messages=[{"role": "system", "content": "你是助手"}, {"role": "user", "content": "智医助理项目经费怎么分担？"}],
    )
    content = reply.choices[0].message.content
    assert "7:3" in content and "[1]" in content and "来源：" in content and "仅供参考，不替代临床判断" in content
    citations = reply.model_extra["citations"]
    assert citations[0]["source"] == "funding.txt" and "7:3" in citations[0]["quote"]

    chunks = list(client.chat.completions.create(
        model="zhiyi", stream=True,
        messages=[{"role": "user", "content": "高血压患者多久随访一次？"}, {"role": "assistant", "content": "…"},
                  {"role": "user", "content": "血压多高要紧急转诊？"}],
    ))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "180" in streamed and "[1]" in streamed
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"][0]["source"] == "hypertension.md"


def test_answers_computed_side_by_side_match_the_answers_computed_alone(indexed):
    """answer_concurrency > 1 lets two questions run at once in one Assistant: neither may
    pick up the other's question vector, passages or sentences."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.pipeline import Assistant

    questions = ["急会诊多久到场？", "智医助理项目经费怎么分担？", "高血压患者多久随访一次？", "血压多高要紧急转诊？"] * 4
    assistant = Assistant(indexed)
    alone = {q: assistant.ask(q).model_dump(exclude={"latency_ms"}) for q in set(questions)}
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: (q, assistant.ask(q).model_dump(exclude={"latency_ms"})), questions))
    assert all(answer == alone[q] for q, answer in together)


def test_lan_binding_refuses_to_start_without_accounts(indexed, tmp_path):
    from ui.server import serve

    lan = indexed.with_overrides({"host": "0.0.0.0", "state_dir": tmp_path / "state", "port": _free_port()})
    with pytest.raises(SystemExit) as stop:
        serve(lan, block=False)
    assert "zhiyi user add" in str(stop.value)


def test_lan_needs_a_key_for_the_api_and_a_login_for_the_chat(indexed, tmp_path):
    from openai import AuthenticationError, OpenAI

    lan = indexed.with_overrides({"host": "0.0.0.0", "state_dir": tmp_path / "state"})
    service, server, url = _start(lan, chat=True)
    try:
        service.accounts.add_user("wang", "secret-1", "doctor")
        key = service.accounts.add_key("his")
        assert httpx.get(f"{url}/api/health").status_code == 401
        wrong = httpx.post(f"{url}/api/ask", json={"question": "急会诊多久到场？"}, headers={"Authorization": "Bearer zy-wrong"})
        assert wrong.status_code == 401 and "zhiyi apikey add" in wrong.json()["detail"]
        ok = httpx.post(f"{url}/api/ask", json={"question": "急会诊多久到场？"}, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert ok.status_code == 200 and not ok.json()["refused"]
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=f"{url}/v1", api_key="zy-not-a-key", max_retries=0).models.list()
        assert OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0).models.list().data[0].id == "zhiyi"

        # The chat page is behind Gradio's login, checked against the account store.
        assert httpx.get(f"{url}/config").status_code == 401
        with httpx.Client(base_url=url) as browser:
            assert browser.post("/login", data={"username": "wang", "password": "wrong-pw"}).status_code == 400
            assert browser.post("/login", data={"username": "wang", "password": "secret-1"}).status_code == 200
            assert browser.get("/config").status_code == 200
    finally:
        server.stop()


def test_lan_logins_expire(indexed, tmp_path):
    short = indexed.with_overrides({"host": "0.0.0.0", "state_dir": tmp_path / "state", "session_hours": 1 / 3600})
    service, server, url = _start(short, chat=True)
    try:
        service.accounts.add_user("wang", "secret-1", "doctor")
        with httpx.Client(base_url=url) as browser:
            assert browser.post("/login", data={"username": "wang", "password": "secret-1"}).status_code == 200
            assert browser.get("/config").status_code == 200
            time.sleep(1.5)
            assert browser.get("/config").status_code == 401  # a day's login, here a second, has lapsed
    finally:
        server.stop()


def test_accounts_hash_passwords_and_keys(tmp_path):
    import sqlite3

    from ui.accounts import Accounts

    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.add_user("li", "长密码也可以-很长" * 20, "admin")
    with pytest.raises(ValueError):
        accounts.add_user("li", "another-1", "doctor")
    with pytest.raises(ValueError):
        accounts.add_user("zhao", "short", "doctor")
    assert accounts.check_password("li", "长密码也可以-很长" * 20)
    assert not accounts.check_password("li", "长密码也可以-很长" * 19)
    assert not accounts.check_password("nobody", "whatever")
    key = accounts.add_key("his")
    assert accounts.key_owner(key) == "his" and accounts.key_owner(key + "x") is None
    stored = sqlite3.connect(tmp_path / "accounts.sqlite").execute("SELECT hash FROM users").fetchone()[0]
    assert stored.startswith(b"$2b$")  # bcrypt, never the password
    assert key.encode() not in (tmp_path / "accounts.sqlite").read_bytes()  # only its digest is kept
    assert accounts.remove_user("li") and not accounts.check_password("li", "长密码也可以-很长" * 20)


def test_user_and_apikey_commands(tmp_path, monkeypatch, capsys):
    import io

    from ui.cli import main

    monkeypatch.setenv("ZHIYI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("sys.stdin", io.StringIO("pass-word-1\n"))
    assert main(["user", "add", "zhang", "--role", "admin", "--password-stdin"]) == 0
    assert main(["user", "list"]) == 0
    assert "zhang\tadmin" in capsys.readouterr().out
    assert main(["apikey", "add", "his"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("zy-") and len(key) > 40
    assert main(["user", "remove", "nobody"]) == 2
    assert "没有用户" in capsys.readouterr().err


def test_upload_names_stay_inside_the_upload_folder(tmp_path):
    from ui.admin import safe_name

    assert safe_name("../../etc/passwd.md") == "passwd.md"
    assert safe_name("..\\..\\win.ini.txt") == "win.ini.txt"
    assert safe_name(".hidden.md") == "hidden.md"
    assert safe_name("高血压 指南<2020>.pdf") == "高血压_指南_2020_.pdf"
    assert "/" not in safe_name("a/b/c.md") and safe_name("a/b/c.md") == "c.md"


def test_rebuild_in_the_background_keeps_answering_and_removal_works(tmp_path):
    from assistant.pipeline import Assistant
    from tests.conftest import index_corpus
    from ui.admin import Admin

    settings = index_corpus(tmp_path, {"funding.txt": FUNDING, "consultation.md": CONSULTATION})
    assistant = Assistant(settings)
    admin = Admin(assistant)
    before = assistant.retriever().build
    new = tmp_path / "cold.md"
    new.write_text("# 冷链\n疫苗冷藏箱温度应保持在2～8℃，每天上午、下午各记录一次。\n", encoding="utf-8")
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x00")
    lines = admin.add_files([str(new), str(bad)], ["cold.md", "tool.exe"], category="chronic", year=2024)
    assert lines[0].startswith("已加入") and "只支持" in lines[1]
    assert admin.start_rebuild() and not admin.start_rebuild()  # one rebuild at a time
    answered_during = 0
    while admin.rebuild.running:
        answer = assistant.ask("急会诊多久到场？")  # the old index answers meanwhile
        assert not answer.refused and "10分钟" in answer.sentences[0].text
        answered_during += 1
    assert answered_during > 0 and not admin.rebuild.error
    assert assistant.retriever().build != before
    assert "uploads/cold.md" in {row["source"] for row in admin.documents()}
    cold = assistant.ask("疫苗冷藏箱温度要保持多少？")
    assert not cold.refused and cold.citations[0].source == "uploads/cold.md"
    assert cold.citations[0].category == "chronic" and cold.citations[0].year == 2024  # from the upload form

    assert admin.remove_file("uploads/cold.md").startswith("已删除")
    assert "没有这个文件" in admin.remove_file("../outside.md")
    assert admin.start_rebuild()
    while admin.rebuild.running:
        time.sleep(0.1)
    assert "uploads/cold.md" not in {row["source"] for row in admin.documents()}
