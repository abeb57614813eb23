-- Tables for what saveAll must get right beyond the basics:
-- keys compared and ordered as the database does it (timestamptz, numeric with a scale, char(n), uuid),
-- an identity GENERATED ALWAYS with a generated (computed) column, and rows wide enough to split a call.

create table readings (
    taken_at timestamptz primary key,
    note     text not null
);

create table prices (
    amount numeric(10, 2) primary key,
    label  text not null
);

create table codes (
    code  char(4) primary key,
    label text not null
);

create table devices (
    id   uuid primary key,
    name text not null
);

create table tickets (
    id           bigint generated always as identity primary key,
    title        text not null,
    title_length integer generated always as (length(title)) stored
);

create table documents (
    id         bigint primary key,
    body       text        not null,
    created_at timestamptz not null default now()
);
