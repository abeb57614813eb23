-- SecondHarnessReviewTest's schema: a seeded table, a view over it, a function, a column with a default, a seeded
-- table with generated, JSON, BLOB and nullable columns.
create table r2_items (
    id    int primary key,
    name  varchar(20) not null,
    price int         not null
);
insert into r2_items values (1, 'cheap', 10), (2, 'dear', 20);

create view r2_cheap as select id, name from r2_items where price < 15;

create function r2_label() returns varchar(10) deterministic return 'v1';

create table r2_notes (
    id   int primary key,
    body varchar(10) not null default 'd1'
);

create table r2_mixed (
    id  int primary key,
    a   int,
    v   int as (a * 2) virtual,
    s   int as (a * 3) stored,
    j   json,
    bl  blob,
    n   varchar(10)
);
insert into r2_mixed (id, a, j, bl, n) values (1, 1, '{"k": 1}', x'00ff', null), (2, 2, null, null, 'x');

create table r2_rates (
    id   int primary key,
    rate float not null
);
insert into r2_rates values (1, 1.0);
