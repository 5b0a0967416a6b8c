"""Stage 5, observation: probes, checks, explain and status of a running lab. Checks only observe."""
