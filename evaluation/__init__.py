"""Evaluation of the assistant on question sets (``zhiyi eval``).

Items go through the same ``Assistant.ask`` that users call, so what is measured is what
users get. Modules: items (reading JSONL), runner (index + asking), metrics (scoring),
table / report (showing), history (saving runs), cli (the command).
"""
