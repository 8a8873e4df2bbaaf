"""The loop daemon: iteration state machine, agents, guard, keep policy, git record, scheduler."""
