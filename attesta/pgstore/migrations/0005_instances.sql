-- Application instances, their entitlements and the service-key vault
-- (attesta/instance.go, entitlements.go, vault.go). Idempotent, as every
-- migration (see 0001_init.sql).

-- The keys instances connect with: the party is an instance of app, and
-- service keys are encrypted to public_key (a packed public key, public).
CREATE TABLE IF NOT EXISTS instance_keys (
	app        TEXT  NOT NULL,
	party_id   BYTEA NOT NULL,
	key_id     BYTEA NOT NULL,
	public_key BYTEA NOT NULL,
	added      INT8  NOT NULL,
	PRIMARY KEY (app, party_id, key_id)
);

-- The store-backed entitlement list.
CREATE TABLE IF NOT EXISTS entitlements (
	app      TEXT  NOT NULL,
	party_id BYTEA NOT NULL,
	granted  INT8  NOT NULL,
	PRIMARY KEY (app, party_id)
);

-- Service keys, sealed under a key derived from the server secret (never
-- in clear): the current version of each application's key for a
-- provider.
CREATE TABLE IF NOT EXISTS service_keys (
	app      TEXT  NOT NULL,
	provider TEXT  NOT NULL,
	version  INT8  NOT NULL,
	sealed   BYTEA NOT NULL,
	updated  INT8  NOT NULL,
	PRIMARY KEY (app, provider)
);
