-- A table keyed by raw bytes (content digests, UUIDs stored as 16 bytes): the database hands such keys back as
-- new byte arrays, which saveAll must still match to the records that sent them.
create table blobs (
    digest bytea primary key,
    name   text not null
);
