-- SchemaDriftTest's probe: one of every kind of object jOOQ generates classes for, or that lives beside tables,
-- so that SchemaDrift can prove it is silent on an unchanged schema (and still reports real drift). The build
-- generates package dev.sqlservice.driftprobe from this folder, as it generates the example schema.

create domain year as integer check (value between 1800 and 2200);
create domain email_address as text check (value like '%@%');

create type mood as enum ('sad', 'ok', 'happy');
create domain cheerful_mood as mood check (value <> 'sad');

create table people (
    id       bigint generated always as identity primary key,
    born     year          not null,
    email    email_address unique,
    mood     mood,
    usual    cheerful_mood,
    moods    mood[],
    years    year[],
    tags     text[]        not null default '{}',
    scores   integer[],
    grid     double precision[][],
    nickname varchar(40),
    balance  numeric(12, 2),
    seen_at  timestamptz
);

-- A partitioned table and its partitions.
create table measurements (
    person_id bigint not null references people (id),
    taken_on  date   not null,
    value     numeric(10, 2),
    primary key (person_id, taken_on)
) partition by range (taken_on);
create table measurements_2025 partition of measurements for values from ('2025-01-01') to ('2026-01-01');
create table measurements_rest partition of measurements default;

create view adults as select id, born, email from people where born < 2008;
create materialized view mood_counts as select mood, count(*) as n from people group by mood;

-- Functions: set-returning ones (jOOQ generates table classes for them), a scalar one, a trigger function.
create function people_born_after(after year) returns setof people
language sql stable as $$ select * from people where born > after $$;

create function mood_histogram() returns table (mood mood, n bigint)
language sql stable as $$ select mood, count(*) from people group by mood $$;

create function age_in(born year, at_year integer) returns integer
language sql immutable as $$ select at_year - born $$;

create function lowercase_email() returns trigger
language plpgsql as $$
begin
    new.email := lower(new.email);
    return new;
end;
$$;

create trigger people_lowercase_email before insert or update on people
    for each row execute function lowercase_email();
