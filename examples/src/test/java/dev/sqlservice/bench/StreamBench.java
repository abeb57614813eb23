package dev.sqlservice.bench;

import static dev.sqlservice.bench.BenchItems.BENCH_ITEMS;
import static org.jooq.impl.DSL.selectFrom;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.Database;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * Scenario 5, streaming: every row of an {@code n}-row table (1,000,000; 10,000,000 in full mode) read through a
 * server-side cursor in a fork with {@code -Xmx64m} (where {@code all()} of even 1,000,000 rows cannot fit), each
 * variant reading every column of every row into objects and dropping them.
 *
 * <p>Variants, each once per round in a rotated order: {@code stream} ({@code Session.stream}, try-with-resources,
 * {@code forEach}), {@code publisher} ({@code AsyncSession.stream}, a subscriber requesting 1,000 rows at a time),
 * {@code jooqFetchStream} (<b>baseline</b>: plain jOOQ {@code fetchSize(1000).fetchStream()} in a jOOQ transaction,
 * which pgjdbc needs to use a cursor), {@code jdbcCursor} (a raw JDBC loop, autocommit off, fetch size 1,000). Per
 * variant: wall-clock ms, time to the first row (ms), and the peak heap used during the variant (MiB, every pool,
 * garbage included, after a GC before it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class StreamBench {

    static final List<String> VARIANTS = List.of("stream", "publisher", "jooqFetchStream", "jdbcCursor");
    static final int FETCH = 1_000;

    @Param({"1000000"})
    public int n;

    private Database db;
    private HikariDataSource pool;
    private DSLContext dsl;
    private int round;

    /** Per round and variant: ms, ms to the first row ({@code _firstMs}), peak used heap in MiB ({@code _peakMB}). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Times {
        public double stream;
        public double publisher;
        public double jooqFetchStream;
        public double jdbcCursor;
        public double stream_firstMs;
        public double publisher_firstMs;
        public double jooqFetchStream_firstMs;
        public double jdbcCursor_firstMs;
        public double stream_peakMB;
        public double publisher_peakMB;
        public double jooqFetchStream_peakMB;
        public double jdbcCursor_peakMB;
        public double maxHeapMB;
    }

    @Setup(Level.Trial)
    public void setUp() {
        db = Database.builder().url(Bench.rewriteUrl()).poolSize(2).build();
        pool = Bench.poolOf(db);
        Bench.createTable(pool);
        Bench.fill(pool, n);
        dsl = Bench.jooq(pool);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        db.close(); // and the pool, the library's own
    }

    /** The time of the first row of the running variant, and a checksum over every row. */
    private static final class Sink {
        final long start = System.nanoTime();
        long first;
        long rows;
        long sum;

        void row(long id, Object... columns) {
            if (rows++ == 0) {
                first = System.nanoTime();
            }
            sum += id + columns.length;
        }
    }

    @Benchmark
    public long round(Times times) throws Exception {
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        times.maxHeapMB = Runtime.getRuntime().maxMemory() / 1024.0 / 1024.0;
        long checksum = 0;
        for (String variant : Bench.rotation(VARIANTS, round)) {
            System.gc();
            heap.forEach(MemoryPoolMXBean::resetPeakUsage);
            Sink sink = new Sink();
            switch (variant) {
                case "stream" -> {
                    try (Stream<BenchItemsRecord> rows = db.blockingSession().stream(selectFrom(BENCH_ITEMS))) {
                        rows.forEach(r -> sink.row(r.getId(), r.getName(), r.getQty(), r.getPrice(), r.getTags(),
                                r.getUpdatedAt()));
                    }
                }
                case "publisher" -> publisher(sink);
                case "jooqFetchStream" -> dsl.transaction(tx -> {
                    try (Stream<BenchItemsRecord> rows = tx.dsl().selectFrom(BENCH_ITEMS).fetchSize(FETCH).fetchStream()) {
                        rows.forEach(r -> sink.row(r.getId(), r.getName(), r.getQty(), r.getPrice(), r.getTags(),
                                r.getUpdatedAt()));
                    }
                });
                case "jdbcCursor" -> {
                    try (Connection c = pool.getConnection()) {
                        c.setAutoCommit(false);
                        try (PreparedStatement ps = c.prepareStatement(Bench.SELECT_ALL_SQL)) {
                            ps.setFetchSize(FETCH);
                            try (ResultSet rs = ps.executeQuery()) {
                                while (rs.next()) {
                                    Bench.Item item = Bench.Item.read(rs);
                                    sink.row(item.id(), item.name(), item.qty(), item.price(), item.tags(), item.updatedAt());
                                }
                            }
                        }
                        c.commit();
                    }
                }
                default -> throw new IllegalStateException(variant);
            }
            double ms = Bench.millisSince(sink.start);
            double firstMs = (sink.first - sink.start) / 1e6;
            double peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum() / 1024.0 / 1024.0;
            switch (variant) {
                case "stream" -> { times.stream = ms; times.stream_firstMs = firstMs; times.stream_peakMB = peak; }
                case "publisher" -> { times.publisher = ms; times.publisher_firstMs = firstMs; times.publisher_peakMB = peak; }
                case "jooqFetchStream" -> { times.jooqFetchStream = ms; times.jooqFetchStream_firstMs = firstMs;
                    times.jooqFetchStream_peakMB = peak; }
                case "jdbcCursor" -> { times.jdbcCursor = ms; times.jdbcCursor_firstMs = firstMs; times.jdbcCursor_peakMB = peak; }
                default -> throw new IllegalStateException(variant);
            }
            if (sink.rows != n) {
                throw new IllegalStateException(variant + " read " + sink.rows + " rows instead of " + n);
            }
            checksum += sink.sum;
        }
        round++;
        return checksum;
    }

    /** Subscribes and waits for the end; requests {@link #FETCH} rows each time the previous ones arrived. */
    private void publisher(Sink sink) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Throwable[] failure = new Throwable[1];
        db.session().stream(selectFrom(BENCH_ITEMS)).subscribe(new Flow.Subscriber<BenchItemsRecord>() {
            private Flow.Subscription subscription;
            private int left;

            @Override
            public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                left = FETCH;
                s.request(FETCH);
            }

            @Override
            public void onNext(BenchItemsRecord r) {
                sink.row(r.getId(), r.getName(), r.getQty(), r.getPrice(), r.getTags(), r.getUpdatedAt());
                if (--left == 0) {
                    left = FETCH;
                    subscription.request(FETCH);
                }
            }

            @Override
            public void onError(Throwable t) {
                failure[0] = t;
                done.countDown();
            }

            @Override
            public void onComplete() {
                done.countDown();
            }
        });
        done.await();
        if (failure[0] != null) {
            throw new IllegalStateException("the publisher failed", failure[0]);
        }
    }
}
