-- SecondHarnessReviewTest's schema: a seeded table, a view over it, a function, a column with a default.
create table r2_items (
    id    int primary key,
    name  text not null,
    price int  not null
);
insert into r2_items values (1, 'cheap', 10), (2, 'dear', 20);

create view r2_cheap as select id, name from r2_items where price < 15;

create function r2_label() returns text language sql as $$ select 'v1' $$;

create table r2_notes (
    id   int primary key,
    body text not null default 'd1'
);

create table r2_rates (
    id   int primary key,
    rate real not null
);
insert into r2_rates values (1, 1.0);
