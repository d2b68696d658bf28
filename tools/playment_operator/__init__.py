"""Operating a deployed stack through the AWS APIs: its executions, starting and following one."""
