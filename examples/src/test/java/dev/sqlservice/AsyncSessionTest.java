package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;
import static org.jooq.impl.DSL.table;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jooq.DSLContext;
import java.util.Set;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Result;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.NoDataFoundException;
import org.jooq.exception.TooManyRowsException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@ExampleDatabase
class AsyncSessionTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private AsyncSession session;

    @BeforeEach
    void threeUsers(Database db) {
        session = db.session();
        db.dsl().insertInto(USERS, USERS.ID, USERS.NAME, USERS.EMAIL)
                .values(1L, "Ann", "ann@example.com")
                .values(2L, "Bob", "bob@example.com")
                .values(3L, "Cid", null)
                .execute();
    }

    private boolean postgres;

    @BeforeEach
    void backend(TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
    }

    /** The same query in each backend's own words, where they differ. */
    private String sql(String postgresSql, String mariaDbSql) {
        return postgres ? postgresSql : mariaDbSql;
    }

    private static <T> T join(CompletionStage<T> stage) {
        return Stages.join(stage);
    }

    private static Throwable failure(CompletionStage<?> stage) {
        return Stages.failure(stage);
    }

    // ---- all ------------------------------------------------------------------------------------------------

    @Test
    void all__returns_every_row_as_generated_records() {
        Result<UsersRecord> users = join(session.all(selectFrom(USERS).orderBy(USERS.ID)));

        assertThat(users).hasSize(3);
        assertThat(users.get(0)).isInstanceOf(UsersRecord.class);
        assertThat(users.map(UsersRecord::getName)).containsExactly("Ann", "Bob", "Cid");
        assertThat(users.get(0).getCreatedAt()).isNotNull();
    }

    @Test
    void all__returns_an_empty_result_when_nothing_matches() {
        assertThat(join(session.all(selectFrom(USERS).where(USERS.ID.gt(100L))))).isEmpty();
    }

    @Test
    void all__runs_a_query_attached_to_another_configuration_on_the_session(Database db) {
        var attached = db.dsl().select(USERS.NAME).from(USERS).where(USERS.ID.eq(2L));

        assertThat(join(session.all(attached)).getValues(USERS.NAME)).containsExactly("Bob");
    }

    @Test
    void all__with_plain_sql_returns_records_readable_by_column_name() {
        Result<Record> rows = join(session.all("select id, name from users where id >= :min order by id", Map.of("min", 2)));

        assertThat(rows.getValues("name", String.class)).containsExactly("Bob", "Cid");
        assertThat(rows.get(0).get("id", Long.class)).isEqualTo(2L);
    }

    @Test
    void all__without_params_runs_plain_sql() {
        assertThat(join(session.all("select count(*) as n from users")).get(0).get("n", Integer.class)).isEqualTo(3);
    }

    // ---- first ----------------------------------------------------------------------------------------------

    @Test
    void first__returns_the_first_row_in_query_order() {
        Optional<UsersRecord> first = join(session.first(selectFrom(USERS).orderBy(USERS.ID.desc())));

        assertThat(first).map(UsersRecord::getName).contains("Cid");
    }

    @Test
    void first__returns_empty_when_there_is_no_row() {
        assertThat(join(session.first(selectFrom(USERS).where(USERS.ID.eq(42L))))).isEmpty();
    }

    @Test
    void first__reads_at_most_one_row_from_the_server() {
        // Computing the second row fails the query (division by zero; on MariaDB, a subquery with two rows).
        String x = sql("1 / (2 - g)", "case when g = 2 then (select g union select g + 1) else g end");
        String rows = sql("generate_series(1, 5) as g", "(select seq as g from seq_1_to_5) as s");
        String sql = "select " + x + " as x from " + rows;

        assertThat(join(session.first(sql))).map(r -> r.get("x", Integer.class)).contains(1);
        assertThat(join(session.first(select(field(x, Integer.class).as("x")).from(table(rows)))))
                .map(r -> r.value1()).contains(1);
        assertThat(failure(session.all(sql))).isInstanceOf(DataAccessException.class);
    }

    // ---- one ------------------------------------------------------------------------------------------------

    @Test
    void one__returns_the_only_row() {
        assertThat(join(session.one(selectFrom(USERS).where(USERS.ID.eq(1L)))).getEmail()).isEqualTo("ann@example.com");
        assertThat(join(session.one("select name from users where id = :id", Map.of("id", 3L))).get("name")).isEqualTo("Cid");
    }

    @Test
    void one__fails_with_NoDataFoundException_when_there_is_no_row() {
        assertThat(failure(session.one(selectFrom(USERS).where(USERS.ID.eq(9L))))).isInstanceOf(NoDataFoundException.class);
        assertThat(failure(session.one("select * from users where id = 9"))).isInstanceOf(NoDataFoundException.class);
    }

    @Test
    void one__fails_with_TooManyRowsException_when_there_are_two_rows_or_more() {
        assertThat(failure(session.one(selectFrom(USERS)))).isInstanceOf(TooManyRowsException.class);
        assertThat(failure(session.one("select * from users"))).isInstanceOf(TooManyRowsException.class);
    }

    @Test
    void one__reads_at_most_two_rows_from_the_server() {
        // Row 3 divides by zero; one() must stop after row 2 and report too many rows, not the error.
        String sql = sql("select 1 / (3 - g) as x from generate_series(1, 5) as g",
                "select case when seq = 3 then (select seq union select seq + 1) else seq end as x from seq_1_to_5");
        assertThat(failure(session.one(sql))).isInstanceOf(TooManyRowsException.class);
        assertThat(failure(session.all(sql))).isInstanceOf(DataAccessException.class);
    }

    // ---- oneOrNone ------------------------------------------------------------------------------------------

    @Test
    void oneOrNone__returns_one_row_or_none_or_fails_with_TooManyRowsException() {
        assertThat(join(session.oneOrNone(selectFrom(USERS).where(USERS.ID.eq(2L))))).map(UsersRecord::getName).contains("Bob");
        assertThat(join(session.oneOrNone(selectFrom(USERS).where(USERS.ID.eq(7L))))).isEmpty();
        assertThat(failure(session.oneOrNone(selectFrom(USERS)))).isInstanceOf(TooManyRowsException.class);
        assertThat(join(session.oneOrNone("select name from users where email = :e", Map.of("e", "bob@example.com"))))
                .map(r -> r.get("name")).contains("Bob");
        assertThat(failure(session.oneOrNone("select name from users"))).isInstanceOf(TooManyRowsException.class);
    }

    // ---- execute --------------------------------------------------------------------------------------------

    @Test
    void execute__returns_the_number_of_affected_rows(DSLContext dsl) {
        assertThat(join(session.execute(dsl.update(USERS).set(USERS.NAME, "X").where(USERS.ID.le(2L))))).isEqualTo(2);
        assertThat(join(session.execute("delete from users where name = :name", Map.of("name", "X")))).isEqualTo(2);
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
    }

    // ---- named parameters -----------------------------------------------------------------------------------

    @Test
    void named_parameters__may_repeat_and_bind_by_name_not_position() {
        Record r = join(session.one("select :a as a1, :b as b, :a as a2", Map.of("a", "x", "b", "y")));

        assertThat(r.intoList()).containsExactly("x", "y", "x");
    }

    @Test
    void named_parameters__expand_collections() {
        assertThat(join(session.all("select name from users where id in (:ids) order by id", Map.of("ids", List.of(1L, 3L))))
                .getValues("name", String.class)).containsExactly("Ann", "Cid");
        assertThat(join(session.all("select name from users where name in (:names) and id <> :id order by id",
                Map.of("names", Set.of("Ann", "Bob", "Nobody"), "id", 1)))
                .getValues("name", String.class)).containsExactly("Bob");
    }

    @Test
    void named_parameters__bind_arrays_as_sql_arrays_on_postgresql() {
        assumeTrue(postgres, "MariaDB and MySQL have no array type");
        assertThat(join(session.all("select name from users where id = any(:ids) order by id", Map.of("ids", new Long[] {2L, 3L})))
                .getValues("name", String.class)).containsExactly("Bob", "Cid");
        assertThat(join(session.all("select name from users where id = any(:ids) order by id", Map.of("ids", new long[] {1L})))
                .getValues("name", String.class)).containsExactly("Ann");
    }

    @Test
    void named_parameters__bind_null_as_sql_null() {
        Map<String, Object> params = new HashMap<>();
        params.put("email", null);
        assertThat(join(session.all(sql("select name from users where email is not distinct from cast(:email as text)",
                "select name from users where email <=> :email"), params))
                .getValues("name", String.class)).containsExactly("Cid");
    }

    @Test
    void named_parameters__leave_casts_strings_comments_and_jsonb_operators_alone() {
        assumeTrue(postgres, "PostgreSQL syntax; see the MariaDB twin below");
        Record r = join(session.one("""
                select :id::bigint + 1 as next, ':not_a_param' as s, $$:nor_this$$ as d, "name" as ":quoted", -- :comment
                       '{"a": 1}'::jsonb ? 'a' as has_a, '{"a": 1}'::jsonb ?| array['b'] as has_b /* :block */
                from users where id = :id
                """, Map.of("id", 1L)));

        assertThat(r.get("next", Long.class)).isEqualTo(2L);
        assertThat(r.get("s")).isEqualTo(":not_a_param");
        assertThat(r.get("d")).isEqualTo(":nor_this");
        assertThat(r.get(":quoted")).isEqualTo("Ann");
        assertThat(r.get("has_a", Boolean.class)).isTrue();
        assertThat(r.get("has_b", Boolean.class)).isFalse();
    }

    @Test
    void named_parameters__leave_backticks_hash_comments_and_backslash_escapes_alone_on_mariadb() {
        assumeTrue(!postgres, "MariaDB/MySQL syntax");
        Record r = join(session.one("""
                select `name` as `:quoted`, 'it\\'s :not_a_param' as s, :id + 1 as next # :comment
                from users where id = :id -- :another
                """, Map.of("id", 1L)));

        assertThat(r.get(":quoted")).isEqualTo("Ann");
        assertThat(r.get("s")).isEqualTo("it's :not_a_param");
        assertThat(r.get("next", Long.class)).isEqualTo(2L);
    }

    @Test
    void named_parameters__values_are_bound_never_spliced(DSLContext dsl) {
        String payload = "x'); drop table users; --";
        Record r = join(session.one("select :v as v", Map.of("v", payload)));

        assertThat(r.get("v")).isEqualTo(payload);
        assertThat(dsl.fetchCount(USERS)).isEqualTo(3);
    }

    @Test
    void named_parameters__misuse_throws_before_anything_runs() {
        assertThatThrownBy(() -> session.all("select * from users where id = :id", Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(":id");
        assertThatThrownBy(() -> session.all("select * from users where id = :id", Map.of("id", 1, "idd", 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(":idd");
        assertThatThrownBy(() -> session.all("select * from users where id in (:ids)", Map.of("ids", List.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(":ids");
        assertThatThrownBy(() -> session.all("select 'unterminated", Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> session.all((String) null, Map.of())).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("sql");
        assertThatThrownBy(() -> session.all("select 1", null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("params");
        assertThatThrownBy(() -> session.all((org.jooq.ResultQuery<Record>) null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("query");
        assertThatThrownBy(() -> session.execute((org.jooq.Query) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> session.transaction(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("work");
    }

    // ---- errors ---------------------------------------------------------------------------------------------

    @Test
    void database_errors__complete_the_stage_with_DataAccessException_keeping_the_sqlstate() {
        Throwable syntax = failure(session.all("selec nothing"));
        assertThat(syntax).isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) syntax).sqlState()).isEqualTo(sql("42601", "42000"));

        Throwable duplicate = failure(session.execute("insert into users (id, name) values (1, 'again')"));
        assertThat(((DataAccessException) duplicate).sqlState()).isEqualTo(sql("23505", "23000"));
    }

    // ---- execution ------------------------------------------------------------------------------------------

    @Test
    void execution__runs_on_virtual_threads_by_default_and_never_on_the_caller() {
        Thread caller = Thread.currentThread();
        Thread worker = join(session.transaction(tx -> Thread.currentThread()));

        assertThat(worker).isNotSameAs(caller);
        assertThat(worker.isVirtual()).isTrue();
    }

    @Test
    void execution__uses_the_configured_executor(TestDatabase test) {
        List<String> threads = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> new Thread(r, "custom-executor"));
        Executor recording = command -> {
            synchronized (threads) {
                threads.add("submitted");
            }
            pool.execute(command);
        };
        try (Database db = test.builder().executor(recording).build()) {
            String name = join(db.session().transaction(tx -> Thread.currentThread().getName()));

            assertThat(name).isEqualTo("custom-executor");
            assertThat(threads).hasSize(1);
        } finally {
            pool.shutdown();
        }
    }

    @Test
    @Tag("slow")
    void execution__ten_thousand_calls_at_once_on_a_pool_of_ten_all_complete(TestDatabase test) {
        try (Database db = test.builder().poolSize(10).build()) {
            List<CompletableFuture<Optional<UsersRecord>>> calls = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                calls.add(db.session().first(selectFrom(USERS).where(USERS.ID.eq((long) (i % 3) + 1))).toCompletableFuture());
            }

            assertThat(CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))).succeedsWithin(Duration.ofMinutes(2));
            assertThat(calls).allSatisfy(c -> assertThat(c.join()).isPresent());
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void execution__calls_run_on_at_most_pool_size_virtual_threads_at_a_time_in_arrival_order(TestDatabase test)
            throws Exception {
        try (Database db = test.builder().poolSize(3).build()) {
            java.util.concurrent.CountDownLatch threeStarted = new java.util.concurrent.CountDownLatch(3);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger mostAtOnce = new java.util.concurrent.atomic.AtomicInteger();
            Set<Boolean> virtual = java.util.concurrent.ConcurrentHashMap.newKeySet();
            List<Integer> started = java.util.Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<Integer>> calls = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int call = i;
                calls.add(db.session().transaction(tx -> {
                    mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
                    virtual.add(Thread.currentThread().isVirtual());
                    started.add(call);
                    threeStarted.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                        return tx.one("select :i as i", Map.of("i", call)).get("i", Integer.class);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        running.decrementAndGet();
                    }
                }).toCompletableFuture());
            }

            assertThat(threeStarted.await(30, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(200);
            // Three workers took the first three calls from one FIFO queue; nothing else starts while they run.
            assertThat(List.copyOf(started)).containsExactlyInAnyOrder(0, 1, 2);
            release.countDown();

            assertThat(CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))).succeedsWithin(WAIT);
            for (int i = 0; i < calls.size(); i++) {
                assertThat(calls.get(i).join()).isEqualTo(i);
            }
            assertThat(started).hasSize(200).doesNotHaveDuplicates();
            assertThat(mostAtOnce.get()).isEqualTo(3);
            assertThat(virtual).containsExactly(true);
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void records__returned_by_a_call_stay_attached_to_the_database_after_it(Database db, DSLContext dsl) {
        UsersRecord ann = join(session.one(selectFrom(USERS).where(USERS.ID.eq(1L))));
        ann.setName("Annie");

        assertThat(ann.store()).isEqualTo(1);
        assertThat(dsl.fetchValue(select(USERS.NAME).from(USERS).where(USERS.ID.eq(1L)))).isEqualTo("Annie");
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void records__stored_inside_transaction_work_take_part_in_the_transaction(DSLContext dsl) {
        UsersRecord ann = join(session.one(selectFrom(USERS).where(USERS.ID.eq(1L))));

        assertThat(failure(session.transaction(tx -> {
            ann.setName("Rolled back");
            ann.store();
            throw new IllegalStateException("undo");
        }))).hasMessage("undo");
        assertThat(dsl.fetchValue(select(USERS.NAME).from(USERS).where(USERS.ID.eq(1L)))).isEqualTo("Ann");
    }

    @Test
    void execution__callbacks_that_block_on_other_calls_do_not_starve_the_workers(TestDatabase test) {
        try (Database db = test.builder().poolSize(2).acquisitionTimeout(Duration.ofSeconds(5)).build()) {
            AsyncSession async = db.session();
            List<CompletableFuture<Long>> chains = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                // A callback attached before the call completes, which waits for a second call: were it run by
                // one of the two workers, both would soon be waiting for calls that only they can run.
                chains.add(async.one("select 1 as one")
                        .thenApply(first -> join(async.one("select :n as n", Map.of("n", 7))).get("n", Long.class))
                        .toCompletableFuture());
            }

            assertThat(CompletableFuture.allOf(chains.toArray(CompletableFuture[]::new))).succeedsWithin(WAIT);
            assertThat(chains).allSatisfy(c -> assertThat(c.join()).isEqualTo(7L));
        }
    }

    @Test
    void close__fails_the_calls_still_queued_and_waits_for_the_running_one(TestDatabase test) throws Exception {
        Database db = test.builder().poolSize(1).build();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        CompletableFuture<Integer> first = holdTheOnlyConnection(db, release,
                tx -> tx.one("select 1 as one").get("one", Integer.class));
        List<CompletableFuture<Record>> queued = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            queued.add(db.session().one("select 2 as two").toCompletableFuture());
        }

        Thread closing = Thread.ofVirtual().start(db::close);
        for (CompletableFuture<Record> call : queued) {
            assertThat(call).failsWithin(WAIT).withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(IllegalStateException.class).withMessageContaining("closed");
        }
        assertThat(closing.join(Duration.ofMillis(200))).as("close() returned while a call was running").isFalse();
        release.countDown();

        assertThat(closing.join(WAIT)).isTrue();
        assertThat(first.join()).isEqualTo(1);
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void records__stored_outside_calls_wait_for_a_connection_like_any_call(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofMillis(300)).build()) {
            UsersRecord ann = join(db.session().one(selectFrom(USERS).where(USERS.ID.eq(1L))));
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            CompletableFuture<Object> holder = holdTheOnlyConnection(db, release, tx -> null);

            ann.setName("Annie");
            assertThatThrownBy(ann::store).isInstanceOf(DataAccessException.class).hasMessageContaining("acquisitionTimeout")
                    .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("08001"));
            release.countDown();
            holder.get(30, TimeUnit.SECONDS);

            assertThat(ann.store()).isEqualTo(1);
            assertThat(db.activeConnections()).isZero();
        }
    }

    /**
     * Starts a transaction on a pool of one that keeps its worker and connection until {@code release} (30 s at
     * most), then returns what {@code then} returns; waits until the transaction has started.
     */
    private static <T> CompletableFuture<T> holdTheOnlyConnection(Database db, java.util.concurrent.CountDownLatch release,
            java.util.function.Function<Session, T> then) throws InterruptedException {
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
        CompletableFuture<T> holder = db.session().transaction(tx -> {
            started.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return then.apply(tx);
        }).toCompletableFuture();
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        return holder;
    }

    // ---- transactions ---------------------------------------------------------------------------------------

    @Test
    void transaction__commits_when_work_returns(DSLContext dsl) {
        int inserted = join(session.transaction(tx -> tx.execute("insert into users (id, name) values (10, 'Tx')")));

        assertThat(inserted).isEqualTo(1);
        assertThat(dsl.fetchCount(USERS, USERS.ID.eq(10L))).isEqualTo(1);
    }

    @Test
    void transaction__rolls_back_and_fails_with_what_work_threw(DSLContext dsl) {
        IllegalStateException boom = new IllegalStateException("boom");
        CompletionStage<Object> stage = session.transaction(tx -> {
            tx.execute("insert into users (id, name) values (11, 'Gone')");
            tx.execute(dsl.update(USERS).set(USERS.NAME, "Changed").where(USERS.ID.eq(1L)));
            throw boom;
        });

        assertThat(failure(stage)).isSameAs(boom);
        assertThat(dsl.fetchCount(USERS, USERS.ID.eq(11L))).isZero();
        assertThat(dsl.fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo("Ann");
    }

    @Test
    void transaction__inside_work_nests_as_a_savepoint(DSLContext dsl) {
        join(session.transaction(tx -> {
            tx.execute("insert into users (id, name) values (20, 'Outer')");
            assertThatThrownBy(() -> tx.transaction(inner -> {
                inner.execute("insert into users (id, name) values (21, 'Inner')");
                throw new IllegalArgumentException("inner fails");
            })).hasMessage("inner fails");
            tx.transaction(inner -> inner.execute("insert into users (id, name) values (22, 'Inner kept')"));
            return null;
        }));

        assertThat(dsl.fetch("select id from users where id >= 20 order by id").getValues(0, Long.class)).containsExactly(20L, 22L);
    }

    @Test
    void transaction__work_that_joins_the_outer_async_session_on_a_pool_of_one_neither_hangs_nor_escapes_it(
            TestDatabase test, DSLContext dsl) {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofSeconds(5)).build()) {
            AsyncSession outer = db.session();
            CompletionStage<Long> stage = db.session().transaction(tx -> {
                tx.execute("insert into users (id, name) values (30, 'Seen')");
                long seen = join(outer.one("select count(*) as n from users where id = 30")).get("n", Long.class);
                join(outer.execute("insert into users (id, name) values (31, 'Rolled back')"));
                if (seen == 1) {
                    throw new IllegalStateException("roll back after the outer calls");
                }
                return seen;
            });

            assertThat(failure(stage)).hasMessage("roll back after the outer calls");
            assertThat(dsl.fetchCount(USERS, USERS.ID.in(30L, 31L))).isZero();
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void transaction__session_cannot_be_used_after_its_work_returned() {
        Session escaped = join(session.transaction(tx -> tx));

        assertThatThrownBy(() -> escaped.all("select 1")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("transaction");
    }

    @Test
    void transaction__session_cannot_be_used_from_another_thread() {
        AtomicReference<Throwable> fromOtherThread = new AtomicReference<>();
        join(session.transaction(tx -> {
            Thread other = Thread.ofVirtual().start(() -> {
                try {
                    tx.all("select 1");
                } catch (Throwable t) {
                    fromOtherThread.set(t);
                }
            });
            try {
                other.join();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return null;
        }));

        assertThat(fromOtherThread.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("thread");
    }

    @Test
    void blocking_session__has_the_same_verbs(Session blocking, DSLContext dsl) {
        assertThat(blocking.all(selectFrom(USERS))).hasSize(3);
        assertThat(blocking.first(selectFrom(USERS).orderBy(USERS.ID))).map(UsersRecord::getId).contains(1L);
        assertThat(blocking.one("select name from users where id = :id", Map.of("id", 2)).get("name")).isEqualTo("Bob");
        assertThat(blocking.oneOrNone(selectFrom(USERS).where(USERS.ID.eq(8L)))).isEmpty();
        assertThat(blocking.execute("update users set name = upper(name)")).isEqualTo(3);
        String name = blocking.transaction(tx -> tx.one(selectFrom(USERS).where(USERS.ID.eq(1L))).getName());
        assertThat(name).isEqualTo("ANN");
        assertThat(dsl.fetchCount(POSTS)).isZero();
    }

    // ---- Database -------------------------------------------------------------------------------------------

    @Test
    void database__builder_validates_each_setting_with_a_message_naming_it() {
        assertThatThrownBy(() -> Database.builder().build()).hasMessageContaining("url").hasMessageContaining("dataSource");
        assertThatThrownBy(() -> Database.builder().url("jdbc:postgresql://h/db").poolSize(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("poolSize");
        assertThatThrownBy(() -> Database.builder().url("jdbc:postgresql://h/db").acquisitionTimeout(Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("acquisitionTimeout");
        assertThatThrownBy(() -> Database.builder().url("jdbc:postgresql://h/db").statementTimeout(Duration.ofSeconds(-1)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("statementTimeout");
        assertThatThrownBy(() -> Database.builder().url("postgres://h/db").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("url");
        assertThatThrownBy(() -> Database.builder().url("jdbc:h2:mem:x").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dialect");
        assertThatThrownBy(() -> Database.builder().url("jdbc:postgresql://h/db").migrate("").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("migrate");
    }

    @Test
    void database__an_unreachable_server_fails_at_build_naming_host_and_database_but_never_the_password() {
        String secret = "s3cr3t-Pa55";
        assertThatThrownBy(() -> Database.builder()
                        .url("jdbc:postgresql://127.0.0.1:1/inventory?password=" + secret)
                        .username("app").password(secret)
                        .acquisitionTimeout(Duration.ofSeconds(2))
                        .build())
                .isInstanceOf(DataAccessException.class)
                .hasMessageContaining("127.0.0.1:1/inventory")
                .satisfies(e -> assertThat(Arrays.toString(e.getStackTrace()) + e + e.getCause()).doesNotContain(secret));
    }

    @Test
    void database__migrates_at_build_when_asked(TestDatabase test, DSLContext dsl, @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        assumeTrue(postgres, "PostgreSQL's currentSchema URL parameter");
        java.nio.file.Files.writeString(dir.resolve("V1__probe.sql"), "create table probe (id int primary key);");
        String url = test.url() + (test.url().contains("?") ? "&" : "?") + "currentSchema=migrate_probe";
        try (Database db = test.builder().url(url).migrate("filesystem:" + dir).build()) {
            assertThat(db.blockingSession().all("select * from probe")).isEmpty();
        } finally {
            dsl.execute("drop schema if exists migrate_probe cascade");
        }
    }

    @Test
    void database__calls_after_close_fail_fast(TestDatabase test) {
        Database db = test.builder().build();
        db.close();

        assertThatThrownBy(() -> db.session().all("select 1")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void database__dialect_is_inferred_from_the_url() {
        assertThat(JdbcUrls.dialect("jdbc:postgresql://h/db")).isEqualTo(org.jooq.SQLDialect.POSTGRES);
        assertThat(JdbcUrls.dialect("jdbc:mariadb://h/db")).isEqualTo(org.jooq.SQLDialect.MARIADB);
        assertThat(JdbcUrls.dialect("jdbc:mysql://h/db")).isEqualTo(org.jooq.SQLDialect.MYSQL);
        assertThat(JdbcUrls.describe("jdbc:postgresql://u:pw@h:5432/db?password=pw&ssl=true")).isEqualTo("postgresql://h:5432/db");
        assertThat(JdbcUrls.redact("jdbc:mariadb://h/db?user=a&password=pw")).doesNotContain("pw");
    }
}
