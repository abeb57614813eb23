package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.ExecuteListenerProvider;
import org.jooq.Param;
import org.jooq.RecordListener;
import org.jooq.RecordListenerProvider;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SelectQuery;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.impl.DefaultRecordListenerProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Independent review of 7e07869: the per-call gate of the direct read paths ({@link Database#readsDirectly}), and
 * {@code getResult()} after a direct {@code all()}. The reference is jOOQ's own reading ({@code db.dsl()}) or the
 * same call with {@link DirectRows#unpreparedEnabled} off. {@code DEFECT__} tests fail at the commit;
 * {@code CHECKED__} tests pass (risks that held). Isolated: reads the global counter and flips the global switch.
 */
@ExampleDatabase
@Isolated
class GateReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    /** The events an application's ExecuteListener (metrics, auditing) sees. */
    static final class Events implements ExecuteListener {
        final List<String> seen = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void executeEnd(ExecuteContext ctx) {
            seen.add("executeEnd");
        }

        @Override
        public void recordEnd(ExecuteContext ctx) {
            seen.add("recordEnd");
        }

        @Override
        public void fetchEnd(ExecuteContext ctx) {
            seen.add("fetchEnd");
        }
    }

    /**
     * Holds the only connection of a {@code poolSize(1)} database in a transaction on another thread, starts
     * {@code call} on a third thread, waits until that thread is blocked waiting for the connection (it has passed
     * the gate by then), runs {@code meanwhile}, then releases the connection and returns the call's value.
     */
    private static <T> T whileWaitingForTheConnection(Database db, Supplier<T> call, Runnable meanwhile)
            throws Exception {
        AtomicReference<T> value = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread caller;
        try (HeldConnection held = HeldConnection.of(db)) {
            caller = Thread.ofPlatform().start(() -> {
                try {
                    value.set(call.get());
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (caller.getState() != Thread.State.WAITING && caller.getState() != Thread.State.TIMED_WAITING
                    && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            Thread.sleep(200);
            meanwhile.run();
        }
        caller.join(20_000);
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        return value.get();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Races: the gate is read before the call waits for its connection; a listener appended meanwhile is on the
    // configuration when jOOQ executes the statement, but the call has already chosen the direct path.
    // ------------------------------------------------------------------------------------------------------------

    @Test
    void DEFECT__a_record_listener_appended_while_all_waits_for_its_connection_is_skipped(TestDatabase test)
            throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            UsersAndPosts.users(db, T0);
            RecordListenerProvider[] before = db.dsl().configuration().recordListenerProviders();
            DirectReadGateTest.UpperCaseOnLoad upper = new DirectReadGateTest.UpperCaseOnLoad();
            try {
                List<String> names = whileWaitingForTheConnection(db,
                        () -> db.blockingSession().all(selectFrom(USERS).orderBy(USERS.ID)).map(UsersRecord::getName),
                        () -> db.dsl().configuration().setAppending(upper));
                List<String> jooq = db.dsl().fetch(selectFrom(USERS).orderBy(USERS.ID)).map(UsersRecord::getName);
                assertThat(jooq).as("jOOQ's fetch, the listener on").containsExactly("ANN", "BOB", "CID");
                assertThat(names).as("all() whose statement ran after the RecordListener was on the configuration")
                        .isEqualTo(jooq);
            } finally {
                db.dsl().configuration().set(before);
            }
        }
    }

    @Test
    void DEFECT__an_execute_listener_appended_while_all_waits_sees_the_execution_but_no_records(TestDatabase test)
            throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            UsersAndPosts.users(db, T0);
            ExecuteListenerProvider[] before = db.dsl().configuration().executeListenerProviders();
            Events events = new Events();
            try {
                whileWaitingForTheConnection(db, () -> db.blockingSession().all(selectFrom(USERS).orderBy(USERS.ID)),
                        () -> db.dsl().configuration().setAppending(events));
                List<String> mid = List.copyOf(events.seen);
                events.seen.clear();
                db.blockingSession().all(selectFrom(USERS).orderBy(USERS.ID));
                assertThat(mid).as("events of the all() whose statement jOOQ executed with the listener on")
                        .isEqualTo(events.seen);
            } finally {
                db.dsl().configuration().set(before);
            }
        }
    }

    @Test
    void DEFECT__a_record_listener_appended_while_a_prepared_run_waits_for_its_connection_is_skipped(
            TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            UsersAndPosts.users(db, T0);
            Param<Long> id = DSL.param("id", Long.class);
            PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
            RecordListenerProvider[] before = db.dsl().configuration().recordListenerProviders();
            try {
                String name = whileWaitingForTheConnection(db,
                        () -> db.blockingSession().one(byId.bind(id, 2L)).getName(),
                        () -> db.dsl().configuration().setAppending(new DirectReadGateTest.UpperCaseOnLoad()));
                assertThat(name).as("a prepared run that started before the RecordListener was on, ran after")
                        .isEqualTo(db.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.eq(2L))).getName())
                        .isEqualTo("BOB");
            } finally {
                db.dsl().configuration().set(before);
            }
        }
    }

    @Test
    void DEFECT__async_all_reads_the_gate_before_it_has_its_connection(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            UsersAndPosts.users(db, T0);
            RecordListenerProvider[] before = db.dsl().configuration().recordListenerProviders();
            try {
                java.util.concurrent.CompletionStage<Result<UsersRecord>>[] stage = new java.util.concurrent.CompletionStage[1];
                try (HeldConnection held = HeldConnection.of(db)) {
                    stage[0] = db.session().all(selectFrom(USERS).orderBy(USERS.ID));
                    Thread.sleep(300);
                    db.dsl().configuration().setAppending(new DirectReadGateTest.UpperCaseOnLoad());
                }
                List<String> names = stage[0].toCompletableFuture().get(20, TimeUnit.SECONDS).map(UsersRecord::getName);
                assertThat(names).as("async all() queued behind a held connection, the RecordListener appended before it ran")
                        .containsExactly("ANN", "BOB", "CID");
            } finally {
                db.dsl().configuration().set(before);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // getResult() after all()
    // ------------------------------------------------------------------------------------------------------------

    @Test
    void CHECKED__getResult_after_a_direct_all_is_the_returned_result_for_select_and_select_query(Database db)
            throws Exception {
        UsersAndPosts.users(db, T0);
        ResultQuery<UsersRecord> select = selectFrom(USERS).orderBy(USERS.ID);
        Result<UsersRecord>[] got = new Result[1];
        assertThat(DirectReadGateTest.directReads(() -> got[0] = db.blockingSession().all(select))).isEqualTo(1);
        assertThat(select.getResult()).isSameAs(got[0]).hasSize(3);

        SelectQuery<UsersRecord> query = DSL.using(db.dialect()).selectQuery(USERS);
        query.addOrderBy(USERS.ID);
        assertThat(DirectReadGateTest.directReads(() -> got[0] = db.blockingSession().all(query))).isEqualTo(1);
        assertThat(query.getResult()).isSameAs(got[0]).hasSize(3);

        ResultQuery<UsersRecord> async = selectFrom(USERS).orderBy(USERS.ID);
        Result<UsersRecord> asyncResult = db.session().all(async).toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertThat(async.getResult()).isSameAs(asyncResult).hasSize(3);
        SelectQuery<UsersRecord> asyncQuery = DSL.using(db.dialect()).selectQuery(USERS);
        Result<UsersRecord> asyncQueryResult = db.session().all(asyncQuery).toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertThat(asyncQuery.getResult()).isSameAs(asyncQueryResult).hasSize(3);

        // a query fetched before by jOOQ: all() replaces its result, as jOOQ's fetch does
        ResultQuery<UsersRecord> again = selectFrom(USERS).orderBy(USERS.ID);
        Result<UsersRecord> first = db.dsl().fetch(again);
        db.dsl().deleteFrom(USERS).where(USERS.ID.eq(3L)).execute();
        Result<UsersRecord> second = db.blockingSession().all(again);
        assertThat(again.getResult()).isSameAs(second).isNotSameAs(first).hasSize(2);
        Result<UsersRecord> jooq = DirectAllReviewTest.throughJooq(() -> db.blockingSession().all(again));
        assertThat(again.getResult()).isSameAs(jooq).isEqualTo(second);
        // records attached as jOOQ attaches them
        assertThat(second.get(0).configuration()).isSameAs(jooq.get(0).configuration());
    }

    /**
     * One unprepared query shared by threads (jOOQ's queries are not thread-safe, and the library does not say
     * they are): counts the calls that failed or returned a wrong number of rows, through the direct reader and
     * through jOOQ's cursor.
     */
    private static int[] sharedQueryAnomalies(Database db, ResultQuery<UsersRecord> shared) throws Exception {
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger wrong = new AtomicInteger();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int t = 0; t < 8; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 100; i++) {
                    try {
                        if (db.blockingSession().all(shared).size() != 3) {
                            wrong.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failed.incrementAndGet();
                        if (failures.size() < 3) {
                            failures.add(e.toString());
                        }
                    }
                }
            }));
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join(120_000);
        }
        System.out.println("shared query: failed " + failed + ", wrong " + wrong + " " + failures);
        return new int[] {failed.get(), wrong.get()};
    }

    @Test
    @org.junit.jupiter.api.Disabled("Not fixed (ninth session, docs/reviews/issue-17-ninth-session.md): a jOOQ query"
            + " object executed by several calls at once is outside jOOQ's contract and the README's; both paths then"
            + " fail or read wrong rows, the direct all() fails more often (now with an IllegalStateException that"
            + " says why), jOOQ's cursor returns wrong rows more often. Kept as the record of the finding.")
    void DEFECT__one_query_shared_by_threads_fails_more_often_through_direct_all_than_through_jooq(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(8).build()) {
            UsersAndPosts.users(db, T0);
            ResultQuery<UsersRecord> shared = selectFrom(USERS).orderBy(USERS.ID);
            int[] jooq = DirectAllReviewTest.throughJooq(() -> {
                try {
                    return sharedQueryAnomalies(db, shared);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            int[] direct = sharedQueryAnomalies(db, shared);
            assertThat(direct[0] + direct[1]).as("calls that failed or read wrong rows, direct (failed, wrong) = "
                    + direct[0] + ", " + direct[1] + "; through jOOQ's cursor " + jooq[0] + ", " + jooq[1])
                    .isLessThanOrEqualTo(jooq[0] + jooq[1]);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Configuration changed after build()
    // ------------------------------------------------------------------------------------------------------------

    @Test
    void CHECKED__settings_changed_after_build_are_read_per_call(TestDatabase test) {
        try (Database db = test.builder().build()) {
            UsersAndPosts.users(db, T0);
            Param<Long> id = DSL.param("id", Long.class);
            PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
            assertThat(byId.bind(id, 2L).run(db).direct()).isTrue();

            db.dsl().settings().setMaxRows(2);
            try {
                Result<UsersRecord>[] got = new Result[1];
                assertThat(DirectReadGateTest.directReads(() -> got[0] = db.blockingSession().all(selectFrom(USERS)))).isZero();
                assertThat(got[0]).hasSize(2);
                assertThat(byId.bind(id, 2L).run(db).direct()).isFalse();
            } finally {
                db.dsl().settings().setMaxRows(null);
            }
            Settings original = db.dsl().configuration().settings();
            db.dsl().configuration().set(new Settings().withFetchSize(1));
            try {
                assertThat(DirectReadGateTest.directReads(() -> db.blockingSession().all(selectFrom(USERS)))).isZero();
                assertThat(byId.bind(id, 2L).run(db).direct()).isFalse();
            } finally {
                db.dsl().configuration().set(original);
            }
            assertThat(DirectReadGateTest.directReads(() -> db.blockingSession().all(selectFrom(USERS)))).isEqualTo(1);
        }
    }

    @Test
    void CHECKED__the_querys_own_configuration_is_ignored_by_both_paths(Database db) {
        UsersAndPosts.users(db, T0);
        DefaultConfiguration own = new DefaultConfiguration();
        own.set(db.dialect()).set(new DefaultRecordListenerProvider(new DirectReadGateTest.UpperCaseOnLoad()));
        Supplier<Result<UsersRecord>> all = () -> db.blockingSession().all(DSL.using(own).selectFrom(USERS).orderBy(USERS.ID));
        Result<UsersRecord>[] direct = new Result[1];
        assertThat(DirectReadGateTest.directReads(() -> direct[0] = all.get())).isEqualTo(1);
        Result<UsersRecord> jooq = DirectAllReviewTest.throughJooq(all);
        assertThat(direct[0].map(UsersRecord::getName)).isEqualTo(jooq.map(UsersRecord::getName));
        assertThat(direct[0].get(0).configuration()).isSameAs(jooq.get(0).configuration());
    }

    @Test
    void CHECKED__the_querys_own_max_rows_holds_on_the_direct_path(Database db) {
        UsersAndPosts.users(db, T0);
        Result<UsersRecord>[] direct = new Result[1];
        ResultQuery<UsersRecord> limited = selectFrom(USERS).orderBy(USERS.ID).maxRows(2);
        assertThat(DirectReadGateTest.directReads(() -> direct[0] = db.blockingSession().all(limited))).isEqualTo(1);
        Result<UsersRecord> jooq = DirectAllReviewTest.throughJooq(() -> db.blockingSession().all(limited));
        assertThat(direct[0]).hasSize(2).isEqualTo(jooq);
    }
}
