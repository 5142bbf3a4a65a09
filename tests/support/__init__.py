"""Helpers shared by every test tier: free ports, processes torn down by PID, waiting."""
