"""The endpoint: `agent serve`'s OpenAI-compatible server, replica pools, API keys,
and the virtual best-of-N / DeepConf / router models it serves over the runtime's backends."""
