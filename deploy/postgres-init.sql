-- Runs once, when the PostgreSQL volume is first created: one database per service.
CREATE DATABASE tokenpair_resource OWNER tokenpair;
