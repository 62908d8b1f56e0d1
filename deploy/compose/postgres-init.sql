-- Runs once, when the PostgreSQL container starts on an empty data volume
-- (/docker-entrypoint-initdb.d), as POSTGRES_USER, who owns the databases.
-- The services would also create their database on first start; creating them here lets
-- the database user do without CREATEDB.
CREATE DATABASE entitle_ingress;
CREATE DATABASE entitle_licensing;
CREATE DATABASE entitle_maintenance;
CREATE DATABASE entitle_ticketing;
CREATE DATABASE entitle_notification;
CREATE DATABASE entitle_portal;
