create table broken (id integer primary key);
insert into broken values (1);
insert into nowhere values (2);
