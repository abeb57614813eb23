package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.CODES;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.CodesRecord;
import dev.sqlservice.example.schema.tables.records.ReadingsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.TimeZone;
import org.jooq.Converter;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Review of issue 17 (commit 292812d): a prepared typed query that runs directly on JDBC must give what the same
 * query gives when jOOQ executes it unprepared.
 */
@ExampleDatabase
class DirectRunReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 1, 12, 30, 15, 123_456_000, ZoneOffset.UTC);

    private boolean postgres;

    @BeforeEach
    void rows(Database db, TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 2);
        db.dsl().insertInto(CODES, CODES.CODE, CODES.LABEL).values("AB", "c").execute();
    }

    // ---- probes: prepared (direct) vs unprepared (jOOQ) -------------------------------------------------------

    // DEFECT (silent wrong data): TypedQuery.read is table.fields() for any query whose record type is a
    // TableRecord, and the direct run reads the result set positionally with those fields. A query coerced to a
    // table whose select list is in another order (or a subset) therefore puts the email into getName(): no error.
    // jOOQ's execution of the same query gives the right columns.
    @Test
    void a_query_coerced_to_a_table_reads_its_columns_by_name_as_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        ResultQuery<UsersRecord> prepared = select(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT).from(USERS)
                .where(USERS.ID.eq(id)).coerce(USERS);
        PreparedQuery<UsersRecord> q = db.prepare(prepared);
        assertThat(q.bind(id, 1L).run(db).direct()).isTrue();
        UsersRecord unprepared = db.blockingSession().one(select(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT)
                .from(USERS).where(USERS.ID.eq(1L)).coerce(USERS));
        UsersRecord direct = db.blockingSession().one(q.bind(id, 1L));
        // Corrected by the author after the review: jOOQ maps a query coerced to a table by position (measured:
        // the unprepared record's name holds the email), so "as unprepared" is that mapping, not by name.
        assertThat(direct.intoMap()).isEqualTo(unprepared.intoMap());
        assertThat(direct.getName()).isEqualTo(unprepared.getName());
        assertThat(direct.getEmail()).isEqualTo(unprepared.getEmail());
    }

    // DEFECT (silent wrong data / setting ignored): Database.runsPreparedDirectly checks maxRows but not
    // largeMaxRows, which jOOQ applies with Statement.setLargeMaxRows; the direct run returns every row.
    @Test
    void a_large_max_rows_setting_limits_a_prepared_query_as_unprepared(TestDatabase test) {
        try (Database other = test.builder().settings(new Settings().withLargeMaxRows(1L)).build()) {
            PreparedQuery<UsersRecord> all = other.prepare(selectFrom(USERS).where(USERS.ID.gt(param("min", Long.class))));
            int unprepared = other.blockingSession().all(selectFrom(USERS).where(USERS.ID.gt(0L))).size();
            int direct = other.blockingSession().all(all.bind("min", 0L)).size();
            assertThat(direct).isEqualTo(unprepared);
        }
    }

    // CHECKED, passes: fetchTrimmedCharValues is honoured (it lives in the binding).
    @Test
    void trimmed_char_values_read_as_unprepared(TestDatabase test) {
        try (Database other = test.builder().settings(new Settings().withFetchTrimmedCharValues(true)).build()) {
            PreparedQuery<CodesRecord> q = other.prepare(selectFrom(CODES).where(CODES.LABEL.eq(param("l", String.class))));
            String unprepared = other.blockingSession().one(selectFrom(CODES).where(CODES.LABEL.eq("c"))).getCode();
            String direct = other.blockingSession().one(q.bind("l", "c")).getCode();
            assertThat(direct).isEqualTo(unprepared);
        }
    }

    // DEFECT on MariaDB (silent wrong data): a nested row() projection comes back as a record of nulls when run
    // directly; jOOQ's execution returns (Ann, ann@example.com). Passes on PostgreSQL.
    @Test
    void a_nested_row_reads_as_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        // Resolved after the review: the defect was older than the direct run (jOOQ's execution of the prepared
        // query read nulls too); MariaDB now refuses to prepare such a query instead of returning wrong data.
        if (!postgres) {
            assertThatThrownBy(() -> db.prepare(select(USERS.ID, DSL.row(USERS.NAME, USERS.EMAIL)).from(USERS)
                    .where(USERS.ID.eq(id)))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested record");
            return;
        }
        var q = db.prepare(select(USERS.ID, DSL.row(USERS.NAME, USERS.EMAIL)).from(USERS).where(USERS.ID.eq(id)));
        var unprepared = db.blockingSession().one(select(USERS.ID, DSL.row(USERS.NAME, USERS.EMAIL)).from(USERS).where(USERS.ID.eq(1L)));
        var direct = db.blockingSession().one(q.bind(id, 1L));
        assertThat(direct).as(q.sql()).isEqualTo(unprepared);
    }

    // DEFECT on MariaDB (silent wrong data): select(USERS.ID, USERS) (a table as a nested record) returns null
    // for the nested UsersRecord when run directly. Passes on PostgreSQL.
    @Test
    void a_table_as_field_reads_as_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        // Resolved after the review as the nested row above: refused on MariaDB, read right on PostgreSQL.
        if (!postgres) {
            assertThatThrownBy(() -> db.prepare(select(USERS.ID, USERS).from(USERS).where(USERS.ID.eq(id))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested record");
            return;
        }
        var q = db.prepare(select(USERS.ID, USERS).from(USERS).where(USERS.ID.eq(id)));
        var unprepared = db.blockingSession().one(select(USERS.ID, USERS).from(USERS).where(USERS.ID.eq(1L)));
        var direct = db.blockingSession().one(q.bind(id, 1L));
        assertThat(direct.value2()).isEqualTo(unprepared.value2());
        assertThat(direct.value2().changed()).isEqualTo(unprepared.value2().changed());
    }

    // CHECKED, passes on both backends.
    @Test
    void a_multiset_reads_as_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        var ms = DSL.multiset(select(POSTS.TITLE).from(POSTS).where(POSTS.USER_ID.eq(USERS.ID)).orderBy(POSTS.ID));
        var q = db.prepare(select(USERS.NAME, ms).from(USERS).where(USERS.ID.eq(id)));
        var unprepared = db.blockingSession().one(select(USERS.NAME, ms).from(USERS).where(USERS.ID.eq(1L)));
        var direct = db.blockingSession().one(q.bind(id, 1L));
        assertThat(direct).isEqualTo(unprepared);
    }

    // CHECKED, passes on both backends.
    @Test
    void an_aliased_table_and_an_implicit_join_read_as_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        var u = USERS.as("u");
        var q = db.prepare(selectFrom(u).where(u.ID.eq(id)));
        UsersRecord unprepared = db.blockingSession().one(selectFrom(u).where(u.ID.eq(1L)));
        UsersRecord direct = db.blockingSession().one(q.bind(id, 1L));
        assertThat(direct).isEqualTo(unprepared);
        assertThat(direct.original()).isEqualTo(unprepared.original());
        Result<UsersRecord> all = db.blockingSession().all(q.bind(id, 1L));
        Result<UsersRecord> allU = db.blockingSession().all(selectFrom(u).where(u.ID.eq(1L)));
        assertThat(all.fields()).containsExactly(allU.fields());

        var j = db.prepare(select(POSTS.TITLE, POSTS.users().NAME).from(POSTS).where(POSTS.ID.eq(id)));
        var ju = db.blockingSession().one(select(POSTS.TITLE, POSTS.users().NAME).from(POSTS).where(POSTS.ID.eq(1L)));
        assertThat(db.blockingSession().one(j.bind(id, 1L))).isEqualTo(ju);
    }

    // DEFECT (wrong error): a failure while reading the rows (jOOQ's cursor from fetchLazy(ResultSet)) is reported
    // with "SQL [null]" and a generated alias in the field name, not with the SQL sent as jOOQ does; the
    // README promises the message "SQL [...]; " and the driver's.
    @Test
    void a_value_the_row_reading_cannot_convert_fails_as_unprepared(Database db) {
        Param<Integer> p = param("p", Integer.class);
        var big = DSL.field("({0} + 99999999999999999999)", Long.class, p).as("x");
        var q = db.prepare(select(big));
        assertThat(q.bind(p, 1).run(db).direct()).isTrue();
        Throwable unprepared = catchAny(() -> db.blockingSession().all(select(DSL.field("({0} + 99999999999999999999)", Long.class,
                DSL.val(1)).as("x"))));
        Throwable direct = catchAny(() -> db.blockingSession().all(q.bind(p, 1)));
        assertThat(unprepared).isNotNull();
        assertThat(direct).isNotNull();
        assertThat(direct.getClass()).isEqualTo(unprepared.getClass());
        assertThat(direct.getMessage()).isEqualTo(unprepared.getMessage());
        assertThat(db.activeConnections()).isZero();
    }

    // DEFECT (wrong error): a user Converter that throws while binding surfaces as its own exception through jOOQ's
    // execution (IllegalStateException), but as a DataAccessException from the direct run's bindContext.
    @Test
    void a_converter_failing_on_bind_fails_as_unprepared(Database db) {
        Converter<String, String> refusing = Converter.ofNullable(String.class, String.class, v -> v, v -> {
            throw new IllegalStateException("refused " + v);
        });
        Param<String> p = param("n", SQLDataType.VARCHAR.asConvertedDataType(refusing));
        var q = db.prepare(selectFrom(USERS).where(USERS.NAME.eq(p)));
        Throwable unprepared = catchAny(() -> db.blockingSession().all(selectFrom(USERS).where(USERS.NAME.eq(
                DSL.val("Ann", SQLDataType.VARCHAR.asConvertedDataType(refusing))))));
        Throwable direct = catchAny(() -> db.blockingSession().all(q.bind(p, "Ann")));
        assertThat(unprepared).isNotNull();
        assertThat(direct).isNotNull();
        assertThat(direct.getClass()).as(String.valueOf(direct)).isEqualTo(unprepared.getClass());
        assertThat(direct.getMessage()).isEqualTo(unprepared.getMessage());
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED, passes (PostgreSQL).
    @Test
    void an_array_parameter_binds_as_unprepared(Database db) {
        org.junit.jupiter.api.Assumptions.assumeTrue(postgres, "arrays are PostgreSQL's");
        Param<Long[]> ids = param("ids", Long[].class);
        var q = db.prepare(selectFrom(USERS).where(USERS.ID.eq(DSL.any(ids))).orderBy(USERS.ID));
        var direct = db.blockingSession().all(q.bind(ids, new Long[] {1L, 3L}));
        assertThat(direct).extracting(UsersRecord::getId).containsExactly(1L, 3L);
    }

    // CHECKED, passes: the MariaDB Timestamps visit listener applies to the direct run's bindContext.
    @Test
    void a_timestamp_in_the_jvm_zones_dst_gap_binds_as_unprepared(Database db) {
        OffsetDateTime gap = OffsetDateTime.of(2026, 3, 29, 2, 30, 0, 123_456_000, ZoneOffset.UTC);
        db.dsl().insertInto(READINGS, READINGS.TAKEN_AT, READINGS.NOTE).values(gap, "gap").execute();
        TimeZone previous = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("Europe/Berlin"));
        try {
            Param<OffsetDateTime> at = param("at", OffsetDateTime.class);
            var q = db.prepare(selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(at)));
            assertThat(db.blockingSession().oneOrNone(selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(gap)))).isPresent();
            assertThat(db.blockingSession().oneOrNone(q.bind(at, gap))).map(ReadingsRecord::getNote).contains("gap");
        } finally {
            TimeZone.setDefault(previous);
        }
    }

    @Test
    void failing_direct_runs_leak_no_connection_and_leave_the_pool_usable(TestDatabase test) {
        // CHECKED, expected to pass: every failure path of TypedQuery.fetch releases its connection
        try (Database one = test.builder().poolSize(1).build()) {
            Param<Long> user = param("user", Long.class);
            var byUser = one.prepare(selectFrom(POSTS).where(POSTS.USER_ID.eq(user)));
            Param<Integer> p = param("p", Integer.class);
            var unreadable = one.prepare(select(DSL.field("({0} + 99999999999999999999)", Long.class, p).as("x")));
            Param<Integer> seconds = param("seconds", Integer.class);
            var slow = one.prepare(select((postgres ? DSL.field("(select 1 from pg_sleep({0}))", Integer.class, seconds)
                    : DSL.field("sleep({0})", Integer.class, seconds)).as("s")));
            for (int i = 0; i < 3; i++) {
                assertThat(catchAny(() -> one.blockingSession().one(byUser.bind(user, 1L))))
                        .isInstanceOf(org.jooq.exception.TooManyRowsException.class);
                assertThat(catchAny(() -> one.blockingSession().one(byUser.bind(user, 9L))))
                        .isInstanceOf(org.jooq.exception.NoDataFoundException.class);
                assertThat(catchAny(() -> one.blockingSession().all(unreadable.bind(p, 1)))).isNotNull();
                assertThat(catchAny(() -> one.blockingSession().withStatementTimeout(java.time.Duration.ofMillis(100))
                        .first(slow.bind(seconds, 3)))).isInstanceOf(org.jooq.exception.DataAccessException.class);
                var call = one.session().first(slow.bind(seconds, 3)).toCompletableFuture();
                call.cancel(true);
            }
            assertThat(one.blockingSession().first(byUser.bind(user, 2L))).isEmpty();
            assertThat(one.activeConnections()).isZero();
        }
    }

    @Test
    void a_statement_timeout_inside_a_transaction_stops_a_direct_run_and_rolls_back(Database db) {
        // CHECKED, expected to pass
        Param<Integer> seconds = param("seconds", Integer.class);
        var slow = db.prepare(select((postgres ? DSL.field("(select 1 from pg_sleep({0}))", Integer.class, seconds)
                : DSL.field("sleep({0})", Integer.class, seconds)).as("s")));
        long start = System.nanoTime();
        Throwable t = catchAny(() -> db.blockingSession().withStatementTimeout(java.time.Duration.ofMillis(200)).transaction(tx -> {
            tx.execute(DSL.insertInto(USERS, USERS.ID, USERS.NAME, USERS.CREATED_AT).values(8L, "Tx", T0));
            return tx.first(slow.bind(seconds, 5));
        }));
        assertThat(t).isInstanceOf(org.jooq.exception.DataAccessException.class).hasMessageContaining("timed out");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(java.time.Duration.ofMillis(1500));
        assertThat(db.dsl().fetchExists(USERS, USERS.ID.eq(8L))).isFalse();
        assertThat(db.activeConnections()).isZero();
    }

    private static Throwable catchAny(Runnable run) {
        try {
            run.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }
}
