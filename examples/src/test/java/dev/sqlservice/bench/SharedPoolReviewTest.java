package dev.sqlservice.bench;

import static dev.sqlservice.bench.BenchItems.BENCH_ITEMS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.Database;
import dev.sqlservice.PreparedQuery;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Review of the benchmarks' shared pool (commits 664354c..861eac6): which server session each variant really
 * uses, what a variant leaves on a shared connection, what the new COPY-text counter records, and how the
 * {@code asyncPlatform10} database differs from {@code async}'s. Runs on SQLSERVICE_TEST_URL (user
 * SQLSERVICE_TEST_USER), else an embedded PostgreSQL. Benchmark harness checks, so tagged "bench":
 * {@code -Dsurefire.excludedGroups= -Dtest=SharedPoolReviewTest}.
 */
@Tag("bench")
class SharedPoolReviewTest {

    private static EmbeddedPostgres embedded;

    @BeforeAll
    static void server() throws Exception {
        String url = System.getenv("SQLSERVICE_TEST_URL");
        if (url == null || url.isBlank()) {
            embedded = EmbeddedPostgres.builder().start();
            url = embedded.getJdbcUrl("postgres", "postgres");
        } else if (System.getenv("SQLSERVICE_TEST_USER") != null) {
            url += (url.contains("?") ? "&" : "?") + "user=" + System.getenv("SQLSERVICE_TEST_USER");
        }
        System.setProperty("bench.url", url);
    }

    @AfterAll
    static void stop() throws Exception {
        if (embedded != null) {
            embedded.close();
        }
    }

    private static String pidSql() {
        return Bench.mariadb() ? "connection_id()" : "pg_backend_pid()";
    }

    /**
     * BENCHMARKS.md: "every variant of a scenario runs on the same connections, served by the same server
     * processes"; "a one-at-a-time lookup uses the same connection every time". ReadBench's set-up and loop
     * (pool of 2, the five lookup variants in a rotated order), each variant asking for its server session.
     */
    @Test
    void one_at_a_time_lookups_of_every_variant_run_on_one_server_session() throws Exception {
        try (Database db = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build()) {
            HikariDataSource pool = Bench.poolOf(db);
            Bench.createTable(pool);
            Bench.fill(pool, 1_000);
            DSLContext dsl = Bench.jooq(pool);
            org.jooq.Field<Long> pid = DSL.field(pidSql(), Long.class);
            PreparedQuery<Record> prepared = db.prepare("select " + pidSql() + " as pid, cast(:id as "
                    + (Bench.mariadb() ? "signed" : "bigint") + ") as k");
            String[] names = {"firstAsync", "firstBlocking", "jooqFetchOptional", "jdbcFirst", "firstPreparedAsync"};
            List<Map<Long, Integer>> seen = new ArrayList<>();
            for (int v = 0; v < names.length; v++) {
                seen.add(new TreeMap<>());
            }
            // the whole-table variants first, as in a round of ReadBench
            db.session().all(DSL.select(pid)).toCompletableFuture().join();
            db.blockingSession().all(DSL.select(pid));
            dsl.select(pid).fetch();
            for (int k = 0; k < 2_000; k++) {
                for (int j = 0; j < names.length; j++) {
                    int v = (j + k) % names.length;
                    long session = switch (v) {
                        case 0 -> db.session().first(DSL.select(pid)).toCompletableFuture().join().orElseThrow().value1();
                        case 1 -> db.blockingSession().first(DSL.select(pid)).orElseThrow().value1();
                        case 2 -> dsl.select(pid).fetchOptional().map(Record1::value1).orElseThrow();
                        case 3 -> jdbcPid(pool);
                        default -> db.session().first(prepared.bind("id", (long) k)).toCompletableFuture().join()
                                .orElseThrow().get("pid", Long.class);
                    };
                    seen.get(v).merge(session, 1, Integer::sum);
                }
            }
            Map<String, Map<Long, Integer>> byVariant = new TreeMap<>();
            for (int v = 0; v < names.length; v++) {
                byVariant.put(names[v], seen.get(v));
            }
            System.out.println("[review] server session -> lookups, per variant: " + byVariant);
            if (!Bench.mariadb()) {
                // ReadBench's real lookups, 10 each: which of them share a server-prepared statement
                for (long key = 1; key <= 10; key++) {
                    db.session().first(DSL.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))).toCompletableFuture().join();
                    dsl.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional();
                }
                try (Connection c = pool.getConnection(); Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("select name, statement from pg_prepared_statements"
                                + " where statement like '%bench_items%'")) {
                    while (rs.next()) {
                        System.out.println("[review] prepared: " + rs.getString(1) + " " + rs.getString(2));
                    }
                }
            }
            assertThat(byVariant.values().stream().flatMap(m -> m.keySet().stream()).distinct().count())
                    .as("server sessions used by the lookups of all variants: %s", byVariant).isEqualTo(1);
        }
    }

    private static long jdbcPid(DataSource pool) throws SQLException {
        try (Connection c = pool.getConnection(); PreparedStatement ps = c.prepareStatement("select " + pidSql())) {
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Every connection of the pool, borrowed at once: its JDBC state and its server session's settings. */
    private static List<String> sessions(HikariDataSource pool, int size) throws SQLException {
        List<Connection> held = new ArrayList<>();
        try {
            List<String> states = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                held.add(pool.getConnection());
            }
            for (Connection c : held) {
                StringBuilder state = new StringBuilder("autoCommit=" + c.getAutoCommit() + " readOnly=" + c.isReadOnly()
                        + " isolation=" + c.getTransactionIsolation() + " networkTimeout=" + c.getNetworkTimeout());
                if (!Bench.mariadb()) {
                    org.postgresql.PGConnection pg = c.unwrap(org.postgresql.PGConnection.class);
                    state.append(" prepareThreshold=").append(pg.getPrepareThreshold())
                            .append(" defaultFetchSize=").append(pg.getDefaultFetchSize());
                }
                String sql = Bench.mariadb()
                        ? "select connection_id() pid, @@session.time_zone tz, @@session.net_write_timeout nwt,"
                                + " @@session.autocommit ac, @@session.in_transaction tx, @@session.group_concat_max_len gc,"
                                + " @@session.sql_mode mode, @@session.tx_read_only ro, @@session.max_statement_time mst"
                        : "select pg_backend_pid() pid, current_setting('TimeZone') tz, current_setting('statement_timeout') st,"
                                + " current_setting('search_path') sp, current_setting('default_transaction_read_only') ro,"
                                + " current_setting('idle_in_transaction_session_timeout') iit,"
                                + " (select count(*) from pg_class where relnamespace = pg_my_temp_schema()) temp_tables,"
                                + " pg_current_xact_id_if_assigned() xact";
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
                    rs.next();
                    ResultSetMetaData md = rs.getMetaData();
                    for (int i = 2; i <= md.getColumnCount(); i++) {
                        state.append(' ').append(md.getColumnLabel(i)).append('=').append(rs.getString(i));
                    }
                    state.insert(0, "session " + rs.getLong(1) + ": ");
                }
                if (Bench.mariadb()) {
                    try (Statement s = c.createStatement()) {
                        s.executeQuery("select 1 from bench_stage limit 0").close();
                        state.append(" bench_stage=present");
                    } catch (SQLException e) {
                        state.append(" bench_stage=absent");
                    }
                }
                states.add(state.toString());
            }
            states.sort(null);
            return states;
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
    }

    /**
     * The upsert and stream scenarios' variants, one after another on the library's pool of 2 (as UpsertBench and
     * StreamBench): none may leave session state (transaction, autocommit, read-only, settings, temporary
     * tables, fetch size) for the next variant on the same connection.
     */
    @Test
    void no_variant_leaves_session_state_on_the_shared_connections() throws Exception {
        int n = 12_000; // above the COPY threshold (5,000): saveAll takes its COPY path on PostgreSQL
        try (Database db = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build()) {
            HikariDataSource pool = Bench.poolOf(db);
            Bench.createTable(pool);
            DSLContext dsl = Bench.jooq(pool);
            List<String> before = sessions(pool, 2);
            System.out.println("[review] sessions before: " + before);
            List<String> variants = new ArrayList<>(List.of("saveAll", "batchMerge", "jdbcBatch", "copy", "stream",
                    "publisher", "jooqFetchStream", "jdbcCursor", "allAsync"));
            if (!Bench.mariadb()) {
                variants.add("librarySql");
            }
            int round = 0;
            for (String variant : variants) {
                Bench.resetHalf(pool, n);
                List<BenchItemsRecord> records = Bench.records(variant.equals("batchMerge") ? 500 : n, round++);
                switch (variant) {
                    case "saveAll" -> db.blockingSession().saveAll(records);
                    case "batchMerge" -> dsl.transactionResult(tx -> tx.dsl().batchMerge(records).execute().length);
                    case "jdbcBatch" -> Bench.jdbcBatch(pool, records);
                    case "copy" -> Bench.copyUpsert(pool, records);
                    case "librarySql" -> Bench.librarySql(pool, records);
                    case "stream" -> {
                        try (Stream<BenchItemsRecord> rows = db.blockingSession().stream(DSL.selectFrom(BENCH_ITEMS))) {
                            assertThat(rows.count()).isEqualTo(n / 2);
                        }
                    }
                    case "publisher" -> {
                        CountDownLatch done = new CountDownLatch(1);
                        db.session().stream(DSL.selectFrom(BENCH_ITEMS)).subscribe(new Flow.Subscriber<BenchItemsRecord>() {
                            @Override public void onSubscribe(Flow.Subscription s) { s.request(Long.MAX_VALUE); }
                            @Override public void onNext(BenchItemsRecord item) { }
                            @Override public void onError(Throwable t) { done.countDown(); }
                            @Override public void onComplete() { done.countDown(); }
                        });
                        done.await();
                    }
                    case "jooqFetchStream" -> dsl.transaction(tx -> {
                        try (Stream<BenchItemsRecord> rows = tx.dsl().selectFrom(BENCH_ITEMS).fetchSize(1_000).fetchStream()) {
                            rows.count();
                        }
                    });
                    case "jdbcCursor" -> {
                        try (Connection c = pool.getConnection()) {
                            c.setAutoCommit(false);
                            try (PreparedStatement ps = c.prepareStatement(Bench.SELECT_ALL_SQL)) {
                                ps.setFetchSize(1_000);
                                try (ResultSet rs = ps.executeQuery()) {
                                    while (rs.next()) {
                                        Bench.Item.read(rs);
                                    }
                                }
                            }
                            c.commit();
                        }
                    }
                    case "allAsync" -> db.session().all(DSL.selectFrom(BENCH_ITEMS)).toCompletableFuture().join();
                    default -> throw new IllegalStateException(variant);
                }
                List<String> after = sessions(pool, 2);
                assertThat(after).as("sessions after %s", variant).isEqualTo(before);
            }
            if (!Bench.mariadb()) {
                try (Connection c = pool.getConnection(); Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("select name, left(statement, 60) from pg_prepared_statements")) {
                    while (rs.next()) {
                        System.out.println("[review] server-prepared on session: " + rs.getString(1) + " " + rs.getString(2));
                    }
                }
            }
        }
    }

    private static Object coreStatic(String field) throws ReflectiveOperationException {
        java.lang.reflect.Field f = Class.forName("dev.sqlservice.PostgresBackend$Statements").getDeclaredField(field);
        f.setAccessible(true);
        return f.get(null);
    }

    /**
     * BENCHMARKS.md: "saveAll is faster than its own JSON statement sent by hand (librarySql ×1.14 / ×1.25)" at
     * N=100,000. At that size saveAll does not send that JSON statement: its chunks go by COPY.
     */
    @Test
    void saveAll_of_100000_records_sends_every_chunk_by_copy_not_the_json_statement_of_librarySql() throws Exception {
        assumeFalse(Bench.mariadb());
        try (Database db = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build()) {
            HikariDataSource pool = Bench.poolOf(db);
            Bench.createTable(pool);
            Bench.resetHalf(pool, 100_000);
            LongAdder copies = (LongAdder) coreStatic("COPIES");
            long copiesBefore = copies.sum();
            db.blockingSession().saveAll(Bench.records(100_000, 1));
            System.out.println("[review] COPY statements of one saveAll(100,000): " + (copies.sum() - copiesBefore));
            assertThat(copies.sum() - copiesBefore).isEqualTo(10);
        }
    }

    /**
     * The new counter is accumulated before the connection is known to unwrap to pgjdbc's: on a data source that
     * does not let it (the JSON path is then used), it records a COPY text that was never built into a statement.
     */
    @Test
    void largest_copy_text_is_recorded_even_when_no_copy_is_sent() throws Exception {
        assumeFalse(Bench.mariadb());
        try (Database owner = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build()) {
            HikariDataSource pool = Bench.poolOf(owner);
            Bench.createTable(pool);
            Bench.resetHalf(pool, 6_000);
            DataSource opaque = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {DataSource.class}, (p, m, a) -> {
                        Object r = m.invoke(pool, a);
                        if (!(r instanceof Connection c)) {
                            return r;
                        }
                        return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
                                (p2, m2, a2) -> {
                                    if (m2.getName().equals("isWrapperFor") && a2[0] == org.postgresql.PGConnection.class) {
                                        return false;
                                    }
                                    try {
                                        return m2.invoke(c, a2);
                                    } catch (java.lang.reflect.InvocationTargetException e) {
                                        throw e.getCause();
                                    }
                                });
                    });
            try (Database db = Database.builder().dataSource(opaque).dialect(SQLDialect.POSTGRES).poolSize(2).build()) {
                LongAdder copies = (LongAdder) coreStatic("COPIES");
                LongAccumulator largest = (LongAccumulator) coreStatic("LARGEST_COPY_TEXT");
                long copiesBefore = copies.sum();
                largest.reset();
                assertThat(db.blockingSession().saveAll(Bench.records(6_000, 1))).hasSize(6_000);
                System.out.println("[review] COPY statements sent: " + (copies.sum() - copiesBefore)
                        + ", LARGEST_COPY_TEXT: " + largest.get() + " chars");
                assertThat(copies.sum() - copiesBefore).as("COPY statements sent").isZero();
                assertThat(largest.get()).as("largest COPY text recorded although none was sent").isZero();
            }
        }
    }

    /**
     * ProfileMain abJoined without --shared puts the library behind {@code ProfileMain.timed} (reflective proxies on
     * the data source, connection and statements) unless --untimed is given; --shared drops that proxy as well as
     * the second pool. Measured here on one pool (same connections), so only the proxy differs.
     */
    @Test
    void profile_main_timed_proxy_costs_the_library_per_lookup() throws Exception {
        try (HikariDataSource pool = Bench.pool(10, "review")) {
            Bench.createTable(pool);
            Bench.fill(pool, 10_000);
            java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
            try (Database plain = Database.builder().dataSource(pool).dialect(Bench.dialect()).poolSize(10).build();
                    Database timed = Database.builder().dataSource(ProfileMain.timed(pool, nanos)).dialect(Bench.dialect())
                            .poolSize(10).build()) {
                org.jooq.Param<Long> id = DSL.param("id", Long.class);
                PreparedQuery<BenchItemsRecord> plainById = plain.prepare(DSL.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                PreparedQuery<BenchItemsRecord> timedById = timed.prepare(DSL.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                List<String> lines = new ArrayList<>();
                for (int round = 0; round < 10; round++) {
                    long[] keys = Bench.keys(3_000, 10_000, round);
                    long[] t = new long[2];
                    for (int k = 0; k < keys.length; k++) {
                        for (int j = 0; j < 2; j++) {
                            int v = (j + k) % 2;
                            long start = System.nanoTime();
                            if (v == 0) {
                                plain.blockingSession().first(plainById.bind(id, keys[k])).orElseThrow();
                            } else {
                                timed.blockingSession().first(timedById.bind(id, keys[k])).orElseThrow();
                            }
                            t[v] += System.nanoTime() - start;
                        }
                    }
                    lines.add(String.format(java.util.Locale.ROOT, "round %d: plain %.1f µs, timed %.1f µs (×%.2f)", round,
                            t[0] / 1e3 / keys.length, t[1] / 1e3 / keys.length, (double) t[1] / t[0]));
                }
                lines.forEach(l -> System.out.println("[review] blocking prepared first(), same pool: " + l));
            }
        }
    }

    /**
     * README "Threads": a worker started for a joined call "now and then" takes the call first. Counted here: of
     * ReadBench's unprepared and prepared lookups joined at once by a platform thread, how many borrowed their
     * connection on a virtual thread (the worker) rather than on the joining thread.
     */
    @Test
    void how_often_the_worker_takes_a_call_joined_at_once() throws Exception {
        try (HikariDataSource pool = Bench.pool(2, "review-join")) {
            Bench.createTable(pool);
            Bench.fill(pool, 10_000);
            LongAdder onWorker = new LongAdder();
            LongAdder onCaller = new LongAdder();
            DataSource counting = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {DataSource.class}, (p, m, a) -> {
                        if (m.getName().equals("getConnection")) {
                            (Thread.currentThread().isVirtual() ? onWorker : onCaller).increment();
                        }
                        try {
                            return m.invoke(pool, a);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            try (Database db = Database.builder().dataSource(counting).dialect(Bench.dialect()).poolSize(2).build()) {
                org.jooq.Param<Long> id = DSL.param("id", Long.class);
                PreparedQuery<BenchItemsRecord> byId = db.prepare(DSL.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                for (int round = 0; round < 3; round++) {
                    onWorker.reset();
                    onCaller.reset();
                    for (long key : Bench.keys(5_000, 10_000, round)) {
                        db.session().first(DSL.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))).toCompletableFuture().join();
                        db.session().first(byId.bind(id, key)).toCompletableFuture().join();
                    }
                    System.out.printf(java.util.Locale.ROOT, "[review] joined at once, round %d: on the worker %d, on the"
                            + " joining thread %d (%.0f %% on the worker)%n", round, onWorker.sum(), onCaller.sum(),
                            100.0 * onWorker.sum() / (onWorker.sum() + onCaller.sum()));
                }
            }
        }
    }

    /**
     * ConcurrencyBench's asyncPlatform10 used to be a second database over the shared pool, a data source handed
     * in: besides its executor it differed from async's database by having no liveness watch and no bound on
     * transaction control. It now runs on async's own database with only the executor swapped
     * ({@link Bench#withExecutor}): the calls run on the executor's threads, the liveness watch is the database's
     * own, and the dispatcher is back afterwards.
     */
    @Test
    void async_platform10_differs_from_async_in_its_executor_only() throws Exception {
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(10);
        LongAdder ran = new LongAdder();
        java.util.concurrent.Executor executor = task -> {
            ran.increment();
            threads.execute(task);
        };
        try (Database db = Database.builder().url(Bench.rewriteUrl()).poolSize(10).build()) {
            java.lang.reflect.Field liveness = Database.class.getDeclaredField("liveness");
            liveness.setAccessible(true);
            assertThat(liveness.get(db)).as("async's liveness watch").isNotNull();
            java.lang.reflect.Field executorField = Database.class.getDeclaredField("executor");
            executorField.setAccessible(true);
            Object dispatcher = executorField.get(db);
            int rows = Bench.withExecutor(db, executor, () -> db.session().all(DSL.select(DSL.inline(1)))
                    .toCompletableFuture().join().size());
            assertThat(rows).isEqualTo(1);
            assertThat(ran.sum()).as("calls that ran on asyncPlatform10's executor").isEqualTo(1);
            assertThat(executorField.get(db)).as("the dispatcher is back").isSameAs(dispatcher);
            db.session().all(DSL.select(DSL.inline(1))).toCompletableFuture().join();
            assertThat(ran.sum()).as("a call after the variant goes to the dispatcher").isEqualTo(1);
        } finally {
            threads.close();
        }
    }
}
