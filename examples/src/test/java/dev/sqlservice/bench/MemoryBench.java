package dev.sqlservice.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.Database;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.management.ObjectName;
import javax.sql.DataSource;
import org.jooq.SQLDialect;
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
 * Scenario 4, memory: {@code saveAll} of {@code n} records (1,000,000; 200,000 in quick mode), half of their keys
 * stored, against the records' own footprint.
 *
 * <ol>
 *   <li>Records' footprint: live heap (used after a full GC, {@code System.gc()} on G1) with the record list
 *       minus live heap before it was built.
 *   <li>Run A, as a caller sees it: {@code saveAll} with a thread sampling used heap every millisecond (garbage
 *       included), and the old generation's peak usage after {@code resetPeakUsage()}.
 *   <li>Run B, what is held: the same with fresh records on a {@code Database} whose data source hooks the
 *       execution of every upsert chunk: just before the statement goes to the server, a full GC and the live
 *       heap, minus the live heap with the records before the call. That is what the call holds at that point
 *       beyond the records; the size of the chunk's SQL and of its bind values (the JSON string) is recorded too.
 *       A histogram of the live heap at the last chunk is written to {@code memory-histogram-<n>.txt}.
 * </ol>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MemoryBench {

    private static final double MB = 1024.0 * 1024.0;

    @Param({"200000"})
    public int n;

    private HikariDataSource pool;
    private HikariDataSource hookedPool;
    private Database db;
    private Database hookedDb;
    private final Hook hook = new Hook();
    private int round;

    /** Heap figures in MiB (per record in bytes), one value per round. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Heap {
        public double recordsMB;
        public double bytesPerRecord;
        public double saveAllMs;
        public double sampledPeakMB;
        public double oldGenPeakMB;
        public double chunks;
        public double chunkSqlKB;
        public double chunkBindMB;
        public double liveFirstChunkMB;
        public double liveLastChunkMB;
        public double liveMaxChunkMB;
        public double liveGrowthPerChunkMB;
        public double liveAfterMB;
    }

    @Setup(Level.Trial)
    public void setUp() {
        pool = Bench.pool(2, "bench-jdbc");
        Bench.createTable(pool);
        db = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build();
        hookedPool = Bench.pool(2, "bench-hooked");
        hookedDb = Database.builder().dataSource(hook.wrap(hookedPool)).dialect(Bench.dialect()).poolSize(2).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        db.close();
        hookedDb.close();
        hookedPool.close();
        pool.close();
    }

    @Benchmark
    public long round(Heap heap) throws Exception {
        // The records' own footprint.
        Bench.resetHalf(pool, n);
        long empty = live();
        List<BenchItemsRecord> records = Bench.records(n, round);
        long withRecords = live();
        heap.recordsMB = (withRecords - empty) / MB;
        heap.bytesPerRecord = (double) (withRecords - empty) / n;

        // Run A: heap used (garbage included) while saveAll runs.
        List<MemoryPoolMXBean> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        MemoryPoolMXBean old = heapPools.stream().filter(p -> p.getName().contains("Old")).findFirst().orElseThrow();
        long oldBefore = old.getUsage().getUsed();
        heapPools.forEach(MemoryPoolMXBean::resetPeakUsage);
        Sampler sampler = new Sampler();
        sampler.start();
        long start = System.nanoTime();
        int saved = db.blockingSession().saveAll(records).size();
        heap.saveAllMs = Bench.millisSince(start);
        sampler.interrupt();
        sampler.join();
        heap.sampledPeakMB = (sampler.peak - withRecords) / MB;
        heap.oldGenPeakMB = (old.getPeakUsage().getUsed() - oldBefore) / MB;
        check(saved);
        records = null;

        // Run B: what the call holds at each chunk, beyond the records.
        Bench.resetHalf(pool, n);
        List<BenchItemsRecord> fresh = Bench.records(n, round + 1_000);
        long base = live();
        largestCopyText().reset();
        hook.arm(base, (n + 9_999) / 10_000, Path.of(System.getProperty("bench.out", "target/bench"),
                "memory-histogram-" + n + ".txt"));
        saved = hookedDb.blockingSession().saveAll(fresh).size();
        hook.disarm();
        check(saved);
        heap.liveAfterMB = (live() - base) / MB;
        heap.chunks = hook.chunks;
        heap.chunkSqlKB = hook.maxSqlChars / 1024.0;
        // PostgreSQL sends large chunks by COPY: their rows are one text per chunk, not a bind value
        heap.chunkBindMB = Math.max(hook.maxBindChars, largestCopyText().get()) / MB;
        heap.liveFirstChunkMB = hook.held.getFirst() / MB;
        heap.liveLastChunkMB = hook.held.getLast() / MB;
        heap.liveMaxChunkMB = hook.held.stream().mapToLong(Long::longValue).max().orElse(0) / MB;
        heap.liveGrowthPerChunkMB = hook.held.size() < 2 ? 0
                : (hook.held.getLast() - hook.held.getFirst()) / MB / (hook.heldAt.getLast() - hook.heldAt.getFirst());
        fresh.clear();
        round++;
        return saved;
    }

    private void check(int saved) {
        if (saved != n || Bench.count(pool) != n) {
            throw new IllegalStateException("saveAll returned " + saved + " records; the table has " + Bench.count(pool));
        }
    }

    /** Live heap: used heap right after a full GC. */
    static long live() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Polls used heap every millisecond and keeps the highest value. */
    private static final class Sampler extends Thread {
        volatile long peak;

        Sampler() {
            super("heap-sampler");
            setDaemon(true);
        }

        @Override
        public void run() {
            var memory = ManagementFactory.getMemoryMXBean();
            while (!isInterrupted()) {
                peak = Math.max(peak, memory.getHeapMemoryUsage().getUsed());
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    break;
                }
            }
            peak = Math.max(peak, memory.getHeapMemoryUsage().getUsed());
        }
    }

    /**
     * A data source whose prepared statements report, just before each upsert chunk executes, the live heap
     * minus the live heap with the records before the call, and the sizes of the chunk's SQL and binds.
     */
    static final class Hook {
        private volatile boolean armed;
        private long base;
        private int expectedChunks;
        private Path histogram;
        int chunks;
        long maxSqlChars;
        long maxBindChars;
        final List<Long> held = new ArrayList<>();
        final List<Integer> heldAt = new ArrayList<>();

        void arm(long base, int expectedChunks, Path histogram) {
            this.base = base;
            this.expectedChunks = expectedChunks;
            this.histogram = histogram;
            chunks = 0;
            maxSqlChars = 0;
            maxBindChars = 0;
            held.clear();
            heldAt.clear();
            armed = true;
        }

        void disarm() {
            armed = false;
        }

        private void beforeExecute(String sql, long bindChars) {
            // a chunk's statement: JSON rows, MariaDB's rows, or (PostgreSQL's COPY path, whose rows went by COPY
            // just before: no bind) the insert from the COPY table
            if (!armed || !sql.contains("json_populate_recordset") && !sql.contains("on duplicate key update")
                    && !sql.contains("pg_temp.sqlservice_upsert_")) {
                return;
            }
            chunks++;
            maxSqlChars = Math.max(maxSqlChars, sql.length());
            maxBindChars = Math.max(maxBindChars, bindChars);
            int stride = Math.max(1, expectedChunks / 20);
            boolean last = chunks == expectedChunks;
            if (chunks == 1 || last || chunks % stride == 0) {
                held.add(live() - base);
                heldAt.add(chunks);
            }
            if (last) {
                writeHistogram();
            }
        }

        private void writeHistogram() {
            try {
                Object text = ManagementFactory.getPlatformMBeanServer().invoke(
                        new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                        new Object[] {new String[0]}, new String[] {String[].class.getName()});
                Files.createDirectories(histogram.getParent());
                try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(histogram))) {
                    out.println("# live heap at the last upsert chunk of saveAll, just before it executes");
                    text.toString().lines().limit(40).forEach(out::println);
                }
            } catch (IOException | javax.management.JMException e) {
                throw new IllegalStateException(e);
            }
        }

        DataSource wrap(DataSource target) {
            return (DataSource) Proxy.newProxyInstance(Hook.class.getClassLoader(), new Class<?>[] {DataSource.class},
                    (proxy, method, args) -> {
                        Object result = invoke(method, target, args);
                        return result instanceof Connection c ? connection(c) : result;
                    });
        }

        private Connection connection(Connection target) {
            return (Connection) Proxy.newProxyInstance(Hook.class.getClassLoader(), new Class<?>[] {Connection.class},
                    (proxy, method, args) -> {
                        Object result = invoke(method, target, args);
                        if (result instanceof PreparedStatement ps && method.getName().equals("prepareStatement")) {
                            return statement(ps, (String) args[0]);
                        }
                        return result;
                    });
        }

        private PreparedStatement statement(PreparedStatement target, String sql) {
            long[] bindChars = new long[1];
            InvocationHandler handler = (proxy, method, args) -> {
                String name = method.getName();
                if (name.startsWith("set") && args != null && args.length == 2 && args[1] instanceof String s) {
                    bindChars[0] += s.length();
                } else if (name.equals("execute") || name.equals("executeQuery") || name.equals("executeUpdate")) {
                    beforeExecute(sql, bindChars[0]);
                    bindChars[0] = 0;
                }
                return invoke(method, target, args);
            };
            return (PreparedStatement) Proxy.newProxyInstance(Hook.class.getClassLoader(),
                    new Class<?>[] {PreparedStatement.class}, handler);
        }

        private static Object invoke(java.lang.reflect.Method method, Object target, Object[] args) throws Throwable {
            try {
                return method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    /** The core's record of the largest COPY text one statement held (package-private: by reflection). */
    private static java.util.concurrent.atomic.LongAccumulator largestCopyText() {
        try {
            java.lang.reflect.Field field = Class.forName("dev.sqlservice.PostgresBackend$Statements")
                    .getDeclaredField("LARGEST_COPY_TEXT");
            field.setAccessible(true);
            return (java.util.concurrent.atomic.LongAccumulator) field.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
