-- Idlewatch's cluster store on PostgreSQL, schema 2: the minute and day tiers, deletions and
-- snapshot counts.
--
-- Aging (run by the server holding the cluster's lead) folds each host's snapshots captured
-- before `[retention] snapshots` into one row of minutes per host-hour (the redb store's hour
-- blocks, byte for byte), builds a day row per host-day folded whole, and moves the host's
-- `detail_from` forward in the same transaction: before it a host's time is read from these
-- rows, from it on from its snapshots, so every moment counts once. Day partitions of
-- snapshots that every host has folded are then dropped; minute rows older than
-- `[retention] minutes` are deleted a day at a time; day rows stay until deleted by hand.

-- Where the host's snapshots start to count (epoch ms); NULL while nothing of it has aged.
ALTER TABLE hosts ADD COLUMN detail_from bigint;

-- Bumped in each transaction that deletes some of the host's snapshots: a writer that finds it
-- changed since its last record of the host starts the host's next record as a keyframe,
-- never a delta on a deleted record.
ALTER TABLE hosts ADD COLUMN deletions integer NOT NULL DEFAULT 0;

-- The same for every host at once: bumped in each transaction that drops a day partition.
CREATE TABLE partition_drops (n bigint NOT NULL);
INSERT INTO partition_drops VALUES (0);

CREATE TABLE minutes (
    host_id integer NOT NULL REFERENCES hosts (id),
    -- The hour's start, epoch ms.
    hour_ms bigint NOT NULL,
    -- The hour's minutes (idlewatch_format::minutes::HourBlock).
    block bytea NOT NULL,
    PRIMARY KEY (host_id, hour_ms)
);

-- Trimming deletes the minute rows of one day of every host at a time.
CREATE INDEX minutes_hour ON minutes (hour_ms);

CREATE TABLE days (
    host_id integer NOT NULL REFERENCES hosts (id),
    -- The UTC day's start, epoch ms.
    day_ms bigint NOT NULL,
    -- The day's hours (idlewatch_format::days::DayBlock).
    block bytea NOT NULL,
    PRIMARY KEY (host_id, day_ms)
);

-- Snapshots stored per UTC day (days since 1970-01-01) and writing connection, kept by the
-- transactions that store, delete or drop them: the store's count is their sum, read without
-- counting rows. Counted once here for what schema 1 stored.
CREATE TABLE snapshot_counts (
    day bigint NOT NULL,
    writer integer NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (day, writer)
);
INSERT INTO snapshot_counts (day, writer, n)
    SELECT floor(captured_ms / 86400000.0)::bigint, 0, count(*) FROM snapshots GROUP BY 1;
