-- HarnessReviewTest's schema: a seeded table, an unseeded table with an AUTO_INCREMENT, a sequence, and a seeded
-- table with two adjacent text columns.
create table review_kinds (
    id   int primary key,
    name varchar(50) not null,
    note varchar(50)
);
insert into review_kinds values (1, 'first', 'a'), (2, 'second', 'b');

create table review_log (
    id  bigint auto_increment primary key,
    msg varchar(100)
);

create sequence review_cached;

create table review_orders (id int);

create table review_names (
    id         int primary key,
    first_name varchar(20),
    last_name  varchar(20)
);
insert into review_names values (1, 'Ada', 'Lovelace');
