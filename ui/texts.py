"""Every string the browser UI shows, in Simplified Chinese, kept together for review."""

from assistant.models import CATEGORY_LABELS, DISCLAIMER

TITLE = "智医助理 · 基层医生知识问答"
SUBTITLE = "根据本机知识库中的文件回答问题，每句话都标明出处。离线运行，不联网。"
DISCLAIMER_TEXT = DISCLAIMER  # 仅供参考，不替代临床判断

QUESTION_LABEL = "您的问题"
PLACEHOLDER = "请输入问题，例如：高血压患者多久随访一次？（按回车键提问）"
ASK_BUTTON = "提问"
CLEAR_BUTTON = "清空对话"
EXAMPLES_LABEL = "常见问题（点击即可提问）："
EXAMPLE_QUESTIONS = [
    "智医助理项目经费怎么分担？",
    "高血压患者多久随访一次？",
    "血糖低怎么处理？",
    "急会诊多久到场？",
    "什么情况要转上级医院？",
]

CATEGORY_FILTER_LABEL = "资料范围"
CATEGORY_FILTER_INFO = "只在勾选的类别中查找；全部不勾选时查找全部资料。"
CATEGORY_CHOICES = [(label, key) for key, label in CATEGORY_LABELS.items()]

WELCOME = "您好！请在下方输入问题，或点击常见问题。回答均摘自知识库中的文件，并附有出处，可点击 [1]、[2] 查看原文。"
YOU = "问"
ASSISTANT = "答"
THINKING = "正在查找资料，请稍候……"
CHECKING = "模型正在组织回答，每句核对原文后显示……"
LLM_BADGE = "模型组织语言 · 逐句已对照原文核对"
SOURCES = "来源"
SECTION = "章节"
FILE = "文件"
YEAR = "{year}年"
NO_YEAR = "年份不详"
FEEDBACK_UP = "有用"
FEEDBACK_DOWN = "有错"
FEEDBACK_PLACEHOLDER = "哪里不对？（可选，先写再点“有错”）"
FEEDBACK_THANKS = "已收到反馈，谢谢！"
FEEDBACK_FAILED = "反馈没有保存成功，请稍后再试。"
REFUSED_HINT = "知识库中没有可靠依据时，助理不作推测。"

INDEX_MISSING = (
    "知识库索引尚未建立，暂时无法回答问题。"
    "请管理员先运行 zhiyi ingest（或 make run）建立索引，然后刷新本页面。"
)
INDEX_READY = "知识库已就绪：{documents} 个文件，{chunks} 个段落。"
ERROR_ANSWER = "抱歉，回答这个问题时出错了，请稍后再试或换一种问法。如果反复出现，请联系管理员（错误类型：{kind}）。"
EMPTY_QUESTION = "请先输入问题。"

# Terminal output of `zhiyi serve`.
STARTING = "智医助理正在启动，正在载入知识库……"
STARTED = "智医助理已启动，请在浏览器中打开：{url}"
LAN_HINT = "同一局域网内的其他电脑可打开：{url}"
STOP_HINT = "按 Ctrl+C 停止服务。"
PORT_BUSY = "无法在 {host}:{port} 启动网页服务（{error}）。端口可能已被占用，请关闭占用该端口的程序，或用 --set port=其他端口 重新启动。"
ORIGINAL = "原文"
UNVERIFIED = "（未核实）"
UNVERIFIED_HINT = "此句未能对照原文核实，请以原文为准"

# The service (ui/server.py): LAN access and the APIs.
LAN_NEEDS_ACCOUNT = (
    "在 {host} 上提供服务（局域网可访问）需要先建立账号，否则任何人都能使用。请先运行：\n"
    "  zhiyi user add 用户名 --role admin     （管理员）\n"
    "  zhiyi user add 用户名 --role doctor    （医生）\n"
    "接口调用另需密钥：zhiyi apikey add 名称。只在本机使用时不必设置 ZHIYI_HOST。"
)
LOGIN_MESSAGE = "请输入管理员为您建立的账号和密码。"
API_DESCRIPTION = (
    "智医助理的接口：提问（/api/ask，与 `zhiyi ask --json` 相同的回答）、反馈（/api/feedback）、"
    "健康检查（/api/health），以及兼容 OpenAI 的 /v1/models 与 /v1/chat/completions（回答带 [n] 标记和来源，"
    "结构化引文在 citations 字段）。局域网上每个请求都需带 `Authorization: Bearer 密钥`（zhiyi apikey add 生成）。"
)
API_KEY_NEEDED = "需要接口密钥：请在请求头加上 Authorization: Bearer 密钥（管理员用 zhiyi apikey add 名称 生成）。"
FEEDBACK_NEEDS_ANSWER = "反馈需要 answer_id（/api/ask 返回的回答编号）或回答的文字 answer。"
FEEDBACK_UNKNOWN_ANSWER = "找不到这个 answer_id 对应的回答。"
CHAT_NEEDS_QUESTION = "消息里没有用户的问题（role 为 user 的消息）。"

# The knowledge-base page (admins).
CHAT_TAB = "问答"
KB_TAB = "知识库管理"
KB_ADMIN_ONLY = "只有管理员可以管理知识库。"
KB_DOCUMENTS = "已入库的文件"
KB_COLUMNS = ["文件", "标题", "类别", "年份", "段落数", "语言", "建索引时间", "入库问题"]
KB_UPLOAD_LABEL = "上传文件（txt、md、docx、pdf、html，单个不超过 20 MB）"
KB_UPLOAD_BUTTON = "上传并重建索引"
KB_CATEGORY_LABEL = "文件类别"
KB_YEAR_LABEL = "年份（可不填）"
KB_REMOVE_LABEL = "删除文件"
KB_REMOVE_BUTTON = "删除并重建索引"
KB_REBUILD_BUTTON = "重建索引"
KB_BAD_TYPE = "未接受 {name}：只支持 txt、md、docx、pdf、html 文件。"
KB_TOO_BIG = "未接受 {name}：文件过大（上限 {mb} MB）或无法读取。"
KB_ADDED = "已加入 {name}。"
KB_NO_SUCH_FILE = "没有这个文件：{name}"
KB_REMOVED = "已删除 {name}。"
KB_REBUILD_STARTED = "正在重建索引……重建期间旧索引照常回答问题。"
KB_REBUILDING = "正在重建索引"
KB_REBUILD_BUSY = "已有一次重建正在进行，请等它完成。"
KB_REBUILD_DONE = "索引已重建：{documents} 个文件，{chunks} 个段落，新索引已启用。"
KB_REBUILD_FAILED = "重建失败，旧索引继续使用：{error}"
KB_FILE_PROBLEM = "未能入库：{name}（{reason}）"
KB_SEARCH_LABEL = "检索测试：输入问题，查看检索到的段落和回答检查的结论"
KB_SEARCH_BUTTON = "检索"
KB_SEARCH_COLUMNS = ["名次", "融合分", "向量余弦", "文件", "章节", "段落开头"]
KB_VERDICT_ANSWERED = "会作答（可答性 {p:.2f}）。"
KB_VERDICT_REFUSED = "会拒答：由检查 {check} 拒答（{reason}）。"
KB_FEEDBACK = "最近标为“有错”的回答"
KB_FEEDBACK_COLUMNS = ["时间", "用户", "问题", "意见"]
KB_NO_FEEDBACK = "还没有标为“有错”的回答。"

# Handouts tab.
HANDOUT_TAB = "培训材料"
HANDOUT_TOPIC_LABEL = "讲义主题"
HANDOUT_TOPIC_PLACEHOLDER = "例如：高血压患者随访管理、糖尿病患者转诊、医疗质量安全核心制度"
HANDOUT_FORMAT_LABEL = "下载格式"
HANDOUT_BUTTON = "生成讲义"
HANDOUT_DOWNLOAD = "下载讲义"
HANDOUT_HEADING = "### 讲义"
QUIZ_HEADING = "### 题库"
QUIZ_TOPIC_LABEL = "出题主题"
QUIZ_TOPIC_PLACEHOLDER = "例如：糖尿病、高血压、医疗质量安全核心制度"
QUIZ_COUNT_LABEL = "题目数"
QUIZ_TYPES_LABEL = "题型"
QUIZ_TYPE_CHOICES = [("单选题", "single"), ("多选题", "multi"), ("判断题", "judge"), ("填空题", "fill")]
QUIZ_SEED_LABEL = "随机种子（同一种子出同一套题）"
QUIZ_FORMAT_LABEL = "下载格式"
QUIZ_FORMAT_CHOICES = [("Excel（考试系统导入）", ".xlsx"), ("Word（打印）", ".docx"), ("JSON（评测）", ".json")]
QUIZ_BUTTON = "生成题库"
QUIZ_DOWNLOAD = "下载题库"
QUIZ_NO_TYPES = "请至少选择一种题型。"
