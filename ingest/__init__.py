"""Documents → clean text → chunks → index. The only writer of the index."""


def build_index(*args, **kwargs):
    from ingest.index import build_index as _build

    return _build(*args, **kwargs)


__all__ = ["build_index"]
