"""Scheduled retraining: job declarations (schedules/jobs.yml), Cloud Scheduler deployment, the
retraining run (lock, drift gate, dbt, promotion, run record) and the local cron runner."""
