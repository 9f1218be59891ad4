"""``zhiyi serve``: one ASGI app for a township health center's LAN.

FastAPI serves the APIs (``/api/*``, an OpenAI-compatible ``/v1/*``, OpenAPI at ``/docs``)
and mounts the Gradio chat at ``/``, all answering from one `Assistant`.

Access follows where it listens. On 127.0.0.1 (one PC) nothing asks for a login. On any
other address (the LAN) the chat asks for a doctor or admin account and every API call
needs a key (``Authorization: Bearer zy-…``); with no account configured the server
refuses to start and says how to add one.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.models import Answer, Category, sentence_line
from assistant.pipeline import Assistant, IndexMissing
from ui import texts
from ui.accounts import Accounts
from ui.feedback import FeedbackStore

MODEL_ID = "zhiyi"
MAX_QUESTION = 2000


def is_loopback(host: str) -> bool:
    """127.0.0.1, ::1 or localhost; anything else (0.0.0.0 above all) reaches the LAN."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- request and response bodies ----------------------------------------------------------
class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    history: list[str] = Field(default_factory=list, max_length=20, description="之前的问题（追问时）")
    categories: list[Category] | None = None


class AskResponse(Answer):
    answer_id: str = Field(description="用于 /api/feedback 的回答编号")


class FeedbackRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    answer_id: str | None = Field(default=None, max_length=64)
    answer: str = Field(default="", max_length=20000, description="没有 answer_id 时，回答的文字")
    rating: str = Field(pattern="^(up|down)$")
    comment: str = Field(default="", max_length=2000)


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # the parts form: [{"type": "text", "text": …}, …]
            return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


# -- rendering an answer as a chat reply ---------------------------------------------------
def _extra(answer: Answer, answer_id: str) -> dict:
    """What an OpenAI client may ignore and a HIS system reads: the citations and zhiyi's verdict."""
    zhiyi = {"answer_id": answer_id, "refused": answer.refused, "refused_by": answer.refused_by, "backend": answer.backend}
    if answer.generation is not None:
        zhiyi["generation"] = answer.generation.model_dump(exclude={"dropped"}) | {"dropped": len(answer.generation.dropped)}
    return {"citations": citations_data(answer), "zhiyi": zhiyi}


def citations_data(answer: Answer) -> list[dict]:
    return [
        {
            "id": c.id, "title": c.title, "section": c.section, "source": c.source, "original": c.original,
            "year": c.year, "authority": c.authority, "quote": c.quoted,
            "doc_start": c.doc_start, "doc_end": c.doc_end,
        }
        for c in answer.citations
    ]


# -- the app --------------------------------------------------------------------------------
class ExpiringTokens(dict):
    """Gradio's login sessions (token → user name) that lapse `seconds` after login, so a
    shared clinic PC left logged in does not stay open for good."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self._born: dict[str, float] = {}

    def _alive(self, token) -> bool:
        if not dict.__contains__(self, token):
            return False
        if time.monotonic() - self._born.get(token, 0.0) > self.seconds:
            dict.pop(self, token, None)
            self._born.pop(token, None)
            return False
        return True

    def __setitem__(self, token, user) -> None:
        self._born[token] = time.monotonic()
        dict.__setitem__(self, token, user)

    def __contains__(self, token) -> bool:
        return self._alive(token)

    def __getitem__(self, token):
        if not self._alive(token):
            raise KeyError(token)
        return dict.__getitem__(self, token)

    def get(self, token, default=None):
        return dict.__getitem__(self, token) if self._alive(token) else default


class Service:
    """What the routes share: one assistant, answering `Settings.answer_concurrency`
    questions at a time (the rest wait in line), the account and feedback stores."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None):
        self.settings = settings
        self.assistant = assistant or Assistant(settings)
        self.accounts = Accounts(settings.state_dir / "accounts.sqlite")
        self.feedback = FeedbackStore(settings.state_dir / "feedback.sqlite")
        self.lan = not is_loopback(settings.host)
        self._answering = threading.BoundedSemaphore(settings.answer_concurrency)

    def ask(self, question: str, history: list[str], categories: list[str] | None, user: str) -> tuple[Answer, str]:
        answer = None
        for answer in self.ask_stream(question, history, categories):
            pass
        return answer, self.feedback.log_answer(answer, user)

    def ask_stream(self, question: str, history: list[str], categories: list[str] | None) -> Iterator[Answer]:
        """The answer as it grows. Only zhiyi's own answer holds an answering slot: waiting on a
        site's model server takes no CPU here, and must not keep other doctors in line."""
        with self._answering:
            draft, answer = self.assistant.ask_extractive(question, history=history or None, categories=categories)
        yield from self.assistant.reword(draft, answer, history or None)


def _offline_docs(app: FastAPI) -> None:
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{texts.TITLE} · 接口文档",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js", swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def create_app(service: Service, chat=None) -> FastAPI:
    """The API app; `chat` (a gr.Blocks) is mounted at / when given."""
    # The interactive docs come from the swagger-ui-bundle package, served from here:
    # FastAPI's default /docs page would pull its script and styles from a CDN.
    # The bundled Swagger UI (4.15) reads OpenAPI 3.0 documents only; ours uses nothing of 3.1.
    app = FastAPI(title=texts.TITLE, description=texts.API_DESCRIPTION, version="1", docs_url=None, redoc_url=None)
    app.openapi_version = "3.0.2"
    _offline_docs(app)

    def client(request: Request) -> str:
        """Who is calling: on loopback anyone ("local"); on the LAN the owner of a valid key."""
        if not service.lan:
            return "local"
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        owner = service.accounts.key_owner(key.strip()) if scheme.lower() == "bearer" else None
        if owner is None:
            raise HTTPException(401, texts.API_KEY_NEEDED, headers={"WWW-Authenticate": "Bearer"})
        return owner

    def answer_or_503(question: str, history: list[str], categories, user: str) -> tuple[Answer, str]:
        try:
            return service.ask(question, history, categories, user)
        except IndexMissing as exc:
            raise HTTPException(503, str(exc)) from exc

    @app.get("/api/health", tags=["service"])
    def health(user: str = Depends(client)) -> dict:
        try:
            retriever = service.assistant.retriever()
        except IndexMissing:
            return {"status": "no_index", "documents": 0, "passages": 0, "index": None}
        manifest = retriever.manifest
        return {"status": "ok", "documents": manifest.get("documents", 0), "passages": len(retriever.chunks),
                "index": retriever.build.name}

    @app.post("/api/ask", tags=["answers"], response_model=AskResponse)
    def ask(body: AskRequest, user: str = Depends(client)) -> dict:
        answer, answer_id = answer_or_503(body.question, body.history, body.categories, user)
        return {**answer.model_dump(), "answer_id": answer_id}

    @app.post("/api/feedback", tags=["answers"])
    def feedback(body: FeedbackRequest, user: str = Depends(client)) -> dict:
        if not body.answer_id and not body.answer:
            raise HTTPException(422, texts.FEEDBACK_NEEDS_ANSWER)
        try:
            number = service.feedback.add(user=user, question=body.question, rating=body.rating, comment=body.comment,
                                          answer_id=body.answer_id, answer_text=body.answer)
        except KeyError as exc:
            raise HTTPException(404, texts.FEEDBACK_UNKNOWN_ANSWER) from exc
        return {"id": number, "status": "ok"}

    @app.get("/v1/models", tags=["openai"])
    def models(user: str = Depends(client)) -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "zhiyi"}]}

    @app.post("/v1/chat/completions", tags=["openai"])
    def chat_completions(body: ChatRequest, user: str = Depends(client)):
        asked = [m.text() for m in body.messages if m.role == "user" and m.text().strip()]
        if not asked:
            raise HTTPException(422, texts.CHAT_NEEDS_QUESTION)
        question = asked[-1][:MAX_QUESTION]
        created = int(time.time())
        if not body.stream:
            answer, answer_id = answer_or_503(question, asked[:-1][-20:], None, user)
            return {
                "id": f"chatcmpl-{answer_id}", "object": "chat.completion", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer.to_text(quotes=False)}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                **_extra(answer, answer_id),
            }
        growing = service.ask_stream(question, asked[:-1][-20:], None)
        try:
            first = next(growing)  # zhiyi's own part runs now, so a missing index is still a 503
        except IndexMissing as exc:
            raise HTTPException(503, str(exc)) from exc
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"

        def events() -> Iterator[str]:
            def chunk(delta: dict, finish: str | None = None, **more) -> str:
                data = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
                return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant", "content": ""})
            sent, answer = 0, first
            for answer in itertools.chain([first], growing):
                if answer.generation is not None and not answer.generation.done:
                    # A model's sentences go out one by one, each once the verifier has kept it.
                    for sentence in answer.sentences[sent:]:
                        yield chunk({"content": sentence_line(sentence) + "\n"})
                    sent = len(answer.sentences)
            answer_id = service.feedback.log_answer(answer, user)
            if sent and answer.backend == "llm":
                rest = answer.model_copy(update={"sentences": answer.sentences[sent:]})
            else:  # nothing streamed yet, or the extractive answer replaces what was (its note says why)
                rest = answer
            for line in rest.to_text(quotes=False).split("\n"):
                yield chunk({"content": line + "\n"})
            yield chunk({}, "stop", **_extra(answer, answer_id))
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    if chat is not None:
        import gradio as gr

        from ui.admin import MAX_UPLOAD_BYTES
        from ui.app import CSS, PAGE_JS, make_theme

        chat.queue(default_concurrency_limit=service.settings.answer_concurrency)
        auth = service.accounts.check_password if service.lan else None
        app = gr.mount_gradio_app(
            app, chat, path="/", auth=auth, auth_message=texts.LOGIN_MESSAGE if auth else None,
            footer_links=[], ssr_mode=False, pwa=False, mcp_server=False, enable_monitoring=False,
            show_error=False, theme=make_theme(), css=CSS, js=PAGE_JS,
            max_file_size=MAX_UPLOAD_BYTES,  # refused by the server before it is written anywhere
        )
        if auth is not None:
            from starlette.routing import Mount

            for route in app.routes:
                if isinstance(route, Mount) and hasattr(route.app, "tokens"):
                    route.app.tokens = ExpiringTokens(service.settings.session_hours * 3600)
    return app


def _browser_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _lan_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (no packet is sent)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({i[4][0] for i in infos if not i[4][0].startswith("127.")})


class Server:
    """uvicorn in a background thread: `start()` returns once it accepts connections."""

    def __init__(self, app: FastAPI, host: str, port: int):
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=3)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.host, self.port = host, port

    def start(self, timeout: float = 60.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise OSError(f"{self.host}:{self.port}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server did not start in {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def wait(self) -> None:
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            self.stop()


def serve(settings: Settings, open_browser: bool = False, block: bool = True) -> Server:
    from ui.app import build_app, preload

    print(texts.STARTING, flush=True)
    service = Service(settings)
    if service.lan and not service.accounts.users():
        raise SystemExit(texts.LAN_NEEDS_ACCOUNT.format(host=settings.host))
    preload(service.assistant)
    app = create_app(service, build_app(service.assistant, service.feedback, service.accounts.role_of))
    server = Server(app, settings.host, settings.port)
    try:
        server.start()
    except OSError as exc:
        raise SystemExit(texts.PORT_BUSY.format(host=settings.host, port=settings.port, error=exc)) from exc
    url = f"http://{_browser_host(settings.host)}:{settings.port}"
    print(texts.STARTED.format(url=url), flush=True)
    if service.lan:
        for address in _lan_addresses():
            print(texts.LAN_HINT.format(url=f"http://{address}:{settings.port}"), flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    if block:
        print(texts.STOP_HINT, flush=True)
        server.wait()
    return server


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: zhiyi serve")
