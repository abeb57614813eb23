-- The example schema for MariaDB (10.5+), structurally identical to db/migration/postgresql/V1__example_schema.sql:
-- same tables, columns, keys, constraint names and nullability, so the classes generated from PostgreSQL work on
-- both. Differences: JSON for jsonb, an ENUM column for the enum type, ON UPDATE for the updated_at trigger,
-- varchar(255) where PostgreSQL has a key on text, timestamp(6) for timestamptz (stored in UTC).

create table users (
    id         bigint       not null auto_increment,
    name       text         not null,
    email      varchar(255),
    created_at timestamp(6) not null default current_timestamp(6),
    primary key (id),
    constraint users_email_key unique (email)
);

create table posts (
    id         bigint       not null auto_increment,
    user_id    bigint       not null,
    title      text         not null,
    body       text,
    metadata   json,
    status     enum ('draft', 'published', 'archived') not null default 'draft',
    updated_at timestamp(6) not null default current_timestamp(6) on update current_timestamp(6),
    primary key (id),
    constraint posts_user_id_fkey foreign key (user_id) references users (id) on delete cascade
);

create index posts_user_id_idx on posts (user_id);

create table post_tags (
    post_id bigint       not null,
    tag     varchar(255) not null,
    primary key (post_id, tag),
    constraint post_tags_post_id_fkey foreign key (post_id) references posts (id) on delete cascade,
    constraint post_tags_tag_check check (tag <> '')
);
