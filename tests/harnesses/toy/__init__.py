"""A third harness as a new one is added: this folder (a Harness and its
options) plus one registration, which the test does with monkeypatch."""
