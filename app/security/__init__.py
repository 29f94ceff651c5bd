"""Security without a web framework: who is calling (API keys, JWT bearer tokens), what they may do
(scopes), how often (rate limits), and where the hub may send events (network policy).

The doors only translate: rest/auth.py (Litestar middleware) and resolvers/auth.py (Strawberry) call
`Authenticator.authenticate` and `Principal.require`, and map the errors below to their wire forms.
"""
