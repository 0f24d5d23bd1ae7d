import gc

gc.disable()  # (see cli_run.main)
from newsmirror.cli_run import main  # noqa: E402

main()
