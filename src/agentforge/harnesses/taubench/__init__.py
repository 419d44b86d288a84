"""τ²-bench (retail, airline, telecom): the official package's tasks, tools, user simulator and evaluator."""
