-- Orleans 10.4.2 ADO.NET clustering + grain persistence schema for PostgreSQL (15+).
--
-- Written for Roxy against the query contract of Microsoft.Orleans.Clustering.AdoNet and
-- Microsoft.Orleans.Persistence.AdoNet 10.4.2 (the NuGet packages ship no SQL). The providers
-- only ever run `SELECT QueryKey, QueryText FROM OrleansQuery` and then the stored texts below,
-- binding parameters by name (@DeploymentId, @GrainIdHash, ...) and reading result columns by name.
-- Column/parameter names are therefore the contract; everything else is ours to tune.
--
-- The script is idempotent and runs inside one transaction under an advisory lock
-- (see PostgresSchema.EnsureAsync): IF NOT EXISTS for tables/indexes, CREATE OR REPLACE for
-- functions and upserted query texts, so a newer Roxy can fix a query on an existing database.
-- Do not put BEGIN/COMMIT here.

-- ---------------------------------------------------------------------------------------------
-- Shared: the query catalog the providers load at startup.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);

-- ---------------------------------------------------------------------------------------------
-- Clustering (membership + gateway list).
-- ---------------------------------------------------------------------------------------------

-- One row per cluster (DeploymentId = ClusterId); Version is the membership table's etag.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,

    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation. timestamptz because Npgsql sends UTC DateTime as timestamptz;
-- plain timestamp would silently shift by the session time zone.
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,

    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- Heartbeats never move IAmAliveTime backwards (a delayed heartbeat must not make a silo look staler).
CREATE OR REPLACE FUNCTION roxy_orleans_update_i_am_alive_time(
    DeploymentIdArg OrleansMembershipTable.DeploymentId%TYPE,
    AddressArg      OrleansMembershipTable.Address%TYPE,
    PortArg         OrleansMembershipTable.Port%TYPE,
    GenerationArg   OrleansMembershipTable.Generation%TYPE,
    IAmAliveTimeArg OrleansMembershipTable.IAmAliveTime%TYPE)
    RETURNS void
    LANGUAGE plpgsql
AS $func$
BEGIN
    UPDATE OrleansMembershipTable AS m
    SET IAmAliveTime = GREATEST(m.IAmAliveTime, IAmAliveTimeArg)
    WHERE m.DeploymentId = DeploymentIdArg
      AND m.Address = AddressArg
      AND m.Port = PortArg
      AND m.Generation = GenerationArg;
END
$func$;

-- Returns 1 when this call created the version row, 0 when it already existed.
CREATE OR REPLACE FUNCTION roxy_orleans_insert_membership_version(
    DeploymentIdArg OrleansMembershipVersionTable.DeploymentId%TYPE)
    RETURNS TABLE (row_count integer)
    LANGUAGE plpgsql
AS $func$
DECLARE
    RowCountVar integer := 0;
BEGIN
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (DeploymentIdArg)
    ON CONFLICT (DeploymentId) DO NOTHING;

    GET DIAGNOSTICS RowCountVar = ROW_COUNT;
    RETURN QUERY SELECT RowCountVar;
END
$func$;

-- Conditional write: bump the table version only if the caller's etag still matches, then insert
-- the silo row. Any miss rolls back the whole block (RAISE, not ASSERT: ASSERT can be switched off
-- with plpgsql.check_asserts, which would leave a half-applied write behind) and returns 0.
CREATE OR REPLACE FUNCTION roxy_orleans_insert_membership(
    DeploymentIdArg OrleansMembershipTable.DeploymentId%TYPE,
    AddressArg      OrleansMembershipTable.Address%TYPE,
    PortArg         OrleansMembershipTable.Port%TYPE,
    GenerationArg   OrleansMembershipTable.Generation%TYPE,
    SiloNameArg     OrleansMembershipTable.SiloName%TYPE,
    HostNameArg     OrleansMembershipTable.HostName%TYPE,
    StatusArg       OrleansMembershipTable.Status%TYPE,
    ProxyPortArg    OrleansMembershipTable.ProxyPort%TYPE,
    StartTimeArg    OrleansMembershipTable.StartTime%TYPE,
    IAmAliveTimeArg OrleansMembershipTable.IAmAliveTime%TYPE,
    VersionArg      OrleansMembershipVersionTable.Version%TYPE)
    RETURNS TABLE (row_count integer)
    LANGUAGE plpgsql
AS $func$
DECLARE
    RowCountVar integer := 0;
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
        SET Timestamp = now(),
            Version = Version + 1
        WHERE DeploymentId = DeploymentIdArg
          AND Version = VersionArg
          AND Version < 2147483647;

        GET DIAGNOSTICS RowCountVar = ROW_COUNT;
        IF RowCountVar = 0 THEN
            RAISE EXCEPTION 'membership version mismatch' USING ERRCODE = 'RX001';
        END IF;

        INSERT INTO OrleansMembershipTable
            (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
        VALUES
            (DeploymentIdArg, AddressArg, PortArg, GenerationArg, SiloNameArg, HostNameArg, StatusArg, ProxyPortArg, StartTimeArg, IAmAliveTimeArg)
        ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;

        GET DIAGNOSTICS RowCountVar = ROW_COUNT;
        IF RowCountVar = 0 THEN
            RAISE EXCEPTION 'membership row already exists' USING ERRCODE = 'RX001';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'RX001' THEN
            RowCountVar := 0;
    END;

    RETURN QUERY SELECT RowCountVar;
END
$func$;

-- Same conditional-write shape as insert.
CREATE OR REPLACE FUNCTION roxy_orleans_update_membership(
    DeploymentIdArg OrleansMembershipTable.DeploymentId%TYPE,
    AddressArg      OrleansMembershipTable.Address%TYPE,
    PortArg         OrleansMembershipTable.Port%TYPE,
    GenerationArg   OrleansMembershipTable.Generation%TYPE,
    StatusArg       OrleansMembershipTable.Status%TYPE,
    SuspectTimesArg OrleansMembershipTable.SuspectTimes%TYPE,
    IAmAliveTimeArg OrleansMembershipTable.IAmAliveTime%TYPE,
    VersionArg      OrleansMembershipVersionTable.Version%TYPE)
    RETURNS TABLE (row_count integer)
    LANGUAGE plpgsql
AS $func$
DECLARE
    RowCountVar integer := 0;
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
        SET Timestamp = now(),
            Version = Version + 1
        WHERE DeploymentId = DeploymentIdArg
          AND Version = VersionArg
          AND Version < 2147483647;

        GET DIAGNOSTICS RowCountVar = ROW_COUNT;
        IF RowCountVar = 0 THEN
            RAISE EXCEPTION 'membership version mismatch' USING ERRCODE = 'RX001';
        END IF;

        UPDATE OrleansMembershipTable
        SET Status = StatusArg,
            SuspectTimes = SuspectTimesArg,
            IAmAliveTime = GREATEST(IAmAliveTime, IAmAliveTimeArg)
        WHERE DeploymentId = DeploymentIdArg
          AND Address = AddressArg
          AND Port = PortArg
          AND Generation = GenerationArg;

        GET DIAGNOSTICS RowCountVar = ROW_COUNT;
        IF RowCountVar = 0 THEN
            RAISE EXCEPTION 'membership row missing' USING ERRCODE = 'RX001';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'RX001' THEN
            RowCountVar := 0;
    END;

    RETURN QUERY SELECT RowCountVar;
END
$func$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('UpdateIAmAlivetimeKey', $q$
    SELECT roxy_orleans_update_i_am_alive_time(@DeploymentId, @Address, @Port, @Generation, @IAmAliveTime);
$q$),
('InsertMembershipVersionKey', $q$
    SELECT row_count FROM roxy_orleans_insert_membership_version(@DeploymentId);
$q$),
('InsertMembershipKey', $q$
    SELECT row_count FROM roxy_orleans_insert_membership(
        @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
        @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);
$q$),
('UpdateMembershipKey', $q$
    SELECT row_count FROM roxy_orleans_update_membership(
        @DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version);
$q$),
-- The LEFT JOIN returns the version row even when the silo row does not exist (StartTime NULL = no member).
('MembershipReadRowKey', $q$
    SELECT
        v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
        m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT OUTER JOIN OrleansMembershipTable m
        ON v.DeploymentId = m.DeploymentId
        AND m.Address = @Address
        AND m.Port = @Port
        AND m.Generation = @Generation
    WHERE v.DeploymentId = @DeploymentId;
$q$),
('MembershipReadAllKey', $q$
    SELECT
        v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
        m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT OUTER JOIN OrleansMembershipTable m ON v.DeploymentId = m.DeploymentId
    WHERE v.DeploymentId = @DeploymentId;
$q$),
('DeleteMembershipTableEntriesKey', $q$
    DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
    DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
$q$),
-- Status 3 = Active (Orleans.Runtime.SiloStatus).
('GatewaysQueryKey', $q$
    SELECT Address, ProxyPort, Generation
    FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status = @Status
      AND ProxyPort > 0;
$q$),
-- Bulk pruning of Dead (6) rows that started, heartbeated and were suspected before the cutoff.
('CleanupDefunctSiloEntriesKey', $q$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND IAmAliveTime < @IAmAliveTime
      AND StartTime < @IAmAliveTime
      AND COALESCE(SuspectTimes, '') = ''
      AND Status = 6;
$q$),
-- Per-row pruning used by 10.x: the provider decides in .NET and deletes only if the row is still
-- exactly what it read, so a concurrent status/heartbeat change wins.
('CleanupDefunctSiloEntryKey', $q$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status = 6
      AND Address = @Address
      AND Port = @Port
      AND Generation = @Generation
      AND IAmAliveTime = @IAmAliveTime
      AND StartTime = @StartTime
      AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- ---------------------------------------------------------------------------------------------
-- Grain persistence.
-- ---------------------------------------------------------------------------------------------

-- PayloadBinary holds whatever IGrainStorageSerializer produced; with
-- UseSystemTextJsonGrainStorageSerializer that is UTF-8 JSON (convert_from(payloadbinary, 'UTF8')).
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NULL
);

-- Narrow lookup index, as the hashes are what every query leads with.
CREATE INDEX IF NOT EXISTS IX_OrleansStorage
    ON OrleansStorage (GrainIdHash, GrainTypeHash);

-- One state row per grain: makes concurrent first writes (split brain) lose deterministically
-- instead of both inserting.
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain
    ON OrleansStorage (GrainIdHash, GrainTypeHash, ServiceId, GrainTypeString, GrainIdN0, GrainIdN1,
                       COALESCE(GrainIdExtensionString, ''));

-- Returns the new version on success; returns the caller's (unchanged) version on an etag
-- mismatch, which Orleans turns into InconsistentStateException.
CREATE OR REPLACE FUNCTION roxy_orleans_write_to_storage(
    GrainIdHashArg            OrleansStorage.GrainIdHash%TYPE,
    GrainIdN0Arg              OrleansStorage.GrainIdN0%TYPE,
    GrainIdN1Arg              OrleansStorage.GrainIdN1%TYPE,
    GrainTypeHashArg          OrleansStorage.GrainTypeHash%TYPE,
    GrainTypeStringArg        OrleansStorage.GrainTypeString%TYPE,
    GrainIdExtensionStringArg OrleansStorage.GrainIdExtensionString%TYPE,
    ServiceIdArg              OrleansStorage.ServiceId%TYPE,
    GrainStateVersionArg      OrleansStorage.Version%TYPE,
    PayloadBinaryArg          OrleansStorage.PayloadBinary%TYPE)
    RETURNS TABLE (NewGrainStateVersion integer)
    LANGUAGE plpgsql
AS $func$
DECLARE
    NewVersion integer := GrainStateVersionArg;
    RowCountVar integer := 0;
BEGIN
    IF GrainStateVersionArg IS NOT NULL THEN
        UPDATE OrleansStorage
        SET PayloadBinary = PayloadBinaryArg,
            ModifiedOn = now(),
            Version = Version + 1
        WHERE GrainIdHash = GrainIdHashArg
          AND GrainTypeHash = GrainTypeHashArg
          AND GrainIdN0 = GrainIdN0Arg
          AND GrainIdN1 = GrainIdN1Arg
          AND GrainTypeString = GrainTypeStringArg
          AND GrainIdExtensionString IS NOT DISTINCT FROM GrainIdExtensionStringArg
          AND ServiceId = ServiceIdArg
          AND Version = GrainStateVersionArg;

        GET DIAGNOSTICS RowCountVar = ROW_COUNT;
        IF RowCountVar > 0 THEN
            NewVersion := GrainStateVersionArg + 1;
        END IF;
    ELSE
        BEGIN
            INSERT INTO OrleansStorage
                (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
                 GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
            VALUES
                (GrainIdHashArg, GrainIdN0Arg, GrainIdN1Arg, GrainTypeHashArg, GrainTypeStringArg,
                 GrainIdExtensionStringArg, ServiceIdArg, PayloadBinaryArg, now(), 1);
            NewVersion := 1;
        EXCEPTION
            WHEN unique_violation THEN
                NewVersion := NULL;
        END;
    END IF;

    RETURN QUERY SELECT NewVersion;
END
$func$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('WriteToStorageKey', $q$
    SELECT NewGrainStateVersion FROM roxy_orleans_write_to_storage(
        @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
        @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary);
$q$),
('ReadFromStorageKey', $q$
    SELECT PayloadBinary, Version
    FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId;
$q$),
-- Clear keeps the row (and bumps its version) so the etag chain survives a clear + rewrite.
('ClearStorageKey', $q$
    UPDATE OrleansStorage
    SET PayloadBinary = NULL,
        ModifiedOn = now(),
        Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId
      AND Version = @GrainStateVersion
    RETURNING Version AS NewGrainStateVersion;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
