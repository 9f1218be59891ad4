"""zhiyi assistant: retrieve → answer → cite, over the index that `ingest` writes.

The public API is deliberately tiny::

    from assistant import Assistant
    answer = Assistant().ask("智医助理项目经费怎么分担?")
"""

from assistant.config import Settings, load_settings
from assistant.models import Answer, AnswerSentence, Chunk, Citation

__all__ = ["Answer", "AnswerSentence", "Assistant", "Chunk", "Citation", "Settings", "load_settings"]


def __getattr__(name):
    # The pipeline pulls in the embedding engine and Chroma; keep `import assistant`
    # cheap for the CLI's help and for config-only callers.
    if name == "Assistant":
        from assistant.pipeline import Assistant

        return Assistant
    raise AttributeError(name)
