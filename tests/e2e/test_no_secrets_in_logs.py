"""Nothing secret reaches the logs: a full scenario runs with DEBUG logging, then the runtime's log is searched for
the passwords, the issued tokens and the signing key."""

from pathlib import Path

from support.runtime import LocalStack, eventually, receive


def test_logs_hold_no_passwords_tokens_or_keys(tmp_path: Path, stack_env: dict[str, str]) -> None:
    stack = LocalStack(tmp_path / "data", {**stack_env, "POWERTOOLS_LOG_LEVEL": "DEBUG"}).start()
    try:
        alice = stack.user("alice_logs", password="alice-secret-pw-1")
        bob = stack.user("bob_logs", password="bob-secret-pw-22")
        bob.follow("alice_logs")
        login = stack.client().post("/auth/login", {"username": "alice_logs", "password": "alice-secret-pw-1"})
        assert login.status_code == 200
        stack.client().post("/auth/login", {"username": "alice_logs", "password": "wrong-secret-pw-333"})
        with bob.socket() as ws:
            alice.tweet("a logged scenario #logs")
            receive(ws, "new_tweet")
        eventually(lambda: bob.get("/search", q="#logs").json()["tweets"])
        secrets = [
            "alice-secret-pw-1",
            "bob-secret-pw-22",
            "wrong-secret-pw-333",
            alice.token,
            bob.token,
            login.json()["token"],
            (stack.data_dir / "jwt.key").read_text().strip(),
        ]
    finally:
        stack.stop()
    log = stack.log.read_text()
    assert len(log) > 0
    for secret in secrets:
        assert secret not in log
        assert secret.split(".")[-1] not in log  # not even a token's signature
