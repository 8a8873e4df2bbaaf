"""Research agents: the interface (base.py), the Optuna sweep and the Claude Code agent."""
