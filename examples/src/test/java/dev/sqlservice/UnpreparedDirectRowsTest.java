package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.BLOBS;
import static dev.sqlservice.example.schema.Tables.CODES;
import static dev.sqlservice.example.schema.Tables.DEVICES;
import static dev.sqlservice.example.schema.Tables.DOCUMENTS;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.POST_TAGS;
import static dev.sqlservice.example.schema.Tables.PRICES;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.TICKETS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.conf.RecordDirtyTracking;
import org.jooq.conf.Settings;
import org.jooq.exception.NoDataFoundException;
import org.jooq.exception.TooManyRowsException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 17 (written in the seventh session, landed in the ninth for {@code all()} only): an unprepared select of a
 * generated table's records is executed by jOOQ as before, but {@code all()} reads its rows without jOOQ's cursor
 * ({@link DirectRows#ofQuery}); {@code first}, {@code one} and {@code oneOrNone} (one or two rows, where the
 * seventh session measured no gain) keep jOOQ's cursor. Every verb, blocking and asynchronous, must return what
 * jOOQ's own reading of the same query returns (the reference is {@code db.dsl()}, jOOQ's execution
 * and cursor on the same configuration): values, record types, record state, result fields; failures alike.
 * Queries it does not read that way keep jOOQ's cursor and read the same.
 */
@ExampleDatabase
class UnpreparedDirectRowsTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    /** Tables every column of which the direct reader takes: their selects must be read directly. */
    private static final List<Table<?>> DIRECT = List.of(USERS, BLOBS, READINGS, PRICES, CODES, DEVICES, DOCUMENTS,
            POST_TAGS, TICKETS);

    @BeforeEach
    void rows(Database db) {
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
        db.dsl().insertInto(BLOBS, BLOBS.DIGEST, BLOBS.NAME).values(new byte[] {0, 1, (byte) 255}, "b").execute();
        db.dsl().insertInto(BLOBS, BLOBS.DIGEST, BLOBS.NAME).values(new byte[] {}, "empty").execute();
        db.dsl().insertInto(READINGS, READINGS.TAKEN_AT, READINGS.NOTE).values(T0, "gap hour in Europe").execute();
        db.dsl().insertInto(PRICES, PRICES.AMOUNT, PRICES.LABEL).values(new BigDecimal("12.30"), "p").execute();
        db.dsl().insertInto(PRICES, PRICES.AMOUNT, PRICES.LABEL).values(new BigDecimal("-0.05"), "q").execute();
        db.dsl().insertInto(CODES, CODES.CODE, CODES.LABEL).values("AB", "c").execute();
        db.dsl().insertInto(DEVICES, DEVICES.ID, DEVICES.NAME).values(UUID.fromString("00000000-0000-0000-0000-0000000000aa"), "d")
                .execute();
        db.dsl().insertInto(TICKETS, TICKETS.TITLE).values("a ticket").execute();
        db.dsl().insertInto(DOCUMENTS, DOCUMENTS.ID, DOCUMENTS.BODY, DOCUMENTS.CREATED_AT).values(7L, "a document", T0).execute();
        db.dsl().insertInto(POST_TAGS, POST_TAGS.POST_ID, POST_TAGS.TAG)
                .values(db.dsl().select(DSL.min(POSTS.ID)).from(POSTS).fetchSingle().value1(), "tag").execute();
    }

    @Test
    void a_select_of_every_table_reads_as_jooq_reads_with_every_verb(Database db) {
        for (Table<?> table : List.of(USERS, POSTS, BLOBS, READINGS, PRICES, CODES, DEVICES, DOCUMENTS, POST_TAGS, TICKETS)) {
            compare(db, table);
        }
        for (Table<?> table : DIRECT) {
            assertThat(DirectRows.ofQuery(selectFrom(table))).as("read directly: " + table.getName()).isNotNull();
        }
    }

    private static <R extends Record> void compare(Database db, Table<R> table) {
        List<? extends TableField<R, ?>> key = table.getPrimaryKey() != null ? table.getPrimaryKey().getFields() : null;
        ResultQuery<R> all = key != null ? selectFrom(table).orderBy(key) : selectFrom(table).orderBy(table.fields());
        Result<R> expected = db.dsl().fetch(all);
        assertThat(expected).as(table.getName() + " has rows").isNotEmpty();

        sameResults(db.blockingSession().all(all), expected);
        sameResults(Stages.join(db.session().all(all)), expected);
        DirectRowsTest.sameRecords(db.blockingSession().first(all).orElseThrow(), expected.getFirst());
        DirectRowsTest.sameRecords(Stages.join(db.session().first(all)).orElseThrow(), expected.getFirst());

        ResultQuery<R> single = key != null ? selectFrom(table).orderBy(key).limit(1) : selectFrom(table).orderBy(table.fields()).limit(1);
        DirectRowsTest.sameRecords(db.blockingSession().one(single), expected.getFirst());
        DirectRowsTest.sameRecords(db.blockingSession().oneOrNone(single).orElseThrow(), expected.getFirst());
        DirectRowsTest.sameRecords(Stages.join(db.session().one(single)), expected.getFirst());
        DirectRowsTest.sameRecords(Stages.join(db.session().oneOrNone(single)).orElseThrow(), expected.getFirst());

        ResultQuery<R> none = selectFrom(table).where(DSL.falseCondition());
        assertThat(db.blockingSession().all(none)).isEmpty();
        assertThat(db.blockingSession().all(none).fields()).containsExactly(db.dsl().fetch(none).fields());
        assertThat(db.blockingSession().first(none)).isEmpty();
        assertThat(db.blockingSession().oneOrNone(none)).isEmpty();
    }

    /** The same result: size, fields, configuration, and the same records in order. */
    static <R extends Record> void sameResults(Result<R> actual, Result<R> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        assertThat(actual.fields()).containsExactly(expected.fields());
        assertThat(actual.configuration()).isSameAs(expected.configuration());
        assertThat(actual.getClass()).isEqualTo(expected.getClass());
        for (int i = 0; i < actual.size(); i++) {
            DirectRowsTest.sameRecords(actual.get(i), expected.get(i));
        }
    }

    @Test
    void the_shapes_of_a_select_of_a_table_read_directly_and_as_jooq_reads(Database db) {
        List<ResultQuery<UsersRecord>> shapes = List.of(
                selectFrom(USERS).where(USERS.ID.eq(2L)),
                selectFrom(USERS).where(USERS.ID.in(1L, 3L)).orderBy(USERS.ID.desc()),
                selectFrom(USERS).orderBy(USERS.NAME).limit(2).offset(1),
                selectFrom(USERS).whereExists(selectFrom(POSTS).where(POSTS.USER_ID.eq(USERS.ID))).orderBy(USERS.ID),
                selectFrom(USERS).where(USERS.ID.eq(1L)).unionAll(selectFrom(USERS).where(USERS.ID.eq(3L))),
                db.dsl().selectFrom(USERS).where(USERS.EMAIL.isNull()),
                DSL.selectDistinct(USERS.fields()).from(USERS).where(USERS.ID.le(2L)).orderBy(USERS.ID).coerce(USERS));
        for (ResultQuery<UsersRecord> shape : shapes) {
            Result<UsersRecord> expected = db.dsl().fetch(shape);
            sameResults(db.blockingSession().all(shape), expected);
            sameResults(Stages.join(db.session().all(shape)), expected);
            if (!expected.isEmpty()) {
                DirectRowsTest.sameRecords(db.blockingSession().first(shape).orElseThrow(), expected.getFirst());
            }
        }
        assertThat(DirectRows.ofQuery(shapes.getFirst())).isNotNull();
        assertThat(DirectRows.ofQuery(shapes.get(3))).isNotNull();
        // in a transaction, with a lock: the same connection, the same reading
        db.blockingSession().transaction(tx -> {
            ResultQuery<UsersRecord> locked = selectFrom(USERS).where(USERS.ID.eq(1L)).forUpdate();
            DirectRowsTest.sameRecords(tx.all(locked).getFirst(), db.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.eq(1L))));
            return null;
        });
    }

    @Test
    void queries_it_does_not_read_directly_keep_jooqs_reading_and_read_the_same(Database db) {
        Table<UsersRecord> u = USERS.as("u");
        List<ResultQuery<? extends Record>> others = List.of(
                selectFrom(u).where(u.field(USERS.ID).eq(1L)),
                select(USERS.ID, USERS.NAME).from(USERS).orderBy(USERS.ID),
                selectFrom(POSTS).orderBy(POSTS.ID),
                db.dsl().resultQuery("select id, name, email, created_at from users order by id").coerce(USERS));
        for (ResultQuery<? extends Record> other : others) {
            assertThat(DirectRows.ofQuery(other)).as(other.toString()).isNull();
            same(db, other);
        }
    }

    /**
     * A select coerced to a table is read with the table's fields, by position, whatever it selects: jOOQ reads it
     * so, and so does the direct reader (the same fields); columns in another order fail or read alike.
     */
    @Test
    void a_select_coerced_to_a_table_reads_as_jooq_reads_it(Database db) {
        ResultQuery<UsersRecord> inOrder = select(USERS.ID, USERS.NAME, USERS.EMAIL, USERS.CREATED_AT).from(USERS)
                .orderBy(USERS.ID).coerce(USERS);
        sameResults(db.blockingSession().all(inOrder), db.dsl().fetch(inOrder));
        ResultQuery<UsersRecord> reordered = select(USERS.NAME, USERS.ID, USERS.EMAIL, USERS.CREATED_AT).from(USERS)
                .orderBy(USERS.ID).coerce(USERS);
        Throwable expected = catchThrowable(() -> db.dsl().fetch(reordered));
        Throwable actual = catchThrowable(() -> db.blockingSession().all(reordered));
        if (expected == null) {
            assertThat(actual).isNull();
            sameResults(db.blockingSession().all(reordered), db.dsl().fetch(reordered));
        } else {
            assertThat(actual).isNotNull();
            assertThat(actual.getClass()).isEqualTo(expected.getClass());
            assertThat(after(actual.getMessage())).isEqualTo(after(expected.getMessage()));
        }
    }

    private static <R extends Record> void same(Database db, ResultQuery<R> query) {
        sameResults(db.blockingSession().all(query), db.dsl().fetch(query));
    }

    @Test
    void the_querys_own_row_limit_is_honoured_as_jooq_executes_it(Database db) {
        ResultQuery<UsersRecord> two = selectFrom(USERS).orderBy(USERS.ID).maxRows(2);
        assertThat(DirectRows.ofQuery(two)).isNotNull();
        sameResults(db.blockingSession().all(two), db.dsl().fetch(selectFrom(USERS).orderBy(USERS.ID).maxRows(2)));
        assertThat(db.blockingSession().all(selectFrom(USERS).orderBy(USERS.ID).maxRows(2))).hasSize(2);
    }

    @Test
    void no_row_and_a_second_row_fail_as_jooq_fails(Database db) {
        ResultQuery<UsersRecord> none = selectFrom(USERS).where(USERS.ID.eq(-1L));
        Throwable expected = catchThrowable(() -> db.dsl().fetchSingle(selectFrom(USERS).where(USERS.ID.eq(-1L))));
        Throwable actual = catchThrowable(() -> db.blockingSession().one(none));
        assertThat(actual).isInstanceOf(NoDataFoundException.class).hasMessage(expected.getMessage());
        assertThat(catchThrowable(() -> Stages.join(db.session().one(selectFrom(USERS).where(USERS.ID.eq(-1L))))))
                .hasRootCauseInstanceOf(NoDataFoundException.class);

        ResultQuery<UsersRecord> two = selectFrom(USERS).where(USERS.ID.le(2L));
        Throwable tooMany = catchThrowable(() -> db.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.le(2L))));
        assertThat(catchThrowable(() -> db.blockingSession().oneOrNone(two)))
                .isInstanceOf(TooManyRowsException.class).hasMessage(tooMany.getMessage());
        assertThat(catchThrowable(() -> db.blockingSession().one(selectFrom(USERS).where(USERS.ID.le(2L)))))
                .isInstanceOf(TooManyRowsException.class).hasMessage(tooMany.getMessage());
        assertThat(db.blockingSession().first(selectFrom(USERS).where(USERS.ID.le(2L)).orderBy(USERS.ID)).map(UsersRecord::getId))
                .isEqualTo(Optional.of(1L));
    }

    @Test
    void reading_settings_are_honoured_as_jooq_honours_them(TestDatabase test) {
        Settings settings = new Settings().withFetchTrimmedCharValues(true).withBindOffsetDateTimeType(true)
                .withRecordDirtyTracking(RecordDirtyTracking.MODIFIED);
        try (Database other = test.builder().settings(settings).build()) {
            other.dsl().insertInto(CODES, CODES.CODE, CODES.LABEL).values("XY", "trimmed").execute();
            ResultQuery<?> codes = selectFrom(CODES).where(CODES.LABEL.eq("trimmed"));
            assertThat(DirectRows.ofQuery(codes)).isNotNull();
            sameResults(other.blockingSession().all(selectFrom(CODES).where(CODES.LABEL.eq("trimmed"))),
                    other.dsl().fetch(selectFrom(CODES).where(CODES.LABEL.eq("trimmed"))));
            assertThat(other.blockingSession().one(selectFrom(CODES).where(CODES.LABEL.eq("trimmed"))).getCode()).isEqualTo("XY");

            UsersRecord actual = other.blockingSession().all(selectFrom(USERS).where(USERS.ID.eq(1L))).getFirst();
            UsersRecord expected = other.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.eq(1L)));
            DirectRowsTest.sameRecords(actual, expected);
            actual.setName(actual.getName()); // the same value: changed or not as jOOQ's own record is
            expected.setName(expected.getName());
            assertThat(actual.changed()).isEqualTo(expected.changed());
        }
        try (Database limited = test.builder().settings(new Settings().withLargeMaxRows(1L)).build()) {
            sameResults(limited.blockingSession().all(selectFrom(USERS).orderBy(USERS.ID)),
                    limited.dsl().fetch(selectFrom(USERS).orderBy(USERS.ID)));
        }
    }

    @Test
    void a_record_read_directly_stores_as_an_update_and_refreshes(Database db) {
        UsersRecord bob = db.blockingSession().all(selectFrom(USERS).where(USERS.ID.eq(2L))).getFirst();
        bob.setEmail("bob@example.com");
        assertThat(bob.store()).isEqualTo(1);
        assertThat(db.dsl().fetchValue(USERS.EMAIL, USERS.ID.eq(2L))).isEqualTo("bob@example.com");
        assertThat(db.dsl().fetchCount(USERS)).isEqualTo(3);
        bob.refresh();
        assertThat(bob.getEmail()).isEqualTo("bob@example.com");
    }

    /**
     * A value the binding cannot read (a text where the generated class has a bigint: a temporary table that
     * shadows the real one, the schema not rendered) fails as jOOQ's cursor fails: class, the message after the
     * SQL, the driver's exception as the cause; and the connection goes back to the pool.
     */
    @Test
    void a_value_that_cannot_be_read_fails_as_jooq_fails(TestDatabase test) {
        try (Database other = test.builder().settings(new Settings().withRenderSchema(false)).build()) {
            boolean postgres = other.dialect().family() == SQLDialect.POSTGRES;
            Throwable[] failures = other.blockingSession().transaction(tx -> {
                shadowUsersWithAnUnreadableId(tx, postgres);
                Throwable expected = catchThrowable(() -> other.dsl().fetch(selectFrom(USERS)));
                Throwable actual = catchThrowable(() -> tx.all(selectFrom(USERS)));
                Throwable first = catchThrowable(() -> tx.first(selectFrom(USERS)));
                if (!postgres) {
                    tx.execute("drop temporary table users");
                }
                return new Throwable[] {expected, actual, first};
            });
            assertThat(failures[0]).as("jOOQ fails").isNotNull();
            for (Throwable actual : List.of(failures[1], failures[2])) {
                assertThat(actual).isNotNull();
                assertThat(actual.getClass()).isEqualTo(failures[0].getClass());
                assertThat(actual.getMessage()).startsWith("SQL [");
                assertThat(after(actual.getMessage())).isEqualTo(after(failures[0].getMessage()));
                assertThat(actual.getCause().getClass()).isEqualTo(failures[0].getCause().getClass());
            }
            assertThat(other.activeConnections()).isZero();
        }
    }

    /**
     * Inside a transaction: a temporary {@code users} table that shadows the real one (the schema not rendered), whose
     * {@code id} is text, holding one row whose id no {@code bigint} binding can read. PostgreSQL drops it at commit;
     * on MariaDB the caller drops it.
     */
    static void shadowUsersWithAnUnreadableId(Session tx, boolean postgres) {
        if (postgres) {
            tx.execute("create temporary table users (id text, name text, email text, created_at timestamptz)"
                    + " on commit drop");
        } else {
            tx.execute("create temporary table users (id text, name text, email text, created_at timestamp(6))");
        }
        tx.execute("insert into users values ('not a number', 'x', null, null)");
    }

    private static String after(String message) {
        return message.substring(message.indexOf("]; "));
    }
}
