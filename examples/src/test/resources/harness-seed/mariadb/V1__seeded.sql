-- The harness tests' schema: reference data the migration inserts, a table that references it, an
-- AUTO_INCREMENT advanced by the seed, a stored generated column.
create table countries (
    code char(2) primary key,
    name varchar(100) not null
);

insert into countries (code, name) values ('DE', 'Germany*'), ('FR', 'France*'), ('JP', 'Japan*');

create table roles (
    id    bigint auto_increment primary key,
    name  varchar(100) not null unique,
    label varchar(100) as (upper(name)) stored
);

insert into roles (name) values ('reader'), ('writer');

create table people (
    id           bigint auto_increment primary key,
    name         varchar(100) not null,
    country_code char(2) not null,
    role_id      bigint,
    foreign key (country_code) references countries (code),
    foreign key (role_id) references roles (id)
);

create table events (
    id     bigint not null,
    on_day date   not null,
    primary key (id, on_day)
);
