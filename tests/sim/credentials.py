"""credentials.py - the simulator's fixed test credentials, in one place.

rcsim.py takes them as its defaults (each can be overridden: --client-secret ...), and
tests/integration/harness.py configures the plugin with them (SIM_CREDENTIALS). They are
test values for the local simulator only."""

SIM_CREDENTIALS = {
    "client_id": "sim-client-id",
    "client_secret": "sim-client-secret-0123456789",
    "jwt": "eyJhbGciOiJSUzI1NiJ9.sim-jwt-payload.sim-jwt-signature",
    "username": "+15551230000",
    "extension": "101",
    "password": "sim-password-9876",
}
