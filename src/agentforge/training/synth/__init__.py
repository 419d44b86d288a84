"""Data synthesis: coding tasks from real packages (swe/) and tool-use conversations (tools/)."""
