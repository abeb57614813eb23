-- A seeded table with an INVISIBLE column (MariaDB 10.3+): SELECT * leaves it out.
create table r2_hidden (
    id     int primary key,
    secret varchar(10) invisible
);
insert into r2_hidden (id, secret) values (1, 's1');
