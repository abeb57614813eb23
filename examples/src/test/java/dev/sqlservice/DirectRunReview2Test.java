package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.TICKETS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.TicketsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jooq.Converter;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Second review of the direct run of prepared typed queries (commits 292812d, e5204dc): a prepared run must give
 * what the same verb gives on the unprepared query, jOOQ's execution being the reference.
 */
@ExampleDatabase
class DirectRunReview2Test {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 1, 12, 30, 15, 123_456_000, ZoneOffset.UTC);

    private boolean postgres;

    @BeforeEach
    void rows(Database db, TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 2);
    }

    // ---- 1. silent wrong data: what a direct run reads ----------------------------------------------------------

    private static final Converter<String, String> UPPER = Converter.ofNullable(String.class, String.class,
            v -> v.toUpperCase(java.util.Locale.ROOT), v -> v);

    // DEFECT (silent wrong data): jOOQ reads the rows of a query coerced to fields (ResultQuery.coerce(Field...))
    // with the coerced fields: their names, types and converters (SelectQueryImpl.getFields: coerce, else the select
    // list). Preparing.directFields reads with Select.getSelect(), the select list before the coerce, so the
    // converter is skipped: "Ann" where the unprepared query gives "ANN". No error, on every backend.
    @Test
    void a_query_coerced_to_converted_fields_reads_as_unprepared(Database db, TestDatabase test) {
        Field<String> upper = DSL.field(DSL.name("name"), SQLDataType.VARCHAR.asConvertedDataType(UPPER));
        Param<Long> id = param("id", Long.class);
        ResultQuery<Record1<String>> prepared = select(USERS.NAME).from(USERS).where(USERS.ID.eq(id)).coerce(upper);
        PreparedQuery<Record1<String>> q = db.prepare(prepared);
        Record1<String> unprepared = db.blockingSession().one(select(USERS.NAME).from(USERS).where(USERS.ID.eq(1L)).coerce(upper));
        Record1<String> direct = db.blockingSession().one(q.bind(id, 1L));
        assertThat(unprepared.value1()).isEqualTo("ANN");
        // Measured: jOOQ's execution of the same prepared query (a setting keeping it off the direct run) reads
        // "Ann" too: TypedQuery.query coerces to Preparing's query.fields(), which is also the select list.
        try (Database other = test.builder().settings(new org.jooq.conf.Settings()
                .withQueryPoolable(org.jooq.conf.QueryPoolable.TRUE)).build()) {
            PreparedQuery<Record1<String>> viaJooq = other.prepare(prepared);
            System.out.println("REVIEW2 coerce via jOOQ's execution: " + other.blockingSession().one(viaJooq.bind(id, 1L)).value1());
        }
        assertThat(direct.value1()).as("direct=" + q.bind(id, 1L).run(db).direct()).isEqualTo(unprepared.value1());
    }

    // DEFECT (same cause): coerced to other names, the direct record's fields are the select list's, so code that
    // reads it by the coerced fields (what the query's type promises) fails or reads the wrong column.
    @Test
    void a_query_coerced_to_renamed_fields_reads_as_unprepared(Database db) {
        Field<String> label = DSL.field(DSL.name("label"), String.class);
        Field<Long> key = DSL.field(DSL.name("key"), Long.class);
        Param<Long> id = param("id", Long.class);
        var q = db.prepare(select(USERS.ID, USERS.NAME).from(USERS).where(USERS.ID.eq(id)).coerce(key, label));
        var unprepared = db.blockingSession().one(select(USERS.ID, USERS.NAME).from(USERS).where(USERS.ID.eq(1L)).coerce(key, label));
        var direct = db.blockingSession().one(q.bind(id, 1L));
        assertThat(unprepared.get(label)).isEqualTo("Ann");
        assertThat(direct.fields()).as("direct=" + q.bind(id, 1L).run(db).direct()).containsExactly(unprepared.fields());
        assertThat(direct.get(label)).isEqualTo("Ann");
    }

    private static <R extends Record> void shape(Database db, java.util.function.Function<Field<Long>, ResultQuery<R>> query) {
        Param<Long> id = param("id", Long.class);
        same(db, query.apply(DSL.val(1L)), db.prepare(query.apply(id)).bind(id, 1L));
    }

    // CHECKED: query shapes whose select list is not a plain column list read as unprepared.
    @Test
    void query_shapes_read_as_unprepared(Database db) {
        shape(db, k -> select(USERS.ID, USERS.NAME).from(USERS).where(USERS.ID.ge(k)).orderBy(USERS.ID));
        shape(db, k -> DSL.selectDistinct(POSTS.USER_ID).from(POSTS).where(POSTS.ID.ge(k)));
        shape(db, k -> select(USERS.ID, DSL.rowNumber().over(DSL.orderBy(USERS.ID.desc())).as("rn")).from(USERS)
                .where(USERS.ID.ge(k)).orderBy(USERS.ID));
        shape(db, k -> select(USERS.ID, USERS.NAME.upper().as("name")).from(USERS).where(USERS.ID.ge(k)).orderBy(USERS.ID));
        shape(db, k -> select(USERS.ID).from(USERS).where(USERS.ID.ge(k)).union(select(POSTS.ID).from(POSTS)).orderBy(1));
        var t = DSL.name("t");
        shape(db, k -> DSL.with(t).as(select(USERS.ID, USERS.NAME).from(USERS).where(USERS.ID.ge(k)))
                .select(DSL.field(DSL.name("t", "name"), String.class)).from(DSL.table(t)).orderBy(1));
        shape(db, k -> DSL.selectFrom(select(USERS.ID, USERS.NAME).from(USERS).where(USERS.ID.ge(k)).asTable("d")).orderBy(1));
        shape(db, k -> DSL.select().from(USERS).where(USERS.ID.ge(k)).orderBy(USERS.ID));
        shape(db, k -> select(USERS.asterisk(), POSTS.TITLE).from(USERS.join(POSTS).on(POSTS.USER_ID.eq(USERS.ID)))
                .where(USERS.ID.ge(k)).orderBy(POSTS.ID));
        shape(db, k -> DSL.selectFrom(USERS.join(POSTS).on(POSTS.USER_ID.eq(USERS.ID))).where(USERS.ID.ge(k)).orderBy(POSTS.ID));
        shape(db, k -> selectFrom(USERS).where(USERS.ID.ge(k)).union(selectFrom(USERS).where(USERS.ID.eq(1L))).orderBy(1));
        shape(db, k -> select(USERS.NAME, POSTS.TITLE.as("name")).from(USERS.join(POSTS).on(POSTS.USER_ID.eq(USERS.ID)))
                .where(USERS.ID.ge(k)).orderBy(POSTS.ID));
        shape(db, k -> select(POSTS.STATUS, POSTS.ID).from(POSTS).where(POSTS.ID.ge(k)).orderBy(POSTS.ID));
        shape(db, k -> select(DSL.jsonObject(DSL.key("n").value(USERS.NAME)).as("j")).from(USERS).where(USERS.ID.eq(k)));
        shape(db, k -> select(USERS.ID, USERS.NAME.upper(), USERS.EMAIL, USERS.CREATED_AT).from(USERS).where(USERS.ID.ge(k))
                .orderBy(USERS.ID).coerce(USERS));
        var u = USERS.as("u");
        shape(db, k -> selectFrom(u).where(u.ID.ge(k)).orderBy(u.ID));
    }

    // ---- 2. record state ------------------------------------------------------------------------------------------

    // CHECKED: store(), refresh(), delete(), saveAll() and original() of a record read directly, on a table with a
    // generated identity and a generated column.
    @Test
    void a_ticket_read_directly_stores_refreshes_and_deletes_as_unprepared(Database db) {
        db.dsl().insertInto(TICKETS, TICKETS.TITLE).values("first").values("second").execute();
        long firstId = db.dsl().fetchValue(select(DSL.min(TICKETS.ID)).from(TICKETS));
        Param<Long> id = param("id", Long.class);
        PreparedQuery<TicketsRecord> q = db.prepare(selectFrom(TICKETS).where(TICKETS.ID.eq(id)));
        assertThat(q.bind(id, firstId).run(db).direct()).isTrue();
        TicketsRecord unprepared = db.blockingSession().one(selectFrom(TICKETS).where(TICKETS.ID.eq(firstId)));
        TicketsRecord direct = db.blockingSession().one(q.bind(id, firstId));
        assertThat(direct).isEqualTo(unprepared);
        assertThat(direct.changed()).isEqualTo(unprepared.changed());
        assertThat(direct.original()).isEqualTo(unprepared.original());
        assertThat(direct.original().changed()).isEqualTo(unprepared.original().changed());
        assertThat(direct.getTable()).isEqualTo(unprepared.getTable());

        direct.setTitle("first, longer");
        assertThat(direct.store()).isEqualTo(1);
        assertThat(db.dsl().fetchCount(TICKETS)).isEqualTo(2);
        direct.refresh();
        assertThat(direct.getTitleLength()).isEqualTo("first, longer".length());
        assertThat(direct.changed()).isFalse();
        assertThat(direct.store()).isZero();
        assertThat(direct.delete()).isEqualTo(1);
        assertThat(db.dsl().fetchCount(TICKETS)).isEqualTo(1);

        Result<TicketsRecord> all = db.blockingSession().all(db.prepare(selectFrom(TICKETS).where(TICKETS.ID.gt(id))
                .orderBy(TICKETS.ID)).bind(id, 0L));
        TicketsRecord second = all.get(0);
        assertThat(second.changed()).isFalse();
        second.setTitle("2nd");
        assertThat(second.store()).isEqualTo(1);
        assertThat(db.dsl().fetchValue(TICKETS.TITLE_LENGTH, TICKETS.ID.eq(second.getId()))).isEqualTo(3);
        TicketsRecord again = db.blockingSession().one(q.bind(id, second.getId()));
        again.setTitle("two");
        db.blockingSession().saveAll(List.of(again));
        assertThat(db.dsl().fetchValue(TICKETS.TITLE, TICKETS.ID.eq(second.getId()))).isEqualTo("two");
        assertThat(db.dsl().fetchCount(TICKETS)).isEqualTo(1);
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED
    @Test
    void an_aliased_tables_record_stores_as_unprepared(Database db) {
        var u = USERS.as("u");
        Param<Long> id = param("id", Long.class);
        var q = db.prepare(selectFrom(u).where(u.ID.eq(id)));
        UsersRecord unprepared = db.blockingSession().one(selectFrom(u).where(u.ID.eq(2L)));
        UsersRecord direct = db.blockingSession().one(q.bind(id, 1L));
        assertThat(direct.getTable()).isEqualTo(unprepared.getTable());
        direct.setName("Anne");
        assertThat(direct.store()).isEqualTo(1);
        assertThat(db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo("Anne");
    }

    // CHECKED: INSERT ... RETURNING (a ResultQuery, so it runs directly) leaves its record as jOOQ does.
    @Test
    void an_insert_returning_record_is_in_the_state_of_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        Param<String> name = param("name", String.class);
        var q = db.prepare(DSL.insertInto(USERS, USERS.ID, USERS.NAME, USERS.CREATED_AT).values(id, name, DSL.val(T0)).returning());
        UsersRecord unprepared = db.blockingSession().one(DSL.insertInto(USERS, USERS.ID, USERS.NAME, USERS.CREATED_AT)
                .values(10L, "Ten", T0).returning());
        UsersRecord direct = db.blockingSession().one(q.bind(id, 11L).bind(name, "Ten"));
        assertThat(q.bind(id, 11L).bind(name, "Ten").run(db).direct()).isTrue();
        assertThat(direct.getName()).isEqualTo(unprepared.getName());
        assertThat(direct.changed()).isEqualTo(unprepared.changed());
        assertThat(direct.original().intoMap()).isEqualTo(unprepared.original().with(USERS.ID, 11L).intoMap());
    }

    // ---- 4. exceptions --------------------------------------------------------------------------------------------

    // DEFECT (wrong exception): a Binding (or jOOQ's own binding of an unsupported type) that throws while setting
    // its value fails jOOQ's execution with a DataAccessException ("Error while writing value at bind index"); the
    // direct run unwraps any RuntimeException under jOOQ's bind wrapper (PreparedQuery.TypedQuery.fetch), so the
    // caller gets a bare IllegalArgumentException, which a catch (DataAccessException) no longer sees.
    @Test
    void a_binding_failing_to_set_its_value_fails_as_unprepared(Database db) {
        org.jooq.Binding<String, String> refusing = org.jooq.Binding.of(Converter.ofNullable(String.class, String.class, v -> v, v -> v),
                sql -> sql.render().sql(sql.variable()),
                get -> {
                    try {
                        get.value(get.resultSet().getString(get.index()));
                    } catch (java.sql.SQLException e) {
                        throw new IllegalStateException(e);
                    }
                },
                set -> {
                    throw new IllegalArgumentException("refused to bind " + set.value());
                });
        Param<String> p = param("p", SQLDataType.VARCHAR.asConvertedDataType(refusing));
        var q = db.prepare(selectFrom(USERS).where(USERS.NAME.eq(p)));
        assertThat(q.bind(p, "Ann").run(db).direct()).isTrue();
        Throwable unprepared = catchAny(() -> db.blockingSession().all(selectFrom(USERS).where(USERS.NAME.eq(
                DSL.val("Ann", SQLDataType.VARCHAR.asConvertedDataType(refusing))))));
        Throwable direct = catchAny(() -> db.blockingSession().all(q.bind(p, "Ann")));
        System.out.println("REVIEW2 binding unprepared=" + unprepared + " direct=" + direct);
        assertThat(direct.getClass()).isEqualTo(unprepared.getClass());
        assertThat(direct.getMessage()).isEqualTo(unprepared.getMessage());
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED
    @Test
    void a_unique_violation_of_an_insert_returning_fails_as_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        var q = db.prepare(DSL.insertInto(USERS, USERS.ID, USERS.NAME, USERS.CREATED_AT).values(id, DSL.val("Dup"), DSL.val(T0)).returning());
        Throwable unprepared = catchAny(() -> db.blockingSession().one(DSL.insertInto(USERS, USERS.ID, USERS.NAME, USERS.CREATED_AT)
                .values(1L, "Dup", T0).returning()));
        Throwable direct = catchAny(() -> db.blockingSession().one(q.bind(id, 1L)));
        assertThat(direct.getClass()).isEqualTo(unprepared.getClass());
        assertThat(direct.getMessage()).isEqualTo(unprepared.getMessage());
        assertThat(((org.jooq.exception.DataAccessException) direct).sqlState())
                .isEqualTo(((org.jooq.exception.DataAccessException) unprepared).sqlState());
        assertThat(direct.getCause().getClass()).isEqualTo(unprepared.getCause().getClass());
        assertThat(db.activeConnections()).isZero();
    }

    // ---- 5. concurrency ------------------------------------------------------------------------------------------

    // CHECKED: 8 platform threads joining (join helping) 1,600 runs of one PreparedQuery.
    @Test
    void many_threads_run_one_prepared_query_on_the_async_session(Database db) throws Exception {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> q = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 8; t++) {
            Thread thread = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 200; i++) {
                        long k = 1 + i % 3;
                        CompletableFuture<UsersRecord> f = db.session().one(q.bind(id, k)).toCompletableFuture();
                        UsersRecord r = f.join();
                        if (r.getId() != k || r.changed()) {
                            failures.add(new AssertionError("wrong row " + r));
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertThat(failures).isEmpty();
        assertThat(db.activeConnections()).isZero();
    }

    /** Every row of both, compared as jOOQ gives them: values, fields, record classes, changed flags. */
    private static <R extends Record> void same(Database db, ResultQuery<R> unpreparedQuery, PreparedQuery<R> bound) {
        assertThat(bound.run(db).direct()).as("runs directly: " + bound.sql()).isTrue();
        Result<R> unprepared = db.blockingSession().all(unpreparedQuery);
        Result<R> direct = db.blockingSession().all(bound);
        assertThat(direct).as(bound.sql()).isEqualTo(unprepared);
        assertThat(direct.fields()).as(bound.sql()).containsExactly(unprepared.fields());
        for (int i = 0; i < unprepared.size(); i++) {
            assertThat(direct.get(i).getClass()).as(bound.sql()).isEqualTo(unprepared.get(i).getClass());
            assertThat(direct.get(i).changed()).isEqualTo(unprepared.get(i).changed());
            assertThat(direct.get(i).intoList()).isEqualTo(unprepared.get(i).intoList());
        }
    }

    // CHECKED: errors at execute, while reading, and of one()/oneOrNone() are the unprepared query's.
    @Test
    void failures_are_reported_as_unprepared(Database db) {
        Param<Long> id = param("id", Long.class);
        // at execute: an unknown function
        compare(db, () -> db.blockingSession().all(select(DSL.field("no_such_function({0})", Long.class, USERS.ID).as("q"))
                        .from(USERS).where(USERS.ID.eq(1L))),
                () -> db.blockingSession().all(db.prepare(select(DSL.field("no_such_function({0})", Long.class, USERS.ID).as("q"))
                        .from(USERS).where(USERS.ID.eq(id))).bind(id, 1L)));
        // while reading: a converter refusing a value read
        Converter<String, String> refusing = Converter.ofNullable(String.class, String.class, v -> {
            throw new IllegalStateException("cannot read " + v);
        }, v -> v);
        Field<String> name = USERS.NAME.convert(refusing);
        compare(db, () -> db.blockingSession().all(select(name).from(USERS).where(USERS.ID.eq(1L))),
                () -> db.blockingSession().all(db.prepare(select(name).from(USERS).where(USERS.ID.eq(id))).bind(id, 1L)));
        PreparedQuery<UsersRecord> byMin = db.prepare(selectFrom(USERS).where(USERS.ID.ge(id)));
        compare(db, () -> db.blockingSession().one(selectFrom(USERS).where(USERS.ID.ge(1L))),
                () -> db.blockingSession().one(byMin.bind(id, 1L)));
        compare(db, () -> db.blockingSession().one(selectFrom(USERS).where(USERS.ID.ge(9L))),
                () -> db.blockingSession().one(byMin.bind(id, 9L)));
        compare(db, () -> db.blockingSession().oneOrNone(selectFrom(USERS).where(USERS.ID.ge(1L))),
                () -> db.blockingSession().oneOrNone(byMin.bind(id, 1L)));
        compare(db, () -> db.session().one(selectFrom(USERS).where(USERS.ID.ge(1L))).toCompletableFuture().join(),
                () -> db.session().one(byMin.bind(id, 1L)).toCompletableFuture().join());
    }

    private static void compare(Database db, Runnable unpreparedRun, Runnable directRun) {
        Throwable unprepared = catchAny(unpreparedRun);
        Throwable direct = catchAny(directRun);
        assertThat(unprepared).isNotNull();
        assertThat(direct).as(String.valueOf(direct)).isNotNull();
        assertThat(direct.getClass()).as(direct + " vs " + unprepared).isEqualTo(unprepared.getClass());
        assertThat(direct.getMessage()).isEqualTo(unprepared.getMessage());
        if (unprepared instanceof org.jooq.exception.DataAccessException u) {
            assertThat(((org.jooq.exception.DataAccessException) direct).sqlState()).isEqualTo(u.sqlState());
        }
        assertThat(direct.getCause() == null ? null : direct.getCause().getClass())
                .isEqualTo(unprepared.getCause() == null ? null : unprepared.getCause().getClass());
        assertThat(db.activeConnections()).isZero();
    }

    // ---- 3. leaks ----------------------------------------------------------------------------------------------

    // CHECKED: a pool of one after failures of every kind: no connection, call, deadline, liveness entry or
    // thread-local left behind, and the next run and the next unprepared failure are right.
    @Test
    void a_pool_of_one_survives_every_kind_of_direct_failure(TestDatabase test) throws Exception {
        try (Database one = test.builder().poolSize(1).deadConnectionTimeout(java.time.Duration.ofSeconds(30)).build()) {
            Param<Long> id = param("id", Long.class);
            Param<Integer> seconds = param("seconds", Integer.class);
            Converter<String, String> refusingRead = Converter.ofNullable(String.class, String.class, v -> {
                throw new IllegalStateException("cannot read " + v);
            }, v -> v);
            Converter<String, String> refusingBind = Converter.ofNullable(String.class, String.class, v -> v, v -> {
                throw new IllegalStateException("cannot bind " + v);
            });
            Param<String> bad = param("bad", SQLDataType.VARCHAR.asConvertedDataType(refusingBind));
            var byMin = one.prepare(selectFrom(USERS).where(USERS.ID.ge(id)));
            var divide = one.prepare(select(DSL.field("no_such_function({0})", Long.class, USERS.ID).as("q")).from(USERS)
                    .where(USERS.ID.eq(id)));
            var unreadable = one.prepare(select(USERS.NAME.convert(refusingRead)).from(USERS).where(USERS.ID.eq(id)));
            var unbindable = one.prepare(selectFrom(USERS).where(USERS.NAME.eq(bad)));
            var slow = one.prepare(select((postgres ? DSL.field("(select 1 from pg_sleep({0}))", Integer.class, seconds)
                    : DSL.field("sleep({0})", Integer.class, seconds)).as("s")));
            for (int i = 0; i < 3; i++) {
                assertThat(catchAny(() -> one.blockingSession().one(byMin.bind(id, 1L)))).isNotNull();
                assertThat(catchAny(() -> one.blockingSession().one(byMin.bind(id, 9L)))).isNotNull();
                assertThat(catchAny(() -> one.blockingSession().all(divide.bind(id, 1L)))).isNotNull();
                assertThat(catchAny(() -> one.blockingSession().all(unreadable.bind(id, 1L)))).isNotNull();
                assertThat(catchAny(() -> one.blockingSession().all(unbindable.bind(bad, "x")))).isNotNull();
                assertThat(catchAny(() -> one.blockingSession().withStatementTimeout(java.time.Duration.ofMillis(100))
                        .first(slow.bind(seconds, 3)))).isNotNull();
                assertThat(catchAny(() -> one.blockingSession().withStatementTimeout(java.time.Duration.ofMillis(100))
                        .transaction(tx -> tx.first(slow.bind(seconds, 3))))).isNotNull();
                var running = one.session().first(slow.bind(seconds, 3)).toCompletableFuture();
                var queued = one.session().all(byMin.bind(id, 1L)).toCompletableFuture();
                Thread.sleep(50);
                queued.cancel(true);
                running.cancel(true);
                catchAny(running::join);
                catchAny(queued::join);
                assertThat(catchAny(() -> one.session().one(unreadable.bind(id, 1L)).toCompletableFuture().join())).isNotNull();
            }
            Thread.sleep(200);
            assertThat(one.blockingSession().all(byMin.bind(id, 2L))).hasSize(2);
            assertThat(one.activeConnections()).isZero();
            assertThat(Calls.current()).isNull();
            java.lang.reflect.Field directSql = Calls.class.getDeclaredField("DIRECT_SQL");
            directSql.setAccessible(true);
            assertThat(((ThreadLocal<?>) directSql.get(null)).get()).isNull();
            // nothing left for the liveness watch, which finds running statements through the borrowed connections
            // (a set of running calls until the seventh session)
            java.util.List<Connections.Lease> borrowed = new java.util.ArrayList<>();
            one.connections().forEachLease(borrowed::add);
            assertThat(borrowed).isEmpty();
            // an unrelated failure afterwards names its own SQL
            Throwable later = catchAny(() -> one.blockingSession().all(select(USERS.NAME.convert(refusingRead)).from(USERS)));
            assertThat(later).hasMessageNotContaining("sleep");
        }
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
