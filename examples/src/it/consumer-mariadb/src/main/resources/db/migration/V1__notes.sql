-- MariaDB DDL: an inline enum, check constraints, a foreign key, a generated column, a view and a trigger.
create table authors (
    id    bigint auto_increment primary key,
    email varchar(320) not null unique check (email like '%_@_%'),
    name  varchar(200) not null
);

create table notes (
    id         bigint auto_increment primary key,
    author_id  bigint       not null,
    state      enum('draft', 'published', 'archived') not null default 'draft',
    body       text         not null,
    words      int as (char_length(body) - char_length(replace(body, ' ', '')) + 1) virtual,
    updated_at timestamp(6) not null default current_timestamp(6),
    foreign key (author_id) references authors (id)
);

create view published_notes as select id, author_id, body from notes where state = 'published';

create trigger notes_touch before update on notes for each row set new.updated_at = current_timestamp(6);
