"""`make bench`: run every benchmark in turn."""

from __future__ import annotations

from bench import telegram_bench


def main() -> None:
    telegram_bench.main()


if __name__ == "__main__":
    main()
