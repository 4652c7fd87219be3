"""`make bench`: run every benchmark in turn."""

from __future__ import annotations

from bench import faq_bench, startup_bench


def main() -> None:
    faq_bench.main()
    startup_bench.main()


if __name__ == "__main__":
    main()
