-- Attesta's tables, version 1. Times are Unix nanoseconds (INT8), 0 for
-- none; ids and hashes are raw bytes. Secrets (tokens, sessions, codes,
-- identifiers) are stored only as hashes: see the package documentation.
-- Every statement is idempotent (IF NOT EXISTS), so that a migration cut
-- short, or run twice (CockroachDB commits DDL one statement at a time),
-- does no harm. Statements end with a semicolon at the end of a line.

CREATE TABLE IF NOT EXISTS apps (
	name       TEXT  PRIMARY KEY,
	token_hash BYTEA NOT NULL UNIQUE,
	created    INT8  NOT NULL,
	revoked    INT8  NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS bans (
	key_id BYTEA PRIMARY KEY,
	banned INT8  NOT NULL
);

CREATE TABLE IF NOT EXISTS used_tokens (
	token_hash BYTEA PRIMARY KEY,
	expires    INT8  NOT NULL
);
CREATE INDEX IF NOT EXISTS used_tokens_expires ON used_tokens (expires);

CREATE TABLE IF NOT EXISTS parties (
	party_id BYTEA PRIMARY KEY,
	created  INT8  NOT NULL
);

-- A party's keys and the key index in one: a key belongs to one party.
-- No foreign key to parties: the redemption that makes both is one
-- transaction, and a foreign key check is a read of parties that makes
-- concurrent first connects fail to serialize (see redeem.go).
CREATE TABLE IF NOT EXISTS party_keys (
	key_id   BYTEA PRIMARY KEY,
	party_id BYTEA NOT NULL,
	key_type INT2  NOT NULL,
	added    INT8  NOT NULL
);
CREATE INDEX IF NOT EXISTS party_keys_party ON party_keys (party_id);

CREATE TABLE IF NOT EXISTS sessions (
	session_hash BYTEA PRIMARY KEY,
	party_id     BYTEA NOT NULL,
	key_id       BYTEA NOT NULL,
	app          TEXT  NOT NULL,
	expires      INT8  NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);

-- Active and released (quarantined) identifiers; quarantine is 0 while
-- active, else the end of the release's quarantine.
CREATE TABLE IF NOT EXISTS identifiers (
	ident_hash BYTEA PRIMARY KEY,
	party_id   BYTEA NOT NULL,
	kind       TEXT  NOT NULL,
	hint       TEXT  NOT NULL,
	added      INT8  NOT NULL,
	quarantine INT8  NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS identifiers_party ON identifiers (party_id);

CREATE TABLE IF NOT EXISTS verifications (
	party_id   BYTEA NOT NULL,
	ident_hash BYTEA NOT NULL,
	kind       TEXT  NOT NULL,
	hint       TEXT  NOT NULL,
	code_hash  BYTEA NOT NULL,
	expires    INT8  NOT NULL,
	tries      INT4  NOT NULL DEFAULT 0,
	PRIMARY KEY (party_id, ident_hash)
);

CREATE TABLE IF NOT EXISTS registries (
	party_id   BYTEA PRIMARY KEY,
	version    INT8  NOT NULL,
	block_data BYTEA NOT NULL
);

-- Budgets (attesta.Limit: the time each is full again) and used-once
-- marks, under keyed hashes of what they count.
CREATE TABLE IF NOT EXISTS budgets (
	budget_key BYTEA PRIMARY KEY,
	tat        INT8  NOT NULL
);
CREATE INDEX IF NOT EXISTS budgets_tat ON budgets (tat);

CREATE TABLE IF NOT EXISTS once_marks (
	once_key BYTEA PRIMARY KEY,
	expires  INT8  NOT NULL
);
CREATE INDEX IF NOT EXISTS once_marks_expires ON once_marks (expires);
