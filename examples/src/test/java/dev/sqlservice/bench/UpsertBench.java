package dev.sqlservice.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.Database;
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
 * Scenario 1, upsert: N fresh records (every field set, ids 1..N shuffled), half of whose keys are already
 * stored, written in one transaction by each variant.
 *
 * <p>One JMH invocation is one <em>round</em>: every variant runs once, in an order rotated each round, each
 * after the table was reset to the same half (truncate, insert the even ids, analyze) and after its own fresh
 * records were built; only the variant's own call is measured: its wall-clock milliseconds, and the client's CPU
 * milliseconds ({@code <variant>_cpu}: this JVM's CPU time, all threads, GC included), both aux counters of the
 * round.
 * The variants thus run interleaved in one fork, and each round gives one paired sample of every ratio.
 *
 * <p>Variants: {@code saveAll} (sqlservice, blocking session), jOOQ {@code batchMerge} and a loop of
 * {@code merge()} (each in one jOOQ transaction), the JDBC batch baseline, the COPY limit, and two diagnostics:
 * {@code copyRefresh}, the COPY limit with saveAll's refresh written by hand (the upsert returns every column and
 * each row is set into its record, found by id, before the commit), the floor of an upsert that reads back
 * what it stored; and
 * {@code librarySql}: the JSON statement sqlservice sends for a chunk of fewer than 5,000 rows
 * ({@code json_populate_recordset}, {@code order by}, {@code on conflict}, {@code returning} every column), sent
 * per 10,000 rows with the JSON built and the returned rows read by hand: the cost of that SQL without the library's
 * Java around it. Larger chunks (so every chunk at N=100,000) go by COPY into a temporary table instead, which
 * {@code librarySql} does not measure.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class UpsertBench {

    static final List<String> VARIANTS = List.of("saveAll", "batchMerge", "mergeLoop", "jdbcBatch", "copy", "copyRefresh",
            "librarySql");

    /** The number of records; BenchMain sets it per mode. */
    @Param({"1000"})
    public int n;

    /** Whether the (slow) merge() loop runs at this n; quick mode runs it at N=1,000 only. */
    @Param({"true"})
    public boolean mergeLoop;

    private Database db;
    private HikariDataSource pool;
    private DSLContext dsl;
    private int round;

    /** Per-round wall-clock and client-CPU milliseconds of each variant (JMH's secondary results of {@code round}). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Millis {
        public double saveAll;
        public double batchMerge;
        public double mergeLoop;
        public double jdbcBatch;
        public double copy;
        public double copyRefresh;
        public double librarySql;
        public double saveAll_cpu;
        public double batchMerge_cpu;
        public double mergeLoop_cpu;
        public double jdbcBatch_cpu;
        public double copy_cpu;
        public double copyRefresh_cpu;
        public double librarySql_cpu;
    }

    @Setup(Level.Trial)
    public void setUp() {
        db = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build();
        pool = Bench.poolOf(db);
        Bench.createTable(pool);
        dsl = Bench.jooq(pool);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        db.close(); // and the pool, the library's own
    }

    @Benchmark
    public int round(Millis millis) throws Exception {
        int written = 0;
        for (String variant : Bench.rotation(VARIANTS, round)) {
            if (variant.equals("mergeLoop") && !mergeLoop || variant.equals("librarySql") && Bench.mariadb()) {
                // librarySql is PostgreSQL's statement (json_populate_recordset)
                continue;
            }
            Bench.resetHalf(pool, n);
            List<BenchItemsRecord> records = Bench.records(n, round);
            System.gc();
            long cpu = Bench.cpuNanos();
            long start = System.nanoTime();
            written += switch (variant) {
                case "saveAll" -> db.blockingSession().saveAll(records).size();
                case "batchMerge" -> dsl.transactionResult(tx -> tx.dsl().batchMerge(records).execute().length);
                case "mergeLoop" -> dsl.transactionResult(tx -> {
                    DSLContext t = tx.dsl();
                    int rows = 0;
                    for (BenchItemsRecord r : records) {
                        t.attach(r);
                        rows += r.merge();
                    }
                    return rows;
                });
                case "jdbcBatch" -> Bench.jdbcBatch(pool, records);
                case "copy" -> Bench.copyUpsert(pool, records);
                case "copyRefresh" -> Bench.copyUpsert(pool, records, true);
                case "librarySql" -> Bench.librarySql(pool, records);
                default -> throw new IllegalStateException(variant);
            };
            double ms = Bench.millisSince(start);
            double cpuMs = (Bench.cpuNanos() - cpu) / 1e6;
            switch (variant) {
                case "saveAll" -> { millis.saveAll = ms; millis.saveAll_cpu = cpuMs; }
                case "batchMerge" -> { millis.batchMerge = ms; millis.batchMerge_cpu = cpuMs; }
                case "mergeLoop" -> { millis.mergeLoop = ms; millis.mergeLoop_cpu = cpuMs; }
                case "jdbcBatch" -> { millis.jdbcBatch = ms; millis.jdbcBatch_cpu = cpuMs; }
                case "copy" -> { millis.copy = ms; millis.copy_cpu = cpuMs; }
                case "copyRefresh" -> { millis.copyRefresh = ms; millis.copyRefresh_cpu = cpuMs; }
                case "librarySql" -> { millis.librarySql = ms; millis.librarySql_cpu = cpuMs; }
                default -> throw new IllegalStateException(variant);
            }
            if (round == 0) {
                check(variant);
            }
        }
        round++;
        return written;
    }

    /** The first round checks that each variant really wrote all n rows, the odd ones new, with this round's values. */
    private void check(String variant) {
        int count = Bench.count(pool);
        if (count != n) {
            throw new IllegalStateException(variant + " left " + count + " rows instead of " + n);
        }
        BenchItemsRecord stored = dsl.selectFrom(BenchItems.BENCH_ITEMS).where(BenchItems.BENCH_ITEMS.ID.eq(2L)).fetchSingle();
        if (!stored.getName().equals("item-2-" + round)) {
            throw new IllegalStateException(variant + " did not update id 2: " + stored);
        }
    }
}
