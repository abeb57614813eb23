package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.TICKETS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.TicketsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.jooq.Param;
import org.jooq.Result;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Second review of the DirectRows fixes (f297f3f: values by position into the record's own fields; prepare refuses
 * DML whose RETURNING is not the table's columns in order) and of 856cd55 (COPY dates in Locale.ROOT). Each test
 * compares a prepared run with jOOQ's own (unprepared) execution of the same query.
 */
@ExampleDatabase
class DirectRowsReview2Test {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    @BeforeEach
    void rows(Database db) {
        UsersAndPosts.users(db, T0);
    }

    // DEFECT (silent wrong data): RETURNING in another order, coerced to the table. Preparing's refusal checks
    // query.fields(), which for a coerced query answers the coerce's fields (the table's, in order), not the RETURNING
    // list the SQL sends (id, email, name, created_at). jOOQ maps RETURNING by name (getName() is "Eve"); the prepared
    // run maps by position: the returned email lands in NAME and the name in EMAIL.
    @Test
    void returning_in_another_order_coerced_to_the_table_is_refused_or_reads_as_jooq_reads(Database db) {
        Param<Long> id = param("id", Long.class);
        Param<String> name = param("name", String.class);
        UsersRecord expected = db.blockingSession().one(DSL.insertInto(USERS).set(USERS.ID, 11L).set(USERS.NAME, "Eve")
                .set(USERS.EMAIL, "eve@example.com").set(USERS.CREATED_AT, T0)
                .returning(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT).coerce(USERS));
        assertThat(expected.getName()).as("jOOQ, by name").isEqualTo("Eve");
        PreparedQuery<UsersRecord> prepared;
        try {
            prepared = db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                    .set(USERS.EMAIL, DSL.concat(name, DSL.inline("@example.com"))).set(USERS.CREATED_AT, T0)
                    .returning(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT).coerce(USERS));
        } catch (IllegalArgumentException refused) {
            return; // refused like the same query without coerce: fine
        }
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 10L).bind(name, "Dan"));
        assertThat(actual.getName()).isEqualTo("Dan");
        assertThat(actual.getEmail()).isEqualTo("Dan@example.com");
    }

    // DEFECT (refusal after the statement ran, with a misleading message): RETURNING the key only, coerced to the
    // table. jOOQ returns a UsersRecord with the id (the rest null). The prepared query is not refused (fields() is
    // the table's, as above); its run executes the INSERT, which stays, and then fails with "Error while reading
    // field: "users"."name", at JDBC index: 2" - a column the query never asked for.
    @Test
    void returning_the_key_only_coerced_to_the_table_is_refused_before_running_or_reads_as_jooq_reads(Database db) {
        Param<String> name = param("name", String.class);
        Param<Long> id = param("id", Long.class);
        UsersRecord expected = db.blockingSession().one(DSL.insertInto(USERS).set(USERS.ID, 11L).set(USERS.NAME, "Eve")
                .set(USERS.CREATED_AT, T0).returning(USERS.ID).coerce(USERS));
        assertThat(expected.intoArray()).as("jOOQ").containsExactly(11L, null, null, null);
        PreparedQuery<UsersRecord> prepared;
        try {
            prepared = db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                    .set(USERS.CREATED_AT, T0).returning(USERS.ID).coerce(USERS));
        } catch (IllegalArgumentException refused) {
            assertThat(db.dsl().fetchCount(USERS)).as("nothing ran").isEqualTo(4);
            return;
        }
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 10L).bind(name, "Dan"));
        assertThat(actual.intoArray()).containsExactly(10L, null, null, null);
    }

    // CHECKED: RETURNING the key only (no coerce) is refused at prepare, before anything runs, with a message naming
    // both column lists and returningResult(...). Not a regression: with the refusal disabled, the run at 856cd55
    // executed the INSERT and then failed ("Error while reading field: "users"."name", at JDBC index: 2").
    @Test
    void returning_the_key_only_is_refused_before_running(Database db) {
        Param<String> name = param("name", String.class);
        Param<Long> id = param("id", Long.class);
        Throwable refused = catchThrowable(() -> db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                .set(USERS.CREATED_AT, T0).returning(USERS.ID)));
        assertThat(refused).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(id)").hasMessageContaining("(id, name, email, created_at)")
                .hasMessageContaining("returningResult(...)");
        assertThat(db.dsl().fetchCount(USERS)).isEqualTo(3);
        var result = db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                .set(USERS.CREATED_AT, T0).returningResult(USERS.ID));
        assertThat(db.blockingSession().one(result.bind(id, 10L).bind(name, "Dan")).value1()).isEqualTo(10L);
    }

    // CHECKED: a select of the table's columns in another order, coerced to the table: jOOQ maps by position, and so
    // does the direct read.
    @Test
    void a_select_in_another_order_coerced_to_the_table_reads_as_jooq_reads(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(select(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT)
                .from(USERS).where(USERS.ID.eq(id)).coerce(USERS));
        assertThat(prepared.bind(id, 1L).run(db).readsRowsDirectly()).isTrue();
        UsersRecord expected = db.blockingSession().one(select(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT)
                .from(USERS).where(USERS.ID.eq(1L)).coerce(USERS));
        DirectRowsTest.sameRecords(db.blockingSession().one(prepared.bind(id, 1L)), expected);
    }

    // CHECKED: selectFrom(table) coerced to an alias of it that renames its columns in another order.
    @Test
    void select_from_coerced_to_a_renaming_alias_reads_as_jooq_reads(Database db) {
        Table<UsersRecord> u = USERS.as("u", "id", "email", "name", "created_at");
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)).coerce(u));
        assertThat(prepared.bind(id, 1L).run(db).readsRowsDirectly()).isTrue();
        UsersRecord expected = db.blockingSession().one(selectFrom(USERS).where(USERS.ID.eq(1L)).coerce(u));
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 1L));
        assertThat(actual.getName()).isEqualTo(expected.getName()).isEqualTo("Ann");
        DirectRowsTest.sameRecords(actual, expected);
    }

    // CHECKED: another table's columns coerced to a table: by position, with the table's bindings.
    @Test
    void another_tables_columns_coerced_to_a_table_read_as_jooq_reads(Database db) {
        UsersAndPosts.posts(db, 3);
        Param<String> title = param("title", String.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(select(POSTS.ID, POSTS.TITLE, POSTS.BODY, POSTS.UPDATED_AT)
                .from(POSTS).where(POSTS.TITLE.eq(title)).coerce(USERS));
        assertThat(prepared.bind(title, "one").run(db).readsRowsDirectly()).isTrue();
        UsersRecord expected = db.blockingSession().one(select(POSTS.ID, POSTS.TITLE, POSTS.BODY, POSTS.UPDATED_AT)
                .from(POSTS).where(POSTS.TITLE.eq("one")).coerce(USERS));
        DirectRowsTest.sameRecords(db.blockingSession().one(prepared.bind(title, "one")), expected);
    }

    // CHECKED: returning() on a table with an identity GENERATED ALWAYS and a generated column, for INSERT, UPDATE
    // and DELETE: prepared (read directly), the same values as jOOQ's.
    @Test
    void returning_on_a_table_with_generated_columns_prepares_and_reads_as_jooq_reads(Database db) {
        Param<String> title = param("title", String.class);
        Param<String> to = param("to", String.class);
        PreparedQuery<TicketsRecord> insert = db.prepare(DSL.insertInto(TICKETS).set(TICKETS.TITLE, title).returning());
        assertThat(insert.bind(title, "abc").run(db).readsRowsDirectly()).isTrue();
        TicketsRecord inserted = db.blockingSession().one(insert.bind(title, "abc"));
        TicketsRecord jooq = db.blockingSession().one(DSL.insertInto(TICKETS).set(TICKETS.TITLE, "abcd").returning());
        assertThat(inserted.getTitleLength()).isEqualTo(3);
        assertThat(jooq.getTitleLength()).isEqualTo(4);
        assertThat(inserted.getClass()).isEqualTo(jooq.getClass());
        assertThat(inserted.changed()).isEqualTo(jooq.changed());

        PreparedQuery<TicketsRecord> update = db.prepare(DSL.update(TICKETS).set(TICKETS.TITLE, to)
                .where(TICKETS.TITLE.eq(title)).returning());
        if (db.dialect().family() != org.jooq.SQLDialect.POSTGRES) {
            // MariaDB has no UPDATE ... RETURNING; jOOQ's emulation writes the generated column, which MariaDB
            // refuses: the unprepared query fails as the prepared one does
            assertThat(catchThrowable(() -> db.blockingSession().one(update.bind(to, "abcde").bind(title, "abc"))))
                    .isInstanceOf(org.jooq.exception.DataAccessException.class).hasMessageContaining("title_length");
            assertThat(catchThrowable(() -> db.blockingSession().one(DSL.update(TICKETS).set(TICKETS.TITLE, "abcde")
                    .where(TICKETS.TITLE.eq("abc")).returning())))
                    .isInstanceOf(org.jooq.exception.DataAccessException.class).hasMessageContaining("title_length");
            return;
        }
        TicketsRecord updated = db.blockingSession().one(update.bind(to, "abcde").bind(title, "abc"));
        assertThat(updated.intoArray()).containsExactly(inserted.getId(), "abcde", 5);

        PreparedQuery<TicketsRecord> delete = db.prepare(DSL.deleteFrom(TICKETS).where(TICKETS.TITLE.eq(title)).returning());
        TicketsRecord deleted = db.blockingSession().one(delete.bind(title, "abcde"));
        TicketsRecord jooqDeleted = db.blockingSession().one(DSL.deleteFrom(TICKETS).where(TICKETS.TITLE.eq("abcd")).returning());
        assertThat(deleted.intoArray()).containsExactly(inserted.getId(), "abcde", 5);
        assertThat(jooqDeleted.intoArray()).containsExactly(jooq.getId(), "abcd", 4);
    }

    // CHECKED: DELETE ... RETURNING on an aliased table (every column, the table's order) prepares and reads as jOOQ.
    @Test
    void returning_on_an_aliased_table_prepares_and_reads_as_jooq_reads(Database db) {
        Table<UsersRecord> u = USERS.as("u");
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(DSL.deleteFrom(u).where(u.field(USERS.ID).eq(id)).returning());
        if (db.dialect().family() != org.jooq.SQLDialect.POSTGRES) {
            // MariaDB's DELETE ... USING an alias takes no RETURNING: the unprepared query fails as the prepared one
            assertThat(catchThrowable(() -> db.blockingSession().one(prepared.bind(id, 1L))))
                    .isInstanceOf(org.jooq.exception.DataAccessException.class).hasMessageContaining("returning");
            assertThat(catchThrowable(() -> db.blockingSession().one(DSL.deleteFrom(u).where(u.field(USERS.ID).eq(3L))
                    .returning()))).isInstanceOf(org.jooq.exception.DataAccessException.class).hasMessageContaining("returning");
            assertThat(db.dsl().fetchCount(USERS)).isEqualTo(3);
            return;
        }
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 1L));
        UsersRecord expected = db.blockingSession().one(DSL.deleteFrom(u).where(u.field(USERS.ID).eq(3L)).returning());
        assertThat(actual.intoArray()).containsExactly(1L, "Ann", "ann@example.com", actual.getCreatedAt());
        assertThat(expected.intoArray()).containsExactly(3L, "Cid", "cid@example.com", expected.getCreatedAt());
        assertThat(actual.getCreatedAt().toInstant()).isEqualTo(T0.toInstant());
        Result<UsersRecord> none = db.blockingSession().all(prepared.bind(id, 1L));
        assertThat(none).isEmpty();
    }

    // CHECKED (after the second review's fix, which first refused it): plain SQL coerced to a table is no DML; the
    // RETURNING check leaves it alone, and it reads by position as jOOQ reads it.
    @Test
    void plain_sql_coerced_to_a_table_still_prepares_and_reads_as_jooq_reads(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(DSL.resultQuery(
                "select id, name, email, created_at from users where id = {0}", id).coerce(USERS));
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 1L));
        UsersRecord expected = db.blockingSession().one(DSL.resultQuery(
                "select id, name, email, created_at from users where id = {0}", DSL.val(1L)).coerce(USERS));
        assertThat(actual.intoArray()).containsExactly(expected.intoArray());
        assertThat(actual.getName()).isEqualTo("Ann");
    }
}
