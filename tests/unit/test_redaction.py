import logging

from progress_card.redaction import Redactor, secrets_from

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACBfakefakefake\n-----END OPENSSH PRIVATE KEY-----\n"


def test_tokens_and_every_line_of_a_key_become_stars() -> None:
    redact = Redactor(["hf_abcdefghijklmnop", KEY, "short"])
    text = "token hf_abcdefghijklmnop; key line QyNTUxOQAAACBfakefakefake; a short word"
    assert redact(text) == "token ***; key line ***; a short word"


def test_log_records_are_redacted_while_guarded() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep()
    logger = logging.getLogger("test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    with Redactor(["hf_abcdefghijklmnop"]).guarding([handler]):
        logger.warning("server said %s", "bad token hf_abcdefghijklmnop")
    logger.warning("after: %s", "hf_abcdefghijklmnop")
    logger.removeHandler(handler)
    assert records == ["server said bad token ***", "after: hf_abcdefghijklmnop"]


def test_secrets_come_from_the_token_variables_and_the_key_variables() -> None:
    environ = {
        "HF_TOKEN": "hf_one",
        "SSH_PRIVATE_KEY": KEY,
        "CLUSTER_KEY": "other-key-material",
        "PATH": "/bin",
    }
    found = secrets_from(environ, ["CLUSTER_KEY"])
    assert "hf_one" in found and KEY in found and "other-key-material" in found and "/bin" not in found
