package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.CODES;
import static dev.sqlservice.example.schema.Tables.TICKETS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.CodesRecord;
import dev.sqlservice.example.schema.tables.records.TicketsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.conf.RecordDirtyTracking;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Review of 724a81d (DirectRows: a prepared query's direct run reads its rows without jOOQ's cursor). Every test
 * compares a direct read ({@code readsRowsDirectly()} asserted) with jOOQ's own execution of the same query.
 */
@ExampleDatabase
class DirectRowsReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    @BeforeEach
    void rows(Database db) {
        UsersAndPosts.users(db, T0);
        db.dsl().insertInto(CODES, CODES.CODE, CODES.LABEL).values("AB", "c").execute();
        db.dsl().insertInto(TICKETS, TICKETS.TITLE).values("a ticket").execute();
    }

    // DEFECT (silent wrong data): a table alias with a derived column list that names the table's columns in
    // another order (u(id, email, name, created_at)) is read by name into the record: DirectRows sets each value
    // with record.set(aliasField, value), and jOOQ's field lookup falls back to the unqualified name, so the value
    // of the alias's "email" column (the user's name) lands in USERS.EMAIL and vice versa. jOOQ's cursor fills
    // the record by position: getName() is "Ann". New in 724a81d: with DirectRows.enabled = false (the cursor
    // path, then into(table)) the same prepared query returns Ann's record right.
    @Test
    void a_table_alias_that_renames_columns_reads_each_value_into_its_position(Database db) {
        Table<UsersRecord> u = USERS.as("u", "id", "email", "name", "created_at");
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(u).where(u.field("id", Long.class).eq(id)));
        assertThat(prepared.bind(id, 1L).run(db).readsRowsDirectly()).as("read without jOOQ's cursor").isTrue();

        UsersRecord expected = db.blockingSession().one(selectFrom(u).where(u.field("id", Long.class).eq(1L)));
        assertThat(expected.getName()).as("jOOQ, by position").isEqualTo("Ann");
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 1L));
        assertThat(actual.intoArray()).containsExactly(expected.intoArray());
        assertThat(actual.getName()).isEqualTo("Ann");
        assertThat(actual.getEmail()).isEqualTo("ann@example.com");
    }

    // DEFECT (broken promise of the result): a table alias with a derived column list of new names
    // (u(a, b, c, d)) fails while reading: record.set(u.a, ...) finds no field "a" in a UsersRecord and throws
    // IllegalArgumentException "Field ... is not contained in row type". jOOQ's execution returns Ann's record,
    // and so did the cursor path before 724a81d (checked with DirectRows.enabled = false).
    @Test
    void a_table_alias_with_new_column_names_reads_as_jooq_reads(Database db) {
        Table<UsersRecord> u = USERS.as("u", "a", "b", "c", "d");
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(u).where(u.field("a", Long.class).eq(id)));
        assertThat(prepared.bind(id, 1L).run(db).readsRowsDirectly()).as("read without jOOQ's cursor").isTrue();

        UsersRecord expected = db.blockingSession().one(selectFrom(u).where(u.field("a", Long.class).eq(1L)));
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 1L));
        assertThat(actual.intoArray()).containsExactly(expected.intoArray());
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED: a plain alias (no derived column list) reads as jOOQ reads, in the same record state.
    @Test
    void a_plain_table_alias_reads_as_jooq_reads(Database db) {
        Table<UsersRecord> u = USERS.as("u");
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(u).where(u.field(USERS.ID).eq(id)));
        assertThat(prepared.bind(id, 2L).run(db).readsRowsDirectly()).isTrue();
        DirectRowsTest.sameRecords(db.blockingSession().one(prepared.bind(id, 2L)),
                db.blockingSession().one(selectFrom(u).where(u.field(USERS.ID).eq(2L))));
    }

    // CHECKED: a table with an identity GENERATED ALWAYS and a generated column: same values and state.
    @Test
    void a_table_with_generated_columns_reads_as_jooq_reads(Database db) {
        Param<String> title = param("title", String.class);
        PreparedQuery<TicketsRecord> prepared = db.prepare(selectFrom(TICKETS).where(TICKETS.TITLE.eq(title)));
        assertThat(prepared.bind(title, "a ticket").run(db).readsRowsDirectly()).isTrue();
        TicketsRecord actual = db.blockingSession().one(prepared.bind(title, "a ticket"));
        DirectRowsTest.sameRecords(actual, db.blockingSession().one(selectFrom(TICKETS).where(TICKETS.TITLE.eq("a ticket"))));
        assertThat(actual.getTitleLength()).isEqualTo(8);
    }

    // CHECKED: a select list of more than 22 fields (RecordImplN) from two expressions per column, all unique names.
    @Test
    void more_than_22_fields_read_as_jooq_reads(Database db) {
        Param<Long> id = param("id", Long.class);
        List<Field<?>> columns = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            columns.add(USERS.ID.plus(i).as("n" + i));
            columns.add(DSL.concat(USERS.NAME, DSL.inline(String.valueOf(i))).as("s" + i));
        }
        PreparedQuery<Record> prepared = db.prepare(select(columns).from(USERS).where(USERS.ID.eq(id)));
        assertThat(prepared.bind(id, 3L).run(db).readsRowsDirectly()).isTrue();
        DirectRowsTest.sameRecords(db.blockingSession().one(prepared.bind(id, 3L)),
                db.blockingSession().one(select(columns).from(USERS).where(USERS.ID.eq(3L))));
    }

    // CHECKED: settings that change how jOOQ reads or tracks records are honoured by the direct read.
    @Test
    void reading_settings_are_honoured(TestDatabase test) {
        Settings settings = new Settings().withFetchTrimmedCharValues(true).withBindOffsetDateTimeType(true)
                .withRecordDirtyTracking(RecordDirtyTracking.MODIFIED);
        try (Database other = test.builder().settings(settings).build()) {
            Param<String> label = param("label", String.class);
            PreparedQuery<CodesRecord> codes = other.prepare(selectFrom(CODES).where(CODES.LABEL.eq(label)));
            assertThat(codes.bind(label, "c").run(other).readsRowsDirectly()).isTrue();
            DirectRowsTest.sameRecords(other.blockingSession().one(codes.bind(label, "c")),
                    other.blockingSession().one(selectFrom(CODES).where(CODES.LABEL.eq("c"))));

            Param<Long> id = param("id", Long.class);
            PreparedQuery<UsersRecord> users = other.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
            UsersRecord actual = other.blockingSession().one(users.bind(id, 1L));
            DirectRowsTest.sameRecords(actual, other.blockingSession().one(selectFrom(USERS).where(USERS.ID.eq(1L))));
            actual.setName("Ann"); // same value: not changed under MODIFIED tracking, as for jOOQ's record
            UsersRecord expected = other.blockingSession().one(selectFrom(USERS).where(USERS.ID.eq(1L)));
            expected.setName("Ann");
            assertThat(actual.changed()).isEqualTo(expected.changed());
        }
    }

    // CHECKED: a value the binding cannot read fails as jOOQ's cursor fails (class, message), and the connection
    // is given back.
    @Test
    void a_value_that_cannot_be_read_fails_as_jooq_fails(Database db) {
        Param<Long> id = param("id", Long.class);
        Field<Short> big = DSL.field("({0} * 100000)", SQLDataType.SMALLINT, USERS.ID).as("big");
        PreparedQuery<?> prepared = db.prepare(select(USERS.ID, big).from(USERS).where(USERS.ID.eq(id)));
        assertThat(prepared.bind(id, 1L).run(db).readsRowsDirectly()).isTrue();

        Throwable expected = catchThrowable(() -> db.blockingSession().one(select(USERS.ID, big).from(USERS).where(USERS.ID.eq(1L))));
        Throwable actual = catchThrowable(() -> db.blockingSession().one(prepared.bind(id, 1L)));
        assertThat(expected).as("jOOQ fails").isNotNull();
        assertThat(actual).isNotNull();
        assertThat(actual.getClass()).isEqualTo(expected.getClass());
        assertThat(actual.getMessage().replace("?", "1")).isEqualTo(expected.getMessage().replace("?", "1"));
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED: one prepared query (one shared DirectRows) read by several threads at once: every row its own.
    @Test
    void one_prepared_query_read_by_many_threads_at_once_reads_each_row(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        assertThat(prepared.bind(id, 1L).run(db).readsRowsDirectly()).isTrue();
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            runs.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 50; i++) {
                    long key = 1 + i % 3;
                    UsersRecord user = db.blockingSession().one(prepared.bind(id, key));
                    assertThat(user.getId()).isEqualTo(key);
                    assertThat(user.getName()).isEqualTo(key == 1 ? "Ann" : key == 2 ? "Bob" : "Cid");
                }
            }));
        }
        runs.forEach(CompletableFuture::join);
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED: INSERT ... RETURNING (a TableRecord query that is no select) reads into records in jOOQ's state.
    @Test
    void insert_returning_reads_as_jooq_reads(Database db) {
        Param<Long> id = param("id", Long.class);
        Param<String> name = param("name", String.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                .set(USERS.CREATED_AT, T0).returning());
        assertThat(prepared.bind(id, 10L).bind(name, "Dan").run(db).readsRowsDirectly()).isTrue();
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 10L).bind(name, "Dan"));
        UsersRecord expected = db.blockingSession().one(DSL.insertInto(USERS).set(USERS.ID, 11L).set(USERS.NAME, "Dan")
                .set(USERS.CREATED_AT, T0).returning());
        assertThat(actual.getClass()).isEqualTo(expected.getClass());
        assertThat(actual.getName()).isEqualTo(expected.getName());
        assertThat(actual.getCreatedAt()).isEqualTo(expected.getCreatedAt());
        assertThat(actual.changed()).as("changed").isEqualTo(expected.changed());
        assertThat(actual.touched()).as("touched").isEqualTo(expected.touched());
        for (int i = 0; i < actual.size(); i++) {
            assertThat(actual.changed(i)).as("changed " + i).isEqualTo(expected.changed(i));
            assertThat(actual.touched(i)).as("touched " + i).isEqualTo(expected.touched(i));
        }
        assertThat(actual.original(USERS.NAME)).isEqualTo(expected.original(USERS.NAME));
        assertThat(actual.original(USERS.ID)).as("original id").isEqualTo(10L);
        assertThat(DirectRowsTest.fetched(actual)).as("jOOQ's fetched mark").isEqualTo(DirectRowsTest.fetched(expected));
        assertThat(actual.configuration()).isSameAs(expected.configuration());
    }

    // DEFECT (silent wrong data; not introduced by 724a81d: Preparing.directFields, which the cursor path shared
    // before): INSERT ... RETURNING the table's columns in another order (id, email, name, created_at) was read
    // with the table's fields in table order (directFields returned table.fields() when only the count matched),
    // so the returned email landed in NAME and the name in EMAIL. jOOQ's execution maps them by name: getName() is
    // "Dan". A prepared run maps a table's columns by position on every path (jOOQ's own execution of a prepared
    // run too: coerce(table)), so the fix refuses to prepare it, with a message naming both orders; the same
    // columns in the table's order, and returningResult(...) in any order, prepare and read right.
    @Test
    void returning_the_columns_in_another_order_is_refused_and_in_table_order_reads_each_into_its_field(Database db) {
        Param<Long> id = param("id", Long.class);
        Param<String> name = param("name", String.class);
        assertThatThrownBy(() -> db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                .set(USERS.EMAIL, DSL.concat(name, DSL.inline("@example.com"))).set(USERS.CREATED_AT, T0)
                .returning(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(id, email, name, created_at)")
                .hasMessageContaining("(id, name, email, created_at)");
        assertThat(db.dsl().fetchCount(USERS)).as("nothing ran").isEqualTo(3);

        PreparedQuery<UsersRecord> prepared = db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                .set(USERS.EMAIL, DSL.concat(name, DSL.inline("@example.com"))).set(USERS.CREATED_AT, T0)
                .returning(USERS.ID, USERS.NAME, USERS.EMAIL, USERS.CREATED_AT));
        UsersRecord actual = db.blockingSession().one(prepared.bind(id, 10L).bind(name, "Dan"));
        assertThat(actual.getName()).isEqualTo("Dan");
        assertThat(actual.getEmail()).isEqualTo("Dan@example.com");

        var result = db.prepare(DSL.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name)
                .set(USERS.EMAIL, DSL.concat(name, DSL.inline("@example.com"))).set(USERS.CREATED_AT, T0)
                .returningResult(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT));
        Record eve = db.blockingSession().one(result.bind(id, 11L).bind(name, "Eve"));
        assertThat(eve.get(USERS.NAME)).isEqualTo("Eve");
        assertThat(eve.get(USERS.EMAIL)).isEqualTo("Eve@example.com");
    }
}
