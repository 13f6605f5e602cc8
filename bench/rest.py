"""REST: warm `GET /api/search` p50 over HTTP (one keep-alive connection) against `python app.py` in a subprocess.

    python bench/rest.py [--repeats 3] [--quick] [--index DIR]

Floor: in-process `Retriever.search` p50 on the same questions and index, in this process, interleaved question
by question with the REST calls (the server idles meanwhile): the search itself, without HTTP, JSON or the
server's threads. Target: REST p50 ≤ floor +
5 ms. Then (informational) the chat's Gradio `/search` endpoint through gradio_client, whose queue protocol
is the reason the REST API exists.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.served_app import (  # noqa: E402
    Row,
    ensure_index,
    gradio_client,
    ms,
    percentile,
    print_table,
    question_passes,
    rest_url,
    served_app,
    timed,
)


def main(argv: list[str] | None = None) -> int:
    args, asked, repeats = question_passes(__doc__, argv)

    import httpx

    from rag import Retriever

    index = ensure_index(args.index)
    with served_app(index) as server:
        retriever = Retriever.load(index)
        with httpx.Client(timeout=60) as http:  # one keep-alive connection
            def get(question: str) -> None:
                http.get(rest_url(server.url, question)).raise_for_status()
            times = timed({"in-process": retriever.search, "rest": get}, asked, repeats)
        floor, rest = percentile(times["in-process"], 0.5), times["rest"]
        client = gradio_client(server.url)
        gradio = timed({"gradio": lambda q: client.predict(q, api_name="/search")}, asked[:10], 1)["gradio"]
    r50 = percentile(rest, 0.5)
    rows = [Row("GET /api/search p50 (HTTP, keep-alive)", ms(r50), f"{ms(floor)} (Retriever.search p50)",
                f"{(r50 - floor) * 1000:+.1f} ms", "≤ floor + 5 ms", r50 <= floor + 0.005),
            Row("GET /api/search p95", ms(percentile(rest, 0.95))),
            Row("Gradio /search p50 (gradio_client)", ms(percentile(gradio, 0.5)), f"{ms(r50)} (REST p50)",
                f"{percentile(gradio, 0.5) / r50:.1f}x")]
    print_table(f"REST: {len(asked)} eval questions x {repeats} (Gradio: {min(10, len(asked))} x 1), warm",
                rows, notes=("floor: the same search in this process (no HTTP), interleaved question by question "
                             "with the REST calls; the REST ratio column is the difference.",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
