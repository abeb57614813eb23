-- The twin of db/migration/postgresql/V3__key_types_and_generated_columns.sql (same tables, columns, keys and
-- nullability). Differences: timestamp(6) for timestamptz, decimal for numeric, MariaDB's uuid type, an
-- AUTO_INCREMENT key (MariaDB has no GENERATED ALWAYS identity), a STORED generated column, longtext for wide text.

create table readings (
    taken_at timestamp(6) not null,
    note     text         not null,
    primary key (taken_at)
);

create table prices (
    amount decimal(10, 2) not null,
    label  text           not null,
    primary key (amount)
);

create table codes (
    code  char(4) not null,
    label text    not null,
    primary key (code)
);

create table devices (
    id   uuid not null,
    name text not null,
    primary key (id)
);

create table tickets (
    id           bigint not null auto_increment,
    title        text   not null,
    title_length int as (char_length(title)) stored,
    primary key (id)
);

create table documents (
    id         bigint       not null,
    body       longtext     not null,
    created_at timestamp(6) not null default current_timestamp(6),
    primary key (id)
);
