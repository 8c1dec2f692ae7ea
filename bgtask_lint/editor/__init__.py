"""The editor: `bgtask-lint server`, a language server over the public API.

session.py holds what the server knows of the open documents and answers for
them in plain values (no protocol types); entries.py is the one question it
asks the model (where a route queues a task reported elsewhere);
protocol.py turns findings and edits into LSP values; server.py wires
pygls to the session. Only server.py and protocol.py import pygls and
lsprotocol, the `lsp` extra, and only when the server starts.
"""
