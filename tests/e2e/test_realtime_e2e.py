"""WebSocket delivery through the local runtime: $connect authorization, live new tweets (ordinary and celebrity
authors), live notifications, ping/pong, and the @connections management endpoint that boto3 calls."""

import json
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from support.runtime import LocalStack, eventually, receive


def uname(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("query", ["", "?token=", "?token=forged.token.value"])
def test_connect_without_a_valid_token_is_refused(runtime: LocalStack, query: str) -> None:
    with pytest.raises(InvalidStatus) as err:
        connect(f"{runtime.ws_url}/{query}", open_timeout=5)
    assert err.value.response.status_code == 401


def test_ping_pong(runtime: LocalStack) -> None:
    with runtime.user(uname()).socket() as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert receive(ws, "pong") == {"type": "pong"}
        ws.send("not json")
        assert receive(ws, "error")["error"]["code"] == "malformed_message"


def test_followers_receive_new_tweets_live(runtime: LocalStack) -> None:
    author, follower, stranger = runtime.user(uname("a")), runtime.user(uname("f")), runtime.user(uname("s"))
    follower.follow(author.username)
    with follower.socket() as ws, stranger.socket() as other:
        posted = author.tweet("live over the socket")
        message = receive(ws, "new_tweet")
        assert message["tweet"]["tweet_id"] == posted["tweet_id"]
        assert message["tweet"]["content"] == "live over the socket"
        with pytest.raises(TimeoutError):
            other.recv(timeout=0.5)


def test_celebrity_followers_receive_tweets_live(celebrity_runtime: LocalStack) -> None:
    celeb = celebrity_runtime.user(uname("c"))
    fans = [celebrity_runtime.user(uname("f")) for _ in range(3)]
    for fan in fans:
        fan.follow(celeb.username)
    with fans[0].socket() as ws:
        posted = celeb.tweet("hello all my fans")
        assert receive(ws, "new_tweet")["tweet"]["tweet_id"] == posted["tweet_id"]


def test_notifications_arrive_live(runtime: LocalStack) -> None:
    alice, bob = runtime.user(uname("a")), runtime.user(uname("b"))
    with alice.socket() as ws:
        bob.follow(alice.username)
        message = receive(ws, "notification")
        assert message["notification"]["type"] == "follow"
        assert message["notification"]["actor"]["username"] == bob.username
        assert message["unread_count"] == 1


def test_management_endpoint_speaks_the_api_gateway_protocol(runtime: LocalStack) -> None:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"http://127.0.0.1:{runtime.ws_port}/local",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with pytest.raises(ClientError) as err:
        client.post_to_connection(ConnectionId="nobody", Data=b"{}")
    assert err.value.response["Error"]["Code"] == "GoneException"


def test_a_closed_socket_stops_receiving_and_is_cleaned_up(runtime: LocalStack) -> None:
    author, follower = runtime.user(uname("a")), runtime.user(uname("f"))
    follower.follow(author.username)
    with follower.socket():
        pass
    author.tweet("nobody is listening")  # the push finds the connection gone; nothing fails
    with follower.socket() as again:
        posted = author.tweet("but now someone is")
        eventually(lambda: receive(again, "new_tweet", timeout=10)["tweet"]["tweet_id"] == posted["tweet_id"])
