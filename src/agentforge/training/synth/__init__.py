"""Data synthesis: coding tasks from real packages (swe/); tool-use data later."""
