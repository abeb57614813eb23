package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.BLOBS;
import static dev.sqlservice.example.schema.Tables.CODES;
import static dev.sqlservice.example.schema.Tables.DEVICES;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.PRICES;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.TICKETS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record2;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: a prepared typed query runs directly on JDBC (its SQL from prepare, jOOQ's bindings and row mapping,
 * none of jOOQ's execution path). Everything observable must be as when jOOQ executes the same query unprepared:
 * values of every column type, record type and state ({@code changed}, {@code original}, {@code store},
 * {@code refresh}, {@code delete}), exceptions and their messages, timeouts, cancels, transactions, row limits.
 */
@ExampleDatabase
class PreparedDirectRunTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    private boolean postgres;

    @BeforeEach
    void rows(Database db, TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
        db.dsl().insertInto(BLOBS, BLOBS.DIGEST, BLOBS.NAME).values(new byte[] {0, 1, (byte) 255}, "b").execute();
        db.dsl().insertInto(READINGS, READINGS.TAKEN_AT, READINGS.NOTE).values(T0, "gap hour in Europe").execute();
        db.dsl().insertInto(PRICES, PRICES.AMOUNT, PRICES.LABEL).values(new BigDecimal("12.30"), "p").execute();
        db.dsl().insertInto(CODES, CODES.CODE, CODES.LABEL).values("AB12", "c").execute();
        db.dsl().insertInto(DEVICES, DEVICES.ID, DEVICES.NAME).values(UUID.fromString("00000000-0000-0000-0000-0000000000aa"), "d")
                .execute();
        db.dsl().insertInto(TICKETS, TICKETS.TITLE).values("a ticket").execute();
    }

    @Test
    void a_typed_prepared_query_runs_directly_on_the_default_settings(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));

        assertThat(byId.bind(id, 1L).run(db).direct()).as("direct run on default settings").isTrue();
        PreparedQuery<Record> sql = db.prepare("select name from users where id = :id");
        assertThat(sql.bind("id", 1L).run(db).direct()).as(":named SQL keeps jOOQ's execution").isFalse();
    }

    @Test
    void every_column_type_reads_as_the_same_query_unprepared(Database db) {
        same(db, USERS, USERS.ID, 1L);
        same(db, USERS, USERS.ID, 2L);
        same(db, POSTS, POSTS.ID, 2L);
        same(db, BLOBS, BLOBS.DIGEST, new byte[] {0, 1, (byte) 255});
        same(db, READINGS, READINGS.TAKEN_AT, T0);
        same(db, PRICES, PRICES.AMOUNT, new BigDecimal("12.30"));
        same(db, CODES, CODES.CODE, "AB12");
        same(db, DEVICES, DEVICES.ID, UUID.fromString("00000000-0000-0000-0000-0000000000aa"));
        long ticket = db.dsl().select(DSL.max(TICKETS.ID)).from(TICKETS).fetchSingle().value1();
        same(db, TICKETS, TICKETS.ID, ticket);
    }

    private static <R extends UpdatableRecord<R>, K> void same(Database db, Table<R> table, TableField<R, K> key, K value) {
        @SuppressWarnings("unchecked")
        Param<K> p = (Param<K>) param("k", key.getType());
        PreparedQuery<R> byKey = db.prepare(selectFrom(table).where(key.eq(p)));
        assertThat(byKey.bind(p, value).run(db).direct()).isTrue();
        ResultQuery<R> unprepared = selectFrom(table).where(key.eq(value));
        Session session = db.blockingSession();

        R expected = session.one(unprepared);
        for (R actual : List.of(session.one(byKey.bind(p, value)), session.first(byKey.bind(p, value)).orElseThrow(),
                session.oneOrNone(byKey.bind(p, value)).orElseThrow(), session.all(byKey.bind(p, value)).getFirst(),
                Stages.join(db.session().one(byKey.bind(p, value))))) {
            assertThat(actual).as(table.getName()).isInstanceOf(expected.getClass()).isEqualTo(expected);
            assertThat(actual.intoArray()).as(table.getName() + " values").containsExactly(expected.intoArray());
            assertThat(actual.changed()).as(table.getName() + " changed").isEqualTo(expected.changed()).isFalse();
            assertThat(actual.original()).as(table.getName() + " original").isEqualTo(expected.original());
            for (Field<?> field : table.fields()) {
                assertThat(actual.changed(field)).as(field.getName() + " changed").isEqualTo(expected.changed(field));
            }
        }
    }

    @Test
    void a_record_read_directly_stores_as_an_update_refreshes_and_deletes(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));

        UsersRecord ann = db.blockingSession().one(byId.bind(id, 1L));
        ann.setName("Anne");
        assertThat(ann.changed(USERS.NAME)).isTrue();
        assertThat(ann.changed(USERS.ID)).isFalse();
        assertThat(ann.store()).as("store() of a fetched record updates its row").isEqualTo(1);
        assertThat(db.dsl().fetchCount(USERS)).as("no row was inserted").isEqualTo(3);
        assertThat(db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo("Anne");

        db.dsl().update(USERS).set(USERS.NAME, "Annie").where(USERS.ID.eq(1L)).execute();
        ann.refresh();
        assertThat(ann.getName()).isEqualTo("Annie");

        UsersRecord cid = db.blockingSession().first(byId.bind(id, 3L)).orElseThrow();
        assertThat(cid.delete()).isEqualTo(1);
        assertThat(db.dsl().fetchCount(USERS)).isEqualTo(2);
    }

    @Test
    void a_query_of_fields_returns_the_same_record_type_as_unprepared(Database db) {
        Param<Long> user = param("user", Long.class);
        PreparedQuery<Record2<String, PostStatus>> titles = db.prepare(
                select(POSTS.TITLE, POSTS.STATUS).from(POSTS).where(POSTS.USER_ID.eq(user)).orderBy(POSTS.ID));
        assertThat(titles.bind(user, 1L).run(db).direct()).isTrue();

        Result<Record2<String, PostStatus>> prepared = db.blockingSession().all(titles.bind(user, 1L));
        Result<Record2<String, PostStatus>> unprepared = db.blockingSession().all(
                select(POSTS.TITLE, POSTS.STATUS).from(POSTS).where(POSTS.USER_ID.eq(1L)).orderBy(POSTS.ID));

        assertThat(prepared).isEqualTo(unprepared);
        assertThat(prepared.getFirst().getClass()).isEqualTo(unprepared.getFirst().getClass());
        assertThat(prepared.getFirst().value2()).isEqualTo(PostStatus.published);
        assertThat(prepared.get(1).value1()).isEqualTo("two");
        assertThat(prepared.getFirst().get(POSTS.TITLE)).isEqualTo("one");
        assertThat(prepared.fields()).containsExactly(unprepared.fields());
    }

    @Test
    void row_count_rules_and_their_exceptions_are_jooqs(Database db) {
        Param<Long> user = param("user", Long.class);
        PreparedQuery<PostsRecord> byUser = db.prepare(selectFrom(POSTS).where(POSTS.USER_ID.eq(user)).orderBy(POSTS.ID));
        Session session = db.blockingSession();

        assertThat(session.first(byUser.bind(user, 1L))).map(PostsRecord::getId).contains(1L);
        assertThat(session.first(byUser.bind(user, 9L))).isEmpty();
        assertThat(session.oneOrNone(byUser.bind(user, 9L))).isEmpty();
        assertThat(session.all(byUser.bind(user, 9L))).isEmpty();
        assertThat(session.all(byUser.bind(user, 1L))).extracting(PostsRecord::getId).containsExactly(1L, 2L);

        sameFailure(() -> session.one(byUser.bind(user, 1L)),
                () -> session.one(selectFrom(POSTS).where(POSTS.USER_ID.eq(1L)).orderBy(POSTS.ID)));
        sameFailure(() -> session.oneOrNone(byUser.bind(user, 1L)),
                () -> session.oneOrNone(selectFrom(POSTS).where(POSTS.USER_ID.eq(1L)).orderBy(POSTS.ID)));
        sameFailure(() -> session.one(byUser.bind(user, 9L)),
                () -> session.one(selectFrom(POSTS).where(POSTS.USER_ID.eq(9L)).orderBy(POSTS.ID)));
        sameFailure(() -> Stages.join(db.session().one(byUser.bind(user, 9L))),
                () -> Stages.join(db.session().one(selectFrom(POSTS).where(POSTS.USER_ID.eq(9L)).orderBy(POSTS.ID))));
    }

    @Test
    void a_database_error_is_reported_as_jooq_reports_it(Database db) {
        Param<Integer> plus = param("plus", Integer.class);
        // a scalar subquery of two rows: SQLState 21000 on both backends
        Field<Integer> twoRows = DSL.field("(select 1 union all select 2)", Integer.class);
        PreparedQuery<org.jooq.Record1<Integer>> query = db.prepare(select(twoRows.plus(plus).as("x")));
        assertThat(query.bind(plus, 0).run(db).direct()).isTrue();
        DataAccessException direct = catchDataAccess(() -> db.blockingSession().all(query.bind(plus, 0)));
        DataAccessException jooq = catchDataAccess(() -> db.blockingSession().all(select(twoRows.plus(0).as("x"))));

        assertThat(direct.getClass()).isEqualTo(jooq.getClass());
        assertThat(direct.sqlState()).isEqualTo(jooq.sqlState()).isNotEqualTo("00000");
        assertThat(direct.getCause()).isInstanceOf(SQLException.class);
        assertThat(direct.getMessage()).startsWith("SQL [").contains(((SQLException) jooq.getCause()).getMessage());
    }

    @Test
    void a_data_exception_is_jooqs_data_exception(Database db) {
        Param<Integer> plus = param("plus", Integer.class);
        // SQLState class 22: division by zero (PostgreSQL), BIGINT UNSIGNED out of range (MariaDB)
        Field<java.math.BigInteger> big = postgres ? null : DSL.field("18446744073709551615", java.math.BigInteger.class);
        ResultQuery<? extends Record> direct = postgres
                ? select(DSL.inline(1).div(plus).as("x")) : select(big.plus(DSL.field("{0}", java.math.BigInteger.class, plus)).as("x"));
        ResultQuery<? extends Record> unprepared = postgres
                ? select(DSL.inline(1).div(DSL.val(0)).as("x")) : select(big.plus(DSL.field("{0}", java.math.BigInteger.class, DSL.val(1))).as("x"));
        PreparedQuery<? extends Record> prepared = db.prepare(direct);
        DataAccessException viaDirect = catchDataAccess(() -> db.blockingSession().all(prepared.bind("plus", postgres ? 0 : 1)));
        DataAccessException viaJooq = catchDataAccess(() -> db.blockingSession().all(unprepared));

        assertThat(viaJooq).isInstanceOf(org.jooq.exception.DataException.class);
        assertThat(viaDirect.getClass()).isEqualTo(viaJooq.getClass());
        assertThat(viaDirect.sqlState()).isEqualTo(viaJooq.sqlState()).startsWith("22");
    }

    @Test
    void the_statement_timeout_cancels_a_direct_run_on_the_server(Database db) {
        Param<Integer> seconds = param("seconds", Integer.class);
        Field<Integer> sleep = postgres
                ? DSL.field("(select 1 from pg_sleep({0}))", Integer.class, seconds)
                : DSL.field("sleep({0})", Integer.class, seconds);
        PreparedQuery<org.jooq.Record1<Integer>> bound = db.prepare(select(sleep.as("s"))).bind(seconds, 5);
        assertThat(bound.run(db).direct()).isTrue();

        long start = System.nanoTime();
        assertThatThrownBy(() -> db.blockingSession().withStatementTimeout(Duration.ofMillis(200)).first(bound))
                .isInstanceOf(DataAccessException.class)
                .hasCauseInstanceOf(SQLTimeoutException.class)
                .hasMessageContaining("timed out after 200 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void cancelling_an_async_direct_run_stops_it_on_the_server(Database db) throws Exception {
        Param<Integer> seconds = param("seconds", Integer.class);
        Field<Integer> sleep = postgres
                ? DSL.field("(select 1 from pg_sleep({0}))", Integer.class, seconds)
                : DSL.field("sleep({0})", Integer.class, seconds);
        PreparedQuery<org.jooq.Record1<Integer>> slow = db.prepare(select(sleep.as("s")));

        CompletableFuture<Optional<org.jooq.Record1<Integer>>> call = db.session().first(slow.bind(seconds, 10)).toCompletableFuture();
        Thread.sleep(300);
        long start = System.nanoTime();
        call.cancel(true);
        assertThatThrownBy(() -> call.get(5, TimeUnit.SECONDS)).isInstanceOf(CancellationException.class);
        // the connection is free again soon: the server stopped the statement
        assertThat(db.blockingSession().first(selectFrom(USERS).where(USERS.ID.eq(1L)))).isPresent();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void a_direct_run_inside_a_transaction_sees_its_writes_and_rolls_back_with_it(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));

        assertThatThrownBy(() -> db.blockingSession().transaction(tx -> {
            tx.execute(DSL.insertInto(USERS, USERS.ID, USERS.NAME, USERS.CREATED_AT).values(7L, "Tx", T0));
            assertThat(tx.first(byId.bind(id, 7L))).as("its own write, before commit").isPresent();
            assertThat(CompletableFuture.supplyAsync(() -> db.blockingSession().first(byId.bind(id, 7L)),
                    r -> Thread.ofPlatform().start(r)).join()).as("another thread's connection: not committed").isEmpty();
            throw new IllegalStateException("roll back");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(db.blockingSession().first(byId.bind(id, 7L))).isEmpty();
    }

    @Test
    void settings_a_direct_run_cannot_reproduce_keep_jooqs_execution(TestDatabase test) {
        for (Settings settings : List.of(new Settings().withUpdatablePrimaryKeys(true),
                new Settings().withExecuteWithOptimisticLocking(true), new Settings().withMaxRows(5),
                new Settings().withQueryTimeout(30), new Settings().withFetchSize(10),
                new Settings().withAttachRecords(false))) {
            try (Database other = test.builder().settings(settings).build()) {
                Param<Long> id = param("id", Long.class);
                PreparedQuery<UsersRecord> byId = other.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
                assertThat(byId.bind(id, 1L).run(other).direct()).as(settings.toString()).isFalse();
                assertThat(other.blockingSession().one(byId.bind(id, 1L)).getName()).isEqualTo("Ann");
            }
        }
        try (Database updatableKeys = test.builder().settings(new Settings().withUpdatablePrimaryKeys(true)).build()) {
            Param<Long> id = param("id", Long.class);
            UsersRecord ann = updatableKeys.blockingSession().one(
                    updatableKeys.prepare(selectFrom(USERS).where(USERS.ID.eq(id))).bind(id, 3L));
            ann.setId(10L);
            ann.store();
            assertThat(updatableKeys.dsl().fetchExists(USERS, USERS.ID.eq(3L)))
                    .as("with updatable primary keys, store() of a fetched record moves its key").isFalse();
        }
    }

    private static void sameFailure(Runnable direct, Runnable jooq) {
        Throwable expected = catchAny(jooq);
        Throwable actual = catchAny(direct);
        assertThat(actual).isNotNull();
        assertThat(actual.getClass()).isEqualTo(expected.getClass());
        assertThat(actual.getMessage()).isEqualTo(expected.getMessage());
    }

    private static Throwable catchAny(Runnable run) {
        try {
            run.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static DataAccessException catchDataAccess(Runnable run) {
        Throwable t = catchAny(run);
        assertThat(t).isInstanceOf(DataAccessException.class);
        return (DataAccessException) t;
    }
}
