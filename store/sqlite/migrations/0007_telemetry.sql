-- Telemetry (issue 13): sensors, the raw archive and the series.
-- IF NOT EXISTS: the migration tests run the migrations from 4 on again.
-- Keep in step with store/postgres/migrations/0007_telemetry.sql.
--
-- The layout was chosen by measurement, 1000 interleaved sensors, batches
-- of 1000 readings (temp and batt), 2 cores at load average 12 to 25
-- (absolute rates are the machine's share, compare them with each other):
--
--   layout of the series (raw archive beside it)    readings/s  bytes/reading
--   one row per reading, a column per metric   (a)       9,770          116.7
--   one row per metric, (sensor, metric, time)           4,904          140.3
--   (a) with multi-row statements of 100 rows           12,605          116.3
--   raw archive alone, no series                        24,504           87.0
--
-- So: one row per reading, a column per metric (NULL when absent), keyed
-- (sensor, time) WITHOUT ROWID; the raw archive an append-only rowid table
-- (rowid = insertion order) with (device, seq) unique and (sensor, id)
-- for replay. Profiling AddReadings then found, per CPU-second:
--   $N placeholders: modernc binds each by name, quadratic in a
--     1000-placeholder statement (28 % of CPU): ? placeholders;
--   statement journals (46 % of the bytes written): INSERT/UPDATE OR
--     IGNORE cannot abort, so SQLite keeps none; temp_store = MEMORY;
--   the writer's cache 64 MiB, wal_autocheckpoint 16384 pages.
-- Result (BenchmarkTelemetry in store/sqlite, CPU from -cpuprofile):
--   batches of 1000 readings, 300k stored: 34,000 readings per CPU-second
--   batches of 10,000 readings, 1M stored: 58,000 readings per CPU-second
--   disk: 117 bytes per stored reading (series + raw + indexes), 1M stored.
-- What remains is one B-tree page per sensor and per sensor-ordered index
-- written at each commit (series, raw_readings_sensor): the cost per
-- reading falls as a call carries more readings per sensor, so the ingest
-- should give AddReadings several bus batches at once.

-- A sensor's id is unique across the store: a reading naming another
-- workspace's sensor is recognised as such. latest_* hold the newest
-- value of each metric and its time, moved forward by AddReadings.
CREATE TABLE IF NOT EXISTS sensors (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    owner        TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT '',
    contact      TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
    secret_hash  TEXT NOT NULL, -- pbkdf2-sha256$ITER$SALT$KEY
    created      INTEGER NOT NULL,
    last_seen    INTEGER,
    temp         REAL,
    temp_time    INTEGER,
    batt         REAL,
    batt_time    INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS sensors_workspace ON sensors (workspace_id, id);

CREATE TABLE IF NOT EXISTS telemetry_settings (
    workspace_id  TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    retention     INTEGER NOT NULL, -- seconds
    auto_register INTEGER NOT NULL CHECK (auto_register IN (0, 1))
) STRICT;

-- The devices that relayed readings, numbered so that each archived
-- reading holds a small integer rather than the device's 26-letter id.
CREATE TABLE IF NOT EXISTS telemetry_devices (
    n  INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE
) STRICT;

-- The series: one row per sensor and time, a column per metric (NULL when
-- the reading did not carry it). No foreign key: AddReadings trusts its
-- caller, and DeleteSensor and PruneReadings remove the rows.
CREATE TABLE IF NOT EXISTS series (
    sensor INTEGER NOT NULL,
    time   INTEGER NOT NULL,
    temp   REAL,
    batt   REAL,
    PRIMARY KEY (sensor, time)
) STRICT, WITHOUT ROWID;

-- The raw archive: id is the insertion order; (device, seq) is unique so
-- that a reading delivered twice is archived once.
CREATE TABLE IF NOT EXISTS raw_readings (
    id       INTEGER PRIMARY KEY,
    sensor   INTEGER NOT NULL,
    device   INTEGER NOT NULL, -- telemetry_devices.n
    seq      INTEGER NOT NULL, -- the uint64 bits
    time     INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    stored   INTEGER NOT NULL,
    sent     INTEGER NOT NULL DEFAULT 0, -- unix ms the sensor sent, when replaced
    replaced INTEGER NOT NULL DEFAULT 0 CHECK (replaced IN (0, 1)),
    temp     REAL,
    batt     REAL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS raw_readings_seq ON raw_readings (device, seq);
CREATE INDEX IF NOT EXISTS raw_readings_sensor ON raw_readings (sensor, id);
