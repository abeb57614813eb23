package dev.sqlservice.bench;

import static dev.sqlservice.bench.BenchItems.BENCH_ITEMS;
import static org.jooq.impl.DSL.selectFrom;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.AsyncSession;
import dev.sqlservice.Database;
import dev.sqlservice.PreparedQuery;
import dev.sqlservice.Session;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongFunction;
import java.util.regex.Pattern;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Scenario 3, concurrency: {@code queries} (10,000) primary-key lookups issued at once on a pool of 10
 * connections, then all awaited.
 *
 * <ul>
 *   <li>{@code async}: sqlservice's {@link AsyncSession#first} with its defaults (a virtual thread per call,
 *       callers queueing on the library's fair semaphore), all 10,000 fired, then joined.
 *   <li>{@code jdbcPool10}, the baseline: plain JDBC on a fixed pool of 10 platform threads, each borrowing from
 *       the library's own HikariCP pool of 10 (every variant runs on the same connections: {@link Bench#poolOf}).
 *   <li>Diagnostics, to split the difference: {@code jooqPool10} (plain jOOQ {@code fetchOptional} on the same 10
 *       platform threads: the cost of jOOQ alone), {@code jdbcVirtual} (plain JDBC on a virtual thread per query
 *       behind a fair semaphore of 10: the cost of the threading model alone) and {@code asyncPlatform10}
 *       (the same database with a fixed pool of 10 platform threads as its executor instead of its dispatcher:
 *       {@link Bench#withExecutor}).
 *   <li>{@code asyncPrepared}: {@code async} with a {@link PreparedQuery} (rendered once, a new key bound per call);
 *       {@code asyncPreparedPlatform10}: the same on the executor of {@code asyncPlatform10}.
 *   <li>{@code blockingPool10}: sqlservice's blocking {@code first()} of the unprepared query on the same 10
 *       platform threads as {@code jooqPool10}: the library's cost over plain jOOQ, threads alike.
 * </ul>
 *
 * <p>Per variant and round: throughput (queries per second, first submit to last completion), the client JVM's CPU
 * time per query (all threads, GC included; the server is another process), the server's CPU per query and the
 * sum of both ({@link Bench#serverCpuNanos}), per-query latency
 * from the call to its completion (so it includes the wait for a connection, as a caller sees it) at p50 and
 * p99, the peak number of live platform threads during the variant ({@link ThreadMXBean}: reset before, read
 * after; virtual threads are not counted), how many more than before it that is, and the platform threads that
 * ran the queries (the executor's 10, or the virtual-thread scheduler's carrier threads alive after the run).
 * The variants run interleaved in one fork, each once per round, in a rotated order.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ConcurrencyBench {

    static final List<String> VARIANTS = List.of("async", "jdbcPool10", "jooqPool10", "jdbcVirtual", "asyncPlatform10",
            "asyncServerBound", "jdbcPool10ServerBound", "asyncPrepared", "blockingPool10", "asyncPreparedPlatform10");

    /**
     * The variants this fork runs: every one of {@link #VARIANTS}, or those {@code -Dsqlservice.bench.variants=a,b}
     * names (a diagnostic: whether the other variants of a round change the ones named).
     */
    static final List<String> RUN = System.getProperty("sqlservice.bench.variants") == null ? VARIANTS
            : List.of(System.getProperty("sqlservice.bench.variants").split(","));

    /** Keeps each server-bound query on its connection for at least a millisecond, without using CPU. */
    private static final String SERVER_WORK = "(select true from pg_sleep(0.001))";

    /** The key of the prepared lookup. */
    private static final org.jooq.Param<Long> ID = DSL.param("id", Long.class);

    private static final Pattern CARRIER = Pattern.compile("ForkJoinPool-\\d+-worker-\\d+");

    @Param({"10000"})
    public int queries;

    @Param({"100000"})
    public int rows;

    private Database db;
    private ExecutorService dbExecutor;
    private HikariDataSource pool;
    private DSLContext dsl;
    private PreparedQuery<BenchItemsRecord> byId;
    private String serverWork;
    private int round;

    /** Per round and variant: qps, latency percentiles (µs), peak platform threads, their rise, workers. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Metrics {
        public double async_qps, async_p50us, async_p99us, async_peakThreads, async_addedThreads, async_workerThreads;
        public double jdbcPool10_qps, jdbcPool10_p50us, jdbcPool10_p99us, jdbcPool10_peakThreads, jdbcPool10_addedThreads,
                jdbcPool10_workerThreads;
        public double jooqPool10_qps, jooqPool10_p50us, jooqPool10_p99us, jooqPool10_peakThreads, jooqPool10_addedThreads,
                jooqPool10_workerThreads;
        public double jdbcVirtual_qps, jdbcVirtual_p50us, jdbcVirtual_p99us, jdbcVirtual_peakThreads,
                jdbcVirtual_addedThreads, jdbcVirtual_workerThreads;
        public double asyncPlatform10_qps, asyncPlatform10_p50us, asyncPlatform10_p99us, asyncPlatform10_peakThreads,
                asyncPlatform10_addedThreads, asyncPlatform10_workerThreads;
        public double asyncServerBound_qps, asyncServerBound_p50us, asyncServerBound_p99us, asyncServerBound_peakThreads,
                asyncServerBound_addedThreads, asyncServerBound_workerThreads;
        public double jdbcPool10ServerBound_qps, jdbcPool10ServerBound_p50us, jdbcPool10ServerBound_p99us,
                jdbcPool10ServerBound_peakThreads, jdbcPool10ServerBound_addedThreads, jdbcPool10ServerBound_workerThreads;
        public double asyncPrepared_qps, asyncPrepared_p50us, asyncPrepared_p99us, asyncPrepared_peakThreads,
                asyncPrepared_addedThreads, asyncPrepared_workerThreads;
        public double blockingPool10_qps, blockingPool10_p50us, blockingPool10_p99us, blockingPool10_peakThreads,
                blockingPool10_addedThreads, blockingPool10_workerThreads;
        public double asyncPreparedPlatform10_qps, asyncPreparedPlatform10_p50us, asyncPreparedPlatform10_p99us,
                asyncPreparedPlatform10_peakThreads, asyncPreparedPlatform10_addedThreads,
                asyncPreparedPlatform10_workerThreads;
        /**
         * The database server's CPU per query ({@link Bench#serverCpuNanos}: its processes' user and system time,
         * 10 ms resolution), and client and server together, in microseconds. On a machine where both share the
         * cores, their sum is what bounds the throughput once the cores are busy.
         */
        public double async_serverCpuUs, asyncPrepared_serverCpuUs, jdbcPool10_serverCpuUs, jooqPool10_serverCpuUs,
                blockingPool10_serverCpuUs, jdbcVirtual_serverCpuUs, asyncPlatform10_serverCpuUs,
                asyncPreparedPlatform10_serverCpuUs, asyncServerBound_serverCpuUs, jdbcPool10ServerBound_serverCpuUs;
        public double async_totalCpuUs, asyncPrepared_totalCpuUs, jdbcPool10_totalCpuUs, jooqPool10_totalCpuUs,
                blockingPool10_totalCpuUs, jdbcVirtual_totalCpuUs, asyncPlatform10_totalCpuUs,
                asyncPreparedPlatform10_totalCpuUs, asyncServerBound_totalCpuUs, jdbcPool10ServerBound_totalCpuUs;

        void serverCpu(String variant, double serverUs, double clientUs) {
            try {
                Metrics.class.getField(variant + "_serverCpuUs").setDouble(this, serverUs);
                Metrics.class.getField(variant + "_totalCpuUs").setDouble(this, serverUs + clientUs);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(variant, e);
            }
        }

        /**
         * Client CPU per query in microseconds from the threads' own clocks ({@link Bench#tasksCpuNanos}:
         * nanoseconds, every thread of this JVM, GC and JIT included), where {@code _cpuUs} counts 10 ms ticks.
         */
        public double async_taskCpuUs, asyncPrepared_taskCpuUs, jdbcPool10_taskCpuUs, jooqPool10_taskCpuUs,
                blockingPool10_taskCpuUs, jdbcVirtual_taskCpuUs, asyncPlatform10_taskCpuUs,
                asyncPreparedPlatform10_taskCpuUs, asyncServerBound_taskCpuUs, jdbcPool10ServerBound_taskCpuUs;

        void taskCpu(String variant, double us) {
            try {
                Metrics.class.getField(variant + "_taskCpuUs").setDouble(this, us);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(variant, e);
            }
        }

        /** Client CPU (this JVM, all threads) per query, in microseconds. */
        public double asyncPrepared_cpuUs, blockingPool10_cpuUs, asyncPreparedPlatform10_cpuUs;
        public double async_cpuUs, jdbcPool10_cpuUs, jooqPool10_cpuUs, jdbcVirtual_cpuUs, asyncPlatform10_cpuUs,
                asyncServerBound_cpuUs, jdbcPool10ServerBound_cpuUs;

        void cpu(String variant, double us) {
            switch (variant) {
                case "async" -> async_cpuUs = us;
                case "jdbcPool10" -> jdbcPool10_cpuUs = us;
                case "jooqPool10" -> jooqPool10_cpuUs = us;
                case "jdbcVirtual" -> jdbcVirtual_cpuUs = us;
                case "asyncPlatform10" -> asyncPlatform10_cpuUs = us;
                case "asyncServerBound" -> asyncServerBound_cpuUs = us;
                case "jdbcPool10ServerBound" -> jdbcPool10ServerBound_cpuUs = us;
                case "asyncPrepared" -> asyncPrepared_cpuUs = us;
                case "blockingPool10" -> blockingPool10_cpuUs = us;
                case "asyncPreparedPlatform10" -> asyncPreparedPlatform10_cpuUs = us;
                default -> throw new IllegalStateException(variant);
            }
        }

        void set(String variant, double qps, double p50, double p99, double peak, double added, double workers) {
            switch (variant) {
                case "async" -> { async_qps = qps; async_p50us = p50; async_p99us = p99; async_peakThreads = peak;
                    async_addedThreads = added; async_workerThreads = workers; }
                case "jdbcPool10" -> { jdbcPool10_qps = qps; jdbcPool10_p50us = p50; jdbcPool10_p99us = p99;
                    jdbcPool10_peakThreads = peak; jdbcPool10_addedThreads = added; jdbcPool10_workerThreads = workers; }
                case "jooqPool10" -> { jooqPool10_qps = qps; jooqPool10_p50us = p50; jooqPool10_p99us = p99;
                    jooqPool10_peakThreads = peak; jooqPool10_addedThreads = added; jooqPool10_workerThreads = workers; }
                case "jdbcVirtual" -> { jdbcVirtual_qps = qps; jdbcVirtual_p50us = p50; jdbcVirtual_p99us = p99;
                    jdbcVirtual_peakThreads = peak; jdbcVirtual_addedThreads = added; jdbcVirtual_workerThreads = workers; }
                case "asyncPlatform10" -> { asyncPlatform10_qps = qps; asyncPlatform10_p50us = p50;
                    asyncPlatform10_p99us = p99; asyncPlatform10_peakThreads = peak;
                    asyncPlatform10_addedThreads = added; asyncPlatform10_workerThreads = workers; }
                case "asyncServerBound" -> { asyncServerBound_qps = qps; asyncServerBound_p50us = p50;
                    asyncServerBound_p99us = p99; asyncServerBound_peakThreads = peak;
                    asyncServerBound_addedThreads = added; asyncServerBound_workerThreads = workers; }
                case "jdbcPool10ServerBound" -> { jdbcPool10ServerBound_qps = qps; jdbcPool10ServerBound_p50us = p50;
                    jdbcPool10ServerBound_p99us = p99; jdbcPool10ServerBound_peakThreads = peak;
                    jdbcPool10ServerBound_addedThreads = added; jdbcPool10ServerBound_workerThreads = workers; }
                case "asyncPrepared" -> { asyncPrepared_qps = qps; asyncPrepared_p50us = p50; asyncPrepared_p99us = p99;
                    asyncPrepared_peakThreads = peak; asyncPrepared_addedThreads = added;
                    asyncPrepared_workerThreads = workers; }
                case "blockingPool10" -> { blockingPool10_qps = qps; blockingPool10_p50us = p50; blockingPool10_p99us = p99;
                    blockingPool10_peakThreads = peak; blockingPool10_addedThreads = added;
                    blockingPool10_workerThreads = workers; }
                case "asyncPreparedPlatform10" -> { asyncPreparedPlatform10_qps = qps;
                    asyncPreparedPlatform10_p50us = p50; asyncPreparedPlatform10_p99us = p99;
                    asyncPreparedPlatform10_peakThreads = peak; asyncPreparedPlatform10_addedThreads = added;
                    asyncPreparedPlatform10_workerThreads = workers; }
                default -> throw new IllegalStateException(variant);
            }
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        db = Database.builder().url(Bench.rewriteUrl()).poolSize(10).build();
        pool = Bench.poolOf(db);
        Bench.createTable(pool);
        Bench.fill(pool, rows);
        dsl = Bench.jooq(pool);
        byId = db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(ID)));
        serverWork = Bench.dialect() == SQLDialect.POSTGRES ? SERVER_WORK : "(sleep(0.001) = 0)";
        dbExecutor = Executors.newFixedThreadPool(10, named("sqlservice-platform-"));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        dbExecutor.close();
        db.close(); // and the pool, the library's own
    }

    @Benchmark
    public long round(Metrics metrics) {
        long[] keys = Bench.keys(queries, rows, 1000 + round);
        long checksum = 0;
        for (String variant : Bench.rotation(RUN, round)) {
            checksum += run(variant, keys, metrics);
        }
        round++;
        return checksum;
    }

    private long run(String variant, long[] keys, Metrics metrics) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        System.gc();
        int before = threads.getThreadCount();
        threads.resetPeakThreadCount();
        long[] latency = new long[keys.length];
        AtomicInteger found = new AtomicInteger();
        int workers;
        long start;
        long elapsed;
        long cpu = Bench.cpuNanos();
        long serverCpu = Bench.serverCpuNanos();
        // the threads' exact CPU clocks, read before a variant's own executor is closed (its threads' time goes
        // with them): taskNanos[0] the start, [1] the end
        long[] taskNanos = {Bench.tasksCpuNanos(), -1};
        Runnable endTasks = () -> taskNanos[1] = Bench.tasksCpuNanos();
        switch (variant) {
            case "async" -> {
                AsyncSession session = db.session();
                start = System.nanoTime();
                fireAndJoin(keys, latency, found, key -> session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))));
                elapsed = System.nanoTime() - start;
                workers = carriers();
            }
            case "asyncPlatform10" -> {
                // the same database, pool and settings as async; only its executor is 10 platform threads
                AsyncSession session = db.session();
                long[] startedAt = new long[1];
                elapsed = Bench.withExecutor(db, dbExecutor, () -> {
                    startedAt[0] = System.nanoTime();
                    fireAndJoin(keys, latency, found, key -> session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))));
                    return System.nanoTime() - startedAt[0];
                });
                workers = 10;
            }
            case "asyncPreparedPlatform10" -> {
                // asyncPrepared with the executor of asyncPlatform10 (Database.Builder.executor)
                AsyncSession session = db.session();
                long[] startedAt = new long[1];
                elapsed = Bench.withExecutor(db, dbExecutor, () -> {
                    startedAt[0] = System.nanoTime();
                    fireAndJoin(keys, latency, found, key -> session.first(byId.bind(ID, key)));
                    return System.nanoTime() - startedAt[0];
                });
                workers = 10;
            }
            case "asyncPrepared" -> {
                AsyncSession session = db.session();
                start = System.nanoTime();
                fireAndJoin(keys, latency, found, key -> session.first(byId.bind(ID, key)));
                elapsed = System.nanoTime() - start;
                workers = carriers();
            }
            case "blockingPool10" -> {
                ExecutorService executor = Executors.newFixedThreadPool(10, named("jdbc-pool-"));
                Session blocking = db.blockingSession();
                start = System.nanoTime();
                fireAndJoin(keys, latency, found, key -> CompletableFuture.supplyAsync(
                        () -> blocking.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))), executor));
                elapsed = System.nanoTime() - start;
                endTasks.run();
                executor.close();
                workers = 10;
            }
            case "asyncServerBound" -> {
                AsyncSession session = db.session();
                start = System.nanoTime();
                fireAndJoin(keys, latency, found,
                        key -> session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).and(serverWork)));
                elapsed = System.nanoTime() - start;
                workers = carriers();
            }
            case "jdbcPool10ServerBound" -> {
                ExecutorService executor = Executors.newFixedThreadPool(10, named("jdbc-pool-"));
                start = System.nanoTime();
                fireAndJoin(keys, latency, found, key -> CompletableFuture.supplyAsync(() -> jdbc(key, serverWork), executor));
                elapsed = System.nanoTime() - start;
                endTasks.run();
                executor.close();
                workers = 10;
            }
            case "jdbcPool10", "jooqPool10" -> {
                ExecutorService executor = Executors.newFixedThreadPool(10, named("jdbc-pool-"));
                start = System.nanoTime();
                if (variant.equals("jdbcPool10")) {
                    fireAndJoin(keys, latency, found, key -> CompletableFuture.supplyAsync(() -> jdbc(key), executor));
                } else {
                    fireAndJoin(keys, latency, found, key -> CompletableFuture.supplyAsync(
                            () -> dsl.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional(), executor));
                }
                elapsed = System.nanoTime() - start;
                endTasks.run();
                executor.close();
                workers = 10;
            }
            case "jdbcVirtual" -> {
                ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
                Semaphore permits = new Semaphore(10, true);
                start = System.nanoTime();
                fireAndJoin(keys, latency, found, key -> CompletableFuture.supplyAsync(() -> {
                    permits.acquireUninterruptibly();
                    try {
                        return jdbc(key);
                    } finally {
                        permits.release();
                    }
                }, executor));
                elapsed = System.nanoTime() - start;
                endTasks.run();
                executor.close();
                workers = carriers();
            }
            default -> throw new IllegalStateException(variant);
        }
        if (taskNanos[1] < 0) {
            taskNanos[1] = Bench.tasksCpuNanos();
        }
        int peak = threads.getPeakThreadCount();
        double clientUs = (Bench.cpuNanos() - cpu) / 1e3 / keys.length;
        metrics.cpu(variant, clientUs);
        if (taskNanos[0] >= 0) {
            metrics.taskCpu(variant, (taskNanos[1] - taskNanos[0]) / 1e3 / keys.length);
        }
        if (serverCpu >= 0) {
            metrics.serverCpu(variant, (Bench.serverCpuNanos() - serverCpu) / 1e3 / keys.length, clientUs);
        }
        if (found.get() != keys.length) {
            throw new IllegalStateException(variant + " found " + found.get() + " of " + keys.length + " rows");
        }
        long[] sorted = Bench.sorted(latency);
        metrics.set(variant, keys.length / (elapsed / 1e9), Bench.percentile(sorted, 0.50) / 1e3,
                Bench.percentile(sorted, 0.99) / 1e3, peak, peak - before, workers);
        return found.get();
    }

    /** Issues every call at once (each timed from its call to its completion), then waits for all of them. */
    private static void fireAndJoin(long[] keys, long[] latency, AtomicInteger found,
            LongFunction<CompletionStage<? extends java.util.Optional<?>>> call) {
        CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
        for (int i = 0; i < keys.length; i++) {
            int index = i;
            long issued = System.nanoTime();
            all[i] = call.apply(keys[i]).toCompletableFuture().whenComplete((row, failure) -> {
                latency[index] = System.nanoTime() - issued;
                if (row != null && row.isPresent()) {
                    found.incrementAndGet();
                }
            });
        }
        CompletableFuture.allOf(all).join();
    }

    private java.util.Optional<Bench.Item> jdbc(long key) {
        try {
            return java.util.Optional.ofNullable(Bench.jdbcFirst(pool, key));
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private java.util.Optional<Bench.Item> jdbc(long key, String andCondition) {
        try (java.sql.Connection c = pool.getConnection();
                java.sql.PreparedStatement ps = c.prepareStatement(Bench.SELECT_BY_ID_SQL + " and " + andCondition)) {
            ps.setLong(1, key);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                return java.util.Optional.ofNullable(rs.next() ? Bench.Item.read(rs) : null);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Live carrier threads of the virtual-thread scheduler (platform threads that ran virtual threads). */
    private static int carriers() {
        int count = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (CARRIER.matcher(t.getName()).matches()) {
                count++;
            }
        }
        return count;
    }

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        return Thread.ofPlatform().name(prefix, 1).daemon(true).factory();
    }
}
