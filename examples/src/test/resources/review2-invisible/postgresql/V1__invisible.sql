-- PostgreSQL has no invisible columns: a plain seeded table.
create table r2_hidden (id int primary key, secret text);
insert into r2_hidden values (1, 's1');
