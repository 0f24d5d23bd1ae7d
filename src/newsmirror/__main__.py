import gc
import sys

# ``python -m newsmirror`` is a whole process of ours: skip optional imports no
# command uses, which every run would pay for at start. httpcore imports trio
# for trio support (newsmirror runs on asyncio); httpx imports its own
# command-line tool (click, rich, pygments) when those are installed.
for _unused in ("trio", "httpx._main"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]

# Importing makes many long-lived objects and little garbage: no collector passes
# meanwhile (about a sixth of the import time), and the modules' objects are kept
# out of later passes.
gc.disable()
from newsmirror.cli_run import RunArgs, fast_args, fast_run  # noqa: E402

fast = fast_args(sys.argv[1:])  # a plain `run` or `build` needs no Typer (cli_run.py)
if isinstance(fast, RunArgs):
    import newsmirror.pipeline  # noqa: E402, F401  (imported with the collector off)
elif fast is not None:
    import newsmirror.site  # noqa: E402, F401
gc.freeze()
gc.enable()
fast_run(sys.argv[1:])  # exits when it was one of those
gc.disable()
from newsmirror.cli import main  # noqa: E402

gc.freeze()
gc.enable()
main()
