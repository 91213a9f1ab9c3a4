"""Sign up and log in (public routes)."""

from typing import Any

from chirp import api_models as api
from chirp.api_models import LoginRequest, SignupRequest
from chirp.container import get_container
from chirp.http import RestApp, created

app = RestApp("auth")


@app.operation("signup")
def signup() -> Any:
    body = app.body(SignupRequest)
    return created(
        get_container().auth.signup(
            username=body.username,
            email=body.email,
            password=body.password,
            display_name=body.display_name,
            source_ip=app.source_ip(),
        )
    )


@app.operation("login")
def login() -> api.Login:
    body = app.body(LoginRequest)
    return get_container().auth.login(username=body.username, password=body.password, source_ip=app.source_ip())


app.bind()
handler = app.handler
