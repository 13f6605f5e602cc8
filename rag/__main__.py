"""`python -m rag COMMAND ...`: the same command line as `coldwar-rag` (see rag/cli.py), e.g.

    python -m rag search "What did Zhou Enlai say about the test ban?" --k 5
"""

import sys

from rag.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m rag"))
