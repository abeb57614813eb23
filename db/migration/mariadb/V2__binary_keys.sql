-- A table keyed by raw bytes (content digests, UUIDs stored as BINARY(16)): the database hands such keys back
-- as new byte arrays, which saveAll must still match to the records that sent them.
create table blobs (
    digest varbinary(32) primary key,
    name   varchar(200) not null
);
