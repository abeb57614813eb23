package dev.sqlservice.bench;

import static dev.sqlservice.bench.BenchItems.BENCH_ITEMS;
import static org.jooq.impl.DSL.selectFrom;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.AsyncSession;
import dev.sqlservice.Database;
import dev.sqlservice.PreparedQuery;
import dev.sqlservice.Session;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * Scenario 2, reading: every row of an {@code n}-row table (100,000), and primary-key lookups one at a time.
 *
 * <p>One JMH invocation is one round: each whole-table variant once, in an order rotated each round, timed on
 * its own (wall-clock milliseconds per read, and the client JVM's CPU milliseconds); then {@code lookups} random keys, each looked up by every lookup variant in
 * turn (order rotated per key), each variant's time summed (microseconds per lookup). Every variant reads
 * every column of every row into objects. The lookup variant {@code jooqAsyncJoined} is jOOQ's own
 * {@code fetchAsync} on a virtual thread, joined at once: what handing a lookup to another thread and waiting for
 * it costs without this library.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ReadBench {

    static final List<String> WHOLE_TABLE = List.of("allAsync", "allBlocking", "jooqFetch", "jdbcLoop");

    /** The lookup variants, in this order in {@link #round}. */
    static final List<String> POINT = List.of("firstAsync", "firstBlocking", "jooqFetchOptional", "jdbcFirst",
            "firstPreparedAsync", "jooqAsyncJoined");

    private static final org.jooq.Param<Long> ID = DSL.param("id", Long.class);

    @Param({"100000"})
    public int n;

    @Param({"2000"})
    public int lookups;

    private Database db;
    private AsyncSession session;
    private Session blocking;
    private HikariDataSource pool;
    private DSLContext dsl;
    private PreparedQuery<BenchItemsRecord> byId;
    private java.util.concurrent.ExecutorService virtualThreads;
    private int round;

    /** Per round: milliseconds per whole-table read (wall clock, and client CPU as {@code _cpu}), µs per lookup. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Times {
        public double allAsync;
        public double allBlocking;
        public double jooqFetch;
        public double jdbcLoop;
        public double firstAsync;
        public double firstBlocking;
        public double jooqFetchOptional;
        public double jdbcFirst;
        public double firstPreparedAsync;
        public double jooqAsyncJoined;
        public double allAsync_cpu;
        public double allBlocking_cpu;
        public double jooqFetch_cpu;
        public double jdbcLoop_cpu;
    }

    @Setup(Level.Trial)
    public void setUp() {
        db = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build();
        pool = Bench.poolOf(db);
        Bench.createTable(pool);
        Bench.fill(pool, n);
        session = db.session();
        blocking = db.blockingSession();
        dsl = Bench.jooq(pool);
        byId = db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(ID)));
        virtualThreads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        virtualThreads.close();
        db.close(); // and the pool, the library's own
    }

    @Benchmark
    public long round(Times times) throws Exception {
        long checksum = 0;
        for (String variant : Bench.rotation(WHOLE_TABLE, round)) {
            System.gc();
            long cpu = Bench.cpuNanos();
            long start = System.nanoTime();
            int read = switch (variant) {
                case "allAsync" -> session.all(selectFrom(BENCH_ITEMS)).toCompletableFuture().join().size();
                case "allBlocking" -> blocking.all(selectFrom(BENCH_ITEMS)).size();
                case "jooqFetch" -> dsl.selectFrom(BENCH_ITEMS).fetch().size();
                case "jdbcLoop" -> Bench.jdbcReadAll(pool).size();
                default -> throw new IllegalStateException(variant);
            };
            double ms = Bench.millisSince(start);
            double cpuMs = (Bench.cpuNanos() - cpu) / 1e6;
            switch (variant) {
                case "allAsync" -> { times.allAsync = ms; times.allAsync_cpu = cpuMs; }
                case "allBlocking" -> { times.allBlocking = ms; times.allBlocking_cpu = cpuMs; }
                case "jooqFetch" -> { times.jooqFetch = ms; times.jooqFetch_cpu = cpuMs; }
                case "jdbcLoop" -> { times.jdbcLoop = ms; times.jdbcLoop_cpu = cpuMs; }
                default -> throw new IllegalStateException(variant);
            }
            if (read != n) {
                throw new IllegalStateException(variant + " read " + read + " rows instead of " + n);
            }
            checksum += read;
        }
        // Lookups: for each key every variant once, in a rotated order, so that load changes hit all alike.
        System.gc();
        long[] keys = Bench.keys(lookups, n, round);
        long[] nanos = new long[POINT.size()];
        for (int k = 0; k < keys.length; k++) {
            long key = keys[k];
            for (int j = 0; j < POINT.size(); j++) {
                int v = (j + k) % POINT.size();
                long start = System.nanoTime();
                BenchItemsRecord row = switch (v) {
                    case 0 -> session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)))
                            .toCompletableFuture().join().orElseThrow();
                    case 1 -> blocking.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))).orElseThrow();
                    case 2 -> dsl.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional().orElseThrow();
                    case 3 -> null;
                    case 4 -> session.first(byId.bind(ID, key)).toCompletableFuture().join().orElseThrow();
                    // jOOQ's own asynchronous call on a virtual thread, joined at once: what a hand-off costs
                    case 5 -> dsl.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchAsync(virtualThreads)
                            .toCompletableFuture().join().getFirst();
                    default -> throw new IllegalStateException();
                };
                long qty = v == 3 ? Bench.jdbcFirst(pool, key).qty() : row.getQty();
                nanos[v] += System.nanoTime() - start;
                checksum += qty;
            }
        }
        times.firstAsync = nanos[0] / 1e3 / lookups;
        times.firstBlocking = nanos[1] / 1e3 / lookups;
        times.jooqFetchOptional = nanos[2] / 1e3 / lookups;
        times.jdbcFirst = nanos[3] / 1e3 / lookups;
        times.firstPreparedAsync = nanos[4] / 1e3 / lookups;
        times.jooqAsyncJoined = nanos[5] / 1e3 / lookups;
        round++;
        return checksum;
    }
}
