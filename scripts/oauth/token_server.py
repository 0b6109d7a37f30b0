"""An OAuth 2.1 authorization server nobody here wrote: Authlib's (PyPI `authlib`, on Flask)
client credentials grant (RFC 6749 section 4.4) and token introspection (RFC 7662), for
harness/cli/tests/oauth_authlib.rs. Authlib parses the grant, authenticates the client
(client_secret_basic or client_secret_post) and answers errors; this file only declares the
clients and keeps the tokens in memory.

    python token_server.py CLIENTS_JSON LIFETIME_SECONDS

CLIENTS_JSON: [{"id": ..., "secret": ..., "scope": "a b", "auth": "client_secret_basic"}];
a client whose scope is "introspect" may introspect any token (the resource server).
Serves on 127.0.0.1 at a free port and prints `listening PORT` once ready.
`GET /stats` answers the tokens issued per client.
"""

import json
import secrets
import sys
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, jsonify
from werkzeug.serving import make_server


class Client(ClientMixin):
    def __init__(self, spec):
        self.client_id = spec["id"]
        self.secret = spec["secret"]
        self.scope = spec.get("scope", "")
        self.auth = spec.get("auth", "client_secret_basic")

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == self.auth

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials" and "introspect" not in self.scope


class Token(TokenMixin):
    def __init__(self, client_id, data):
        self.client_id = client_id
        self.data = data
        self.issued_at = time.time()

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.data.get("scope", "")

    def get_expires_in(self):
        return self.data.get("expires_in", 0)

    def is_expired(self):
        return time.time() >= self.issued_at + self.get_expires_in()

    def is_revoked(self):
        return False


def main():
    clients = {c["id"]: Client(c) for c in json.loads(sys.argv[1])}
    lifetime = int(sys.argv[2])
    tokens = {}
    issued = {}
    lock = threading.Lock()

    def save_token(data, request):
        with lock:
            tokens[data["access_token"]] = Token(request.client.get_client_id(), data)
            issued[request.client.get_client_id()] = issued.get(request.client.get_client_id(), 0) + 1

    class Introspection(IntrospectionEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic"]

        def query_token(self, token, token_type_hint):
            with lock:
                return tokens.get(token)

        def introspect_token(self, token):
            return {
                "active": True,
                "client_id": token.client_id,
                "token_type": "Bearer",
                "scope": token.get_scope(),
                "exp": int(token.issued_at + token.get_expires_in()),
            }

        def check_permission(self, token, client, request):
            return "introspect" in client.scope.split()

    app = Flask("token_server")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": lifetime}
    # A scope no client has is refused (invalid_scope).
    app.config["OAUTH2_SCOPES_SUPPORTED"] = sorted(
        {s for c in clients.values() for s in c.scope.split()} - {"introspect"}
    )
    server = AuthorizationServer(app, query_client=clients.get, save_token=save_token)
    grant = grants.ClientCredentialsGrant
    grant.TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    server.register_grant(grant)
    server.register_endpoint(Introspection)

    @app.post("/oauth/token")
    def token():
        return server.create_token_response()

    @app.post("/oauth/introspect")
    def introspect():
        return server.create_endpoint_response("introspection")

    @app.get("/stats")
    def stats():
        with lock:
            return jsonify({"issued": dict(issued)})

    http = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening {http.server_port}", flush=True)
    http.serve_forever()


if __name__ == "__main__":
    main()
