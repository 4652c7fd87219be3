"""Bot tokens never reach a stored, logged or shown error text."""

from __future__ import annotations

import logging

import pytest

from handlers.pii import MaskingFilter
from handlers.secrets import add_secret, error_text, redact

URL = "https://api.telegram.org/file/bot123456:ABCdefGHIjklMNOpqrSTUvwx_yz-0123/documents/f.pdf"


def test_a_token_in_a_url_is_hidden_whatever_its_value() -> None:
    assert redact(f"404, message='Not Found', url='{URL}'") == (
        "404, message='Not Found', url='https://api.telegram.org/file/bot[token]/documents/f.pdf'")
    assert redact("no secret here: 12:30, bot 5") == "no secret here: 12:30, bot 5"


def test_a_configured_secret_is_hidden_even_when_short_of_the_pattern() -> None:
    add_secret("777:short-test-secret")
    assert redact("GET /bot777:short-test-secret/getMe failed") == "GET /bot[token]/getMe failed"
    assert error_text(ValueError("vk access_token=777:short-test-secret")) == (
        "ValueError: vk access_token=[token]")
    add_secret("")  # an unset token hides nothing
    assert redact("x") == "x"


def test_the_log_filter_hides_tokens_in_messages_and_tracebacks(
        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.secrets")
    logger.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.secrets"):
            logger.warning("download failed: %s", URL)
            try:
                raise OSError(URL)
            except OSError:
                logger.exception("failed")
    finally:
        logger.filters.clear()
    assert "ABCdef" not in caplog.records[0].getMessage()
    assert caplog.records[1].exc_text and "bot[token]" in caplog.records[1].exc_text
    assert "ABCdef" not in caplog.text


def test_a_secret_named_in_a_body_or_a_query_is_hidden_whatever_its_value() -> None:
    body = '{"group_id": 200000001, "type": "message_new", "secret": "any_value-1"}'
    assert redact(body) == '{"group_id": 200000001, "type": "message_new", "secret": "[token]"}'
    assert redact('{"type": "message_new", "secret": "cut-of') == (
        '{"type": "message_new", "secret": "[token]')
    assert redact("https://api.vk.ru/method/users.get?access_token=vk1.a.x-Y&v=5.199") == (
        "https://api.vk.ru/method/users.get?access_token=[token]&v=5.199")
    assert redact("{'key': 'abc123', 'server': 'https://lp.vk.ru/wh1'}") == (
        "{'key': '[token]', 'server': 'https://lp.vk.ru/wh1'}")
    assert redact("the secret of success, key points") == "the secret of success, key points"
