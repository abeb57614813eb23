-- Reference data the application needs from its first start: the tests read it without seeding it.
create table note_kinds (
    code  text primary key,
    label text not null
);

insert into note_kinds (code, label) values ('memo', 'Memo'), ('todo', 'To do'), ('idea', 'Idea');
