-- Run once, when the PostgreSQL volume is first created: the databases of MLflow's tracking store and
-- of the Dagster instance, beside the app database (POSTGRES_DB) and owned by the same user.
CREATE DATABASE mlflow;
CREATE DATABASE dagster;
