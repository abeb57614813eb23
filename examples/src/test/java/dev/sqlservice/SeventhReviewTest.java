package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.testing.TestDatabase;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.sql.DataSource;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * Independent review of the seventh session (issue 17): prepared direct runs bind through {@link DirectBinds}
 * (each value's jOOQ binding, without jOOQ's bind context, falling back to it on any failure), and
 * {@code Calls.run} / {@code Connections.bound} restore their thread-locals with {@code set(previous)} instead of
 * {@code remove()}. Every test compares with jOOQ's own binding of the same query run unprepared, or checks what a
 * later call on the same thread can reach.
 */
@ExampleDatabase
class SeventhReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.ofHours(2));

    private static boolean postgres(Database db) {
        return db.dialect().family() == SQLDialect.POSTGRES;
    }

    // ---------------------------------------------------------------------------------------------------------
    // 1. What the server receives: values, nulls, constants between parameters, a parameter used twice, and the
    //    type the server infers for each bind (PostgreSQL: pg_typeof of the bind itself).

    private static final Param<Long> L = param("l", Long.class);
    private static final Param<String> S = param("s", String.class);
    private static final Param<OffsetDateTime> T = param("t", OffsetDateTime.class);
    private static final Param<BigDecimal> BD = param("bd", BigDecimal.class);
    private static final Param<Boolean> B = param("b", Boolean.class);
    private static final Param<Integer> I = param("i", Integer.class);
    private static final Param<UUID> U = param("u", UUID.class);
    private static final List<Param<?>> PARAMS = List.of(L, S, T, BD, B, I, U);

    /** The select list: each parameter (or its value) interleaved with constants, l and s twice, pg_typeof of each. */
    private static List<Field<?>> selectList(Database db, Function<Param<?>, Field<?>> bind) {
        List<Field<?>> fields = new ArrayList<>();
        int k = 0;
        for (Param<?> p : PARAMS) {
            fields.add(bind.apply(p).as(p.getParamName()));
            fields.add(DSL.val(k * 11L).as("c" + k));
            fields.add(DSL.val("const" + k).as("k" + k));
            if (postgres(db)) {
                fields.add(DSL.field("pg_typeof({0})::text", String.class, bind.apply(p)).as("type_" + p.getParamName()));
            }
            k++;
        }
        fields.add(bind.apply(L).as("l_again"));
        fields.add(bind.apply(S).as("s_again"));
        return fields;
    }

    /** By identity: jOOQ's Param.equals compares rendered SQL, so two parameters may be equal. */
    private static int indexOf(Param<?> p) {
        for (int k = 0; k < PARAMS.size(); k++) {
            if (PARAMS.get(k) == p) {
                return k;
            }
        }
        throw new IllegalArgumentException(p.getParamName());
    }

    // CHECKED: values, nulls (every other one, then all), constants between binds and a parameter used twice reach
    // the server as jOOQ's own bind context sends them for the unprepared query: same values, same inferred types.
    @Test
    void interleaved_constants_repeated_parameters_and_nulls_reach_the_server_as_jooq_binds_them(Database db) {
        PreparedQuery<Record> prepared = db.prepare(select(selectList(db, p -> p)));
        List<Object> values = Arrays.asList(-9_000_000_000L, "t\u00e9xt 'q'", T0, new BigDecimal("-12.3400"), true,
                42, UUID.fromString("00000000-0000-0000-0000-0000000000aa"));
        List<List<Object>> runs = new ArrayList<>();
        runs.add(values);
        List<Object> everyOther = new ArrayList<>(values);
        for (int k = 0; k < everyOther.size(); k += 2) {
            everyOther.set(k, null);
        }
        runs.add(everyOther);
        List<Object> others = new ArrayList<>(values);
        for (int k = 1; k < others.size(); k += 2) {
            others.set(k, null);
        }
        runs.add(others);
        runs.add(Arrays.asList(new Object[values.size()]));
        for (List<Object> run : runs) {
            PreparedQuery<Record> bound = prepared;
            for (int k = 0; k < PARAMS.size(); k++) {
                bound = bound.bind(PARAMS.get(k).getParamName(), run.get(k));
            }
            assertThat(bound.run(db).bindsDirectly()).isEqualTo(postgres(db));
            Record expected = db.blockingSession().one(select(selectList(db,
                    p -> DSL.val(run.get(indexOf(p)), p.getDataType()))));
            assertThat(db.blockingSession().one(bound).intoArray()).as("run %s", run)
                    .containsExactly(expected.intoArray());
            assertThat(Stages.join(db.session().one(bound)).intoArray()).containsExactly(expected.intoArray());
        }
    }

    // CHECKED: in a WHERE clause, a parameter used twice, an IN list mixing parameters and a constant, and a null
    // find the rows jOOQ finds; an array for = any(?) keeps jOOQ's bind context and finds them too.
    @Test
    void where_clauses_with_repeated_parameters_in_lists_and_arrays_find_what_jooq_finds(Database db) {
        UsersAndPosts.users(db, T0);
        Param<Long> a = param("a", Long.class);
        Param<Long> b = param("b", Long.class);
        Param<String> n = param("n", String.class);
        PreparedQuery<?> query = db.prepare(selectFrom(USERS)
                .where(USERS.ID.in(a, b, DSL.val(3L)).and(USERS.ID.ne(a).or(USERS.NAME.ne(n)).or(USERS.NAME.eq(n))))
                .or(USERS.NAME.eq(n)).orderBy(USERS.ID));
        assertThat(query.bind(a, 1L).bind(b, 2L).bind(n, "x").run(db).bindsDirectly()).isEqualTo(postgres(db));
        Long[][] keys = {{1L, 2L}, {2L, null}, {null, null}, {5L, 1L}};
        String[] names = {"Cid", null, "Ann", "nobody"};
        for (Long[] key : keys) {
            for (String name : names) {
                List<Long> expected = db.dsl().fetch(selectFrom(USERS)
                        .where(USERS.ID.in(DSL.val(key[0], USERS.ID), DSL.val(key[1], USERS.ID), DSL.val(3L))
                                .and(USERS.ID.ne(DSL.val(key[0], USERS.ID)).or(USERS.NAME.ne(DSL.val(name, USERS.NAME)))
                                        .or(USERS.NAME.eq(DSL.val(name, USERS.NAME)))))
                        .or(USERS.NAME.eq(DSL.val(name, USERS.NAME))).orderBy(USERS.ID)).map(r -> r.get(USERS.ID));
                assertThat(db.blockingSession().all(query.bind(a, key[0]).bind(b, key[1]).bind(n, name))
                        .map(r -> r.get(USERS.ID))).as("%s %s", Arrays.toString(key), name).isEqualTo(expected);
            }
        }
        if (postgres(db)) {
            Param<Long[]> ids = param("ids", Long[].class);
            PreparedQuery<?> any = db.prepare(selectFrom(USERS).where(USERS.ID.eq(DSL.any(ids))).orderBy(USERS.ID));
            assertThat(any.bind(ids, new Long[] {3L, 1L}).run(db).bindsDirectly()).isFalse();
            assertThat(db.blockingSession().all(any.bind(ids, new Long[] {3L, 1L})).map(r -> r.get(USERS.ID)))
                    .containsExactly(1L, 3L);
        }
    }

    // CHECKED: a Settings that changes a binding (bindOffsetDateTimeType) also changes the null it binds; the
    // direct bind sends the null as jOOQ does (same inferred type on the server).
    @Test
    void a_null_under_bind_offset_date_time_type_is_sent_as_jooq_sends_it(TestDatabase test) {
        try (Database other = test.builder().settings(new org.jooq.conf.Settings().withBindOffsetDateTimeType(true)).build()) {
            PreparedQuery<Record> prepared = other.prepare(select(selectList(other, p -> p)));
            PreparedQuery<Record> bound = prepared;
            for (Param<?> p : PARAMS) {
                bound = bound.bind(p.getParamName(), p == T ? null : p == L ? 1L : null);
            }
            assertThat(bound.run(other).bindsDirectly()).isEqualTo(postgres(other));
            Record expected = other.blockingSession().one(select(selectList(other,
                    p -> DSL.val(p == L ? (Object) 1L : null, p.getDataType()))));
            assertThat(other.blockingSession().one(bound).intoArray()).containsExactly(expected.intoArray());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 2. A value the driver refuses to set: the direct bind fails, binds again through jOOQ, and the failure is
    //    jOOQ's; neither the statement nor the connection leaks (a pool of one serves the next call).

    /** A data source whose statements refuse {@code setLong(i, 13)} with SQLState 22003, as a driver might. */
    private static DataSource refusingThirteen(DataSource pool, List<String> closed) {
        ClassLoader loader = SeventhReviewTest.class.getClassLoader();
        return (DataSource) Proxy.newProxyInstance(loader, new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
            Object result = invoke(method, pool, args);
            if (!(result instanceof Connection connection)) {
                return result;
            }
            return Proxy.newProxyInstance(loader, new Class<?>[] {Connection.class}, (p, m, a) -> {
                Object r = invoke(m, connection, a);
                if (!(r instanceof PreparedStatement statement)) {
                    return r;
                }
                return Proxy.newProxyInstance(loader, new Class<?>[] {PreparedStatement.class}, (ps, sm, sa) -> {
                    if (sm.getName().equals("setLong") && Long.valueOf(13L).equals(sa[1])) {
                        closed.add("refused");
                        throw new SQLException("refused 13", "22003");
                    }
                    if (sm.getName().equals("close")) {
                        closed.add("closed");
                    }
                    if (sm.getName().equals("isWrapperFor")) {
                        return false;
                    }
                    return invoke(sm, statement, sa);
                });
            });
        });
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    // CHECKED: a value the driver refuses fails the prepared (direct) run with the exception jOOQ's unprepared run
    // throws (class, message, SQLState); the statement is closed and the one pooled connection is given back.
    @Test
    void a_value_the_driver_refuses_fails_as_jooq_fails_and_leaks_nothing(Database shared, TestDatabase test) {
        UsersAndPosts.users(shared, T0);
        List<String> closed = java.util.Collections.synchronizedList(new ArrayList<>());
        try (HikariDataSource pool = TestPools.pool(test, 1);
                Database db = Database.builder().dataSource(refusingThirteen(pool, closed)).dialect(test.dialect())
                        .poolSize(1).acquisitionTimeout(java.time.Duration.ofSeconds(5)).build()) {
            Param<Long> id = param("id", Long.class);
            Param<String> name = param("name", String.class);
            PreparedQuery<?> query = db.prepare(selectFrom(USERS).where(USERS.NAME.ne(name)).and(USERS.ID.eq(id)));
            assertThat(query.bind(id, 13L).bind(name, "x").run(db).bindsDirectly()).isEqualTo(postgres(db));

            Throwable unprepared = org.assertj.core.api.Assertions.catchThrowable(() -> db.blockingSession()
                    .oneOrNone(selectFrom(USERS).where(USERS.NAME.ne("x")).and(USERS.ID.eq(13L))));
            assertThat(closed).as("jOOQ's unprepared run tries 13 once").containsOnlyOnce("refused");
            closed.clear();
            Throwable prepared = org.assertj.core.api.Assertions.catchThrowable(() -> db.blockingSession()
                    .oneOrNone(query.bind(id, 13L).bind(name, "x")));
            assertThat(unprepared).isInstanceOf(DataAccessException.class);
            assertThat(prepared).isInstanceOf(unprepared.getClass()).hasMessage(unprepared.getMessage());
            assertThat(((DataAccessException) prepared).sqlState()).isEqualTo(((DataAccessException) unprepared).sqlState());
            assertThat(closed).as("statement closed").contains("closed");
            // on PostgreSQL the direct bind tries 13 first, then jOOQ's bind context again (the fallback)
            assertThat(closed.stream().filter("refused"::equals).count()).isEqualTo(postgres(db) ? 2 : 1);
            // the only connection is back in the pool: the next calls (direct and jOOQ's) run
            assertThat(db.blockingSession().one(query.bind(id, 1L).bind(name, "x")).get(USERS.NAME)).isEqualTo("Ann");
            assertThat(Stages.join(db.session().one(query.bind(id, 2L).bind(name, "x"))).get(USERS.NAME)).isEqualTo("Bob");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 3. Thread-locals restored with set(previous): nothing of a call stays reachable from its thread afterwards.

    @SuppressWarnings("unchecked")
    private static Connection boundConnection(Database db) {
        try {
            java.lang.reflect.Field field = Connections.class.getDeclaredField("boundToThread");
            field.setAccessible(true);
            return ((ThreadLocal<Connection>) field.get(db.connections())).get();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** On the current thread: no call, no bound connection, and jOOQ borrows (and gives back) its own connection. */
    private static void nothingLeftOnThisThread(Database db) throws Exception {
        assertThat(Calls.current()).as("Calls.current() on " + Thread.currentThread()).isNull();
        assertThat(boundConnection(db)).as("bound connection on " + Thread.currentThread()).isNull();
        Connection acquired = db.connections().provider.acquire();
        try {
            assertThat(acquired.isClosed()).isFalse();
        } finally {
            db.connections().provider.release(acquired);
        }
        assertThat(db.dsl().fetchValue("select 1")).isNotNull();
    }

    // CHECKED: after blocking calls that succeed, throw (server error, no row), nest in a transaction and run
    // prepared, a platform thread and a virtual thread have no Call and no bound connection left.
    @Test
    void blocking_calls_leave_nothing_on_platform_or_virtual_threads(Database db) throws Exception {
        UsersAndPosts.users(db, T0);
        Param<Long> id = param("id", Long.class);
        PreparedQuery<?> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        ThrowingRunnable calls = () -> {
            db.blockingSession().one(byId.bind(id, 1L));
            assertThatThrownBy(() -> db.blockingSession().one(byId.bind(id, -1L)))
                    .isInstanceOf(org.jooq.exception.NoDataFoundException.class);
            assertThatThrownBy(() -> db.blockingSession().all("select * from no_such_table"))
                    .isInstanceOf(DataAccessException.class);
            assertThatThrownBy(() -> db.blockingSession().transaction(tx -> {
                tx.one(byId.bind(id, 2L));
                throw new IllegalStateException("undo");
            })).hasMessage("undo");
            nothingLeftOnThisThread(db);
        };
        calls.run();
        Throwable[] failure = new Throwable[1];
        Thread virtual = Thread.ofVirtual().start(() -> {
            try {
                calls.run();
            } catch (Throwable t) {
                failure[0] = t;
            }
        });
        virtual.join();
        if (failure[0] != null) {
            throw new AssertionError(failure[0]);
        }
    }

    // CHECKED: inside a transaction, an inner call that throws restores the transaction's connection and Call (not
    // null, not the inner one): the work's later statements still run in the transaction, and roll back with it.
    @Test
    void an_inner_call_that_throws_restores_the_transactions_connection_and_call(Database db) throws Exception {
        UsersAndPosts.users(db, T0);
        Param<Long> id = param("id", Long.class);
        PreparedQuery<?> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        assertThatThrownBy(() -> db.blockingSession().transaction(tx -> {
            Object call = Calls.current();
            Connection bound = boundConnection(db);
            assertThat(bound).isNotNull();
            assertThatThrownBy(() -> tx.one(byId.bind(id, -1L))).isInstanceOf(org.jooq.exception.NoDataFoundException.class);
            assertThatThrownBy(() -> db.blockingSession().one(byId.bind(id, -2L)))
                    .isInstanceOf(org.jooq.exception.NoDataFoundException.class);
            assertThat(Calls.current()).isSameAs(call);
            assertThat(boundConnection(db)).isSameAs(bound);
            db.dsl().update(USERS).set(USERS.NAME, "Rolled back").where(USERS.ID.eq(1L)).execute();
            assertThat(tx.one(byId.bind(id, 1L)).get(USERS.NAME)).isEqualTo("Rolled back");
            throw new IllegalStateException("undo");
        })).hasMessage("undo");
        assertThat(db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo("Ann");
        nothingLeftOnThisThread(db);
    }

    // CHECKED: asynchronous calls on a platform thread pool handed in (the case set() is for): after calls that
    // succeed and fail there, the pool's thread has no Call and no bound connection; jOOQ there borrows its own.
    @Test
    void a_platform_pool_thread_keeps_no_call_or_connection_after_async_calls(TestDatabase test) throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Database db = test.builder().executor(pool).poolSize(2).build()) {
            UsersAndPosts.users(db, T0);
            Param<Long> id = param("id", Long.class);
            PreparedQuery<?> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
            Stages.join(db.session().one(byId.bind(id, 1L)));
            assertThatThrownBy(() -> Stages.join(db.session().one(byId.bind(id, -1L)))).isNotNull();
            assertThatThrownBy(() -> Stages.join(db.session().all("select * from no_such_table"))).isNotNull();
            assertThatThrownBy(() -> Stages.join(db.session().transaction(tx -> {
                tx.one(byId.bind(id, 2L));
                throw new IllegalStateException("undo");
            }))).isNotNull();
            pool.submit(() -> {
                nothingLeftOnThisThread(db);
                return null;
            }).get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }
}
