package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.testing.TestDatabase;
import java.sql.SQLTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * saveAll's COPY path on PostgreSQL ({@link PostgresBackend.Statements#copyUpsert}): it stays under the call's
 * statement timeout and cancel, and writes what the JSON path writes. Every statement takes the COPY path here
 * ({@code copyRows} lowered to 1).
 */
@ExampleDatabase
class CopyUpsertTest {

    private int copyRows;

    @BeforeEach
    void setUp(TestDatabase test, DSLContext dsl) {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "COPY is PostgreSQL's");
        copyRows = PostgresBackend.Statements.copyRows;
        PostgresBackend.Statements.copyRows = 1;
        dsl.execute("drop table if exists " + Slow.NAME);
        dsl.execute("drop domain if exists copy_slow_text");
        dsl.execute("create or replace function copy_slow_ok(text) returns boolean language plpgsql as"
                + " $$ begin perform pg_sleep(0.01); return true; end $$");
        dsl.execute("create domain copy_slow_text as text check (copy_slow_ok(value))");
        dsl.execute("create table " + Slow.NAME + " (id bigint primary key, note copy_slow_text,"
                + " tags text[], blobs bytea[])");
    }

    @AfterEach
    void tearDown(TestDatabase test, DSLContext dsl) {
        if (test.dialect().family() == SQLDialect.POSTGRES) {
            PostgresBackend.Statements.copyRows = copyRows;
            dsl.execute("drop table if exists " + Slow.NAME);
            dsl.execute("drop domain if exists copy_slow_text");
        }
    }

    private static List<SlowRecord> slowRows(int n) {
        List<SlowRecord> rows = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            SlowRecord r = new SlowRecord();
            r.set(Slow.SLOW.ID, (long) i);
            r.set(Slow.SLOW.NOTE, "row " + i);
            rows.add(r);
        }
        return rows;
    }

    /** Statements of the server's other sessions whose text contains {@code fragment}, now. */
    private static long running(DSLContext dsl, String fragment) {
        return dsl.fetchValue(DSL.field("(select count(*) from pg_stat_activity where state = 'active'"
                + " and pid <> pg_backend_pid() and query like '%' || {0} || '%')", Long.class, DSL.val(fragment)));
    }

    private static void awaitIdle(DSLContext dsl) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (running(dsl, "sqlservice_upsert_") > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(running(dsl, "sqlservice_upsert_")).as("COPY still running on the server").isZero();
    }

    @Test
    void copy_saveAll__whose_statement_timeout_expires_during_the_COPY_fails_with_the_timeout_and_writes_nothing(
            Database db, DSLContext dsl) throws Exception {
        long copies = PostgresBackend.Statements.COPIES.sum();
        // 400 rows, each checked by the domain for 10 ms while the COPY runs: about 4 s unless cancelled
        CompletionStage<List<SlowRecord>> stage = db.session().withStatementTimeout(Duration.ofMillis(300))
                .saveAll(slowRows(400));

        long started = System.nanoTime();
        assertThat(stage).failsWithin(Duration.ofSeconds(8));
        Throwable failure = causeOf(stage);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(2_500);
        assertThat(failure).isInstanceOf(DataAccessException.class).hasMessageContaining("timed out after 300 ms");
        assertThat(failure.getCause()).isInstanceOf(SQLTimeoutException.class);
        assertThat(((DataAccessException) failure).sqlState()).isEqualTo("57014");
        assertThat(PostgresBackend.Statements.COPIES.sum()).as("no COPY completed").isEqualTo(copies);
        assertThat(dsl.fetchCount(Slow.SLOW)).isZero();
        awaitIdle(dsl);
        // the connection went back to the pool usable
        assertThat(db.blockingSession().one("select 1 as one").get("one", Integer.class)).isEqualTo(1);
    }

    @Test
    void copy_saveAll__cancelled_during_the_COPY_ends_cancelled_and_writes_nothing(Database db, DSLContext dsl)
            throws Exception {
        CompletionStage<List<SlowRecord>> stage = db.session().saveAll(slowRows(400));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (running(dsl, "copy pg_temp.sqlservice_upsert_") == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(running(dsl, "copy pg_temp.sqlservice_upsert_")).as("the COPY runs").isEqualTo(1);

        long started = System.nanoTime();
        stage.toCompletableFuture().cancel(true);

        assertThat(stage.toCompletableFuture()).isCancelled();
        awaitIdle(dsl);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(2_500);
        assertThat(dsl.fetchCount(Slow.SLOW)).isZero();
        assertThat(db.blockingSession().one("select 1 as one").get("one", Integer.class)).isEqualTo(1);
    }

    @Test
    void copy_saveAll__stores_arrays_and_text_that_needs_escaping_as_the_json_path_does(Database db, DSLContext dsl) {
        dsl.execute("alter table " + Slow.NAME + " alter column note type text");
        String hostile = "tab\there, newline\nand\r\\backslash \\N \"quoted\" {braces} NULL, ünïcödé 😀 \\.";
        List<SlowRecord> viaCopy = new ArrayList<>();
        List<SlowRecord> viaJson = new ArrayList<>();
        for (long id = 1; id <= 4; id++) {
            for (List<SlowRecord> list : List.of(viaCopy, viaJson)) {
                SlowRecord r = new SlowRecord();
                r.set(Slow.SLOW.ID, list == viaCopy ? id : id + 100);
                r.set(Slow.SLOW.TAGS, id == 1 ? new String[] {hostile, "NULL", "", null, "\\N"}
                        : id == 2 ? new String[0] : id == 3 ? null : new String[] {"a,b", "{c}", " d "});
                r.set(Slow.SLOW.BLOBS, id == 1 ? new byte[][] {{0, 1, (byte) 0xff}, null, {}} : null);
                list.add(r);
            }
        }
        long copies = PostgresBackend.Statements.COPIES.sum();
        db.blockingSession().saveAll(viaCopy);
        assertThat(PostgresBackend.Statements.COPIES.sum()).isEqualTo(copies + 1);
        PostgresBackend.Statements.copyRows = Integer.MAX_VALUE;
        db.blockingSession().saveAll(viaJson);
        assertThat(PostgresBackend.Statements.COPIES.sum()).isEqualTo(copies + 1);

        for (long id = 1; id <= 4; id++) {
            SlowRecord copied = dsl.fetchOne(Slow.SLOW, Slow.SLOW.ID.eq(id));
            SlowRecord json = dsl.fetchOne(Slow.SLOW, Slow.SLOW.ID.eq(id + 100));
            assertThat(copied.get(Slow.SLOW.TAGS)).as("tags of %s", id).isEqualTo(json.get(Slow.SLOW.TAGS))
                    .isEqualTo(viaCopy.get((int) id - 1).get(Slow.SLOW.TAGS));
            assertThat(copied.get(Slow.SLOW.BLOBS)).as("blobs of %s", id).isEqualTo(json.get(Slow.SLOW.BLOBS))
                    .isEqualTo(viaCopy.get((int) id - 1).get(Slow.SLOW.BLOBS));
        }
    }

    @Test
    void copy_saveAll__of_text_with_a_NUL_fails_as_the_json_path_does_and_writes_nothing(Database db, DSLContext dsl) {
        dsl.execute("alter table " + Slow.NAME + " alter column note type text");
        List<SlowRecord> rows = slowRows(3);
        rows.get(2).set(Slow.SLOW.NOTE, "nul\u0000here");
        Throwable viaCopy = org.assertj.core.api.Assertions.catchThrowable(() -> db.blockingSession().saveAll(rows));
        PostgresBackend.Statements.copyRows = Integer.MAX_VALUE;
        Throwable viaJson = org.assertj.core.api.Assertions.catchThrowable(() -> db.blockingSession().saveAll(rows));
        assertThat(viaCopy).isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) viaCopy).sqlState()).isEqualTo(((DataAccessException) viaJson).sqlState());
        assertThat(dsl.fetchCount(Slow.SLOW)).isZero();
    }

    @Test
    void copy_saveAll__on_a_data_source_whose_connections_do_not_unwrap_to_pgjdbc_takes_the_json_path(TestDatabase test,
            DSLContext dsl) throws Exception {
        dsl.execute("alter table " + Slow.NAME + " alter column note type text");
        try (com.zaxxer.hikari.HikariDataSource pool = TestPools.pool(test, 2)) {
            javax.sql.DataSource wrapping = (javax.sql.DataSource) java.lang.reflect.Proxy.newProxyInstance(
                    getClass().getClassLoader(), new Class<?>[] {javax.sql.DataSource.class}, (proxy, method, args) -> {
                        Object result = invoke(method, pool, args);
                        if (!(result instanceof java.sql.Connection connection)) {
                            return result;
                        }
                        // a connection that hides what it wraps
                        return java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                                new Class<?>[] {java.sql.Connection.class}, (p, m, a) -> switch (m.getName()) {
                                    case "isWrapperFor" -> false;
                                    case "unwrap" -> throw new java.sql.SQLException("not a wrapper");
                                    default -> invoke(m, connection, a);
                                });
                    });
            long copies = PostgresBackend.Statements.COPIES.sum();
            try (Database db = Database.builder().dataSource(wrapping).dialect(test.dialect()).poolSize(1).build()) {
                db.blockingSession().saveAll(slowRows(5));
            }
            assertThat(PostgresBackend.Statements.COPIES.sum()).isEqualTo(copies);
            assertThat(dsl.fetchCount(Slow.SLOW)).isEqualTo(5);
        }
    }

    @Test
    void copy_saveAll__in_many_statements_uses_one_temporary_table_per_shape_dropped_at_commit(
            dev.sqlservice.testing.TestDatabase test, DSLContext dsl) {
        dsl.execute("alter table " + Slow.NAME + " alter column note type text");
        List<SlowRecord> first = slowRows(300);
        // every other record writes other columns: 300 one-row statements, two shapes of temporary table
        for (int i = 0; i < first.size(); i += 2) {
            first.get(i).set(Slow.SLOW.TAGS, new String[] {"t" + i});
        }
        List<SlowRecord> second = slowRows(300);
        for (SlowRecord r : second) {
            r.set(Slow.SLOW.NOTE, "again " + r.get(Slow.SLOW.ID));
        }
        // a pool of one: every call on the same session
        try (Database one = test.builder().poolSize(1).build()) {
            List<String> before = one.blockingSession().transaction(tx -> copyTables(tx.dsl()));
            long copies = PostgresBackend.Statements.COPIES.sum();
            one.blockingSession().saveAll(first);
            one.blockingSession().saveAll(second);
            assertThat(PostgresBackend.Statements.COPIES.sum() - copies).isEqualTo(301);
            // one per shape within a call (301 statements, two shapes), dropped when its transaction commits
            List<String> left = one.blockingSession().transaction(tx -> copyTables(tx.dsl()));
            assertThat(left).as("temporary tables left").isEqualTo(before).isEmpty();
        }
        assertThat(dsl.fetchCount(Slow.SLOW, Slow.SLOW.NOTE.like("again %"))).isEqualTo(300);
        assertThat(dsl.fetchCount(Slow.SLOW, Slow.SLOW.TAGS.isNotNull())).isEqualTo(150);
    }

    @Test
    void saveAll_nested_in_a_transaction_sends_its_rows_as_json(Database db, DSLContext dsl) {
        dsl.execute("alter table " + Slow.NAME + " alter column note type text");
        long copies = PostgresBackend.Statements.COPIES.sum();
        db.blockingSession().transaction(tx -> {
            tx.saveAll(slowRows(300));
            tx.saveAll(slowRows(300));
            return null;
        });
        // TRUNCATE inside savepoints costs more with every earlier one in the transaction (an import loop of
        // thousands of calls turned quadratic): nested calls keep the JSON path
        assertThat(PostgresBackend.Statements.COPIES.sum()).isEqualTo(copies);
        assertThat(dsl.fetchCount(Slow.SLOW)).isEqualTo(300);
    }

    private static Object invoke(java.lang.reflect.Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static Throwable causeOf(CompletionStage<?> stage) {
        try {
            stage.toCompletableFuture().get();
            throw new AssertionError("succeeded");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (CancellationException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    static final class Slow extends TableImpl<SlowRecord> {
        static final String NAME = "copy_slow";
        static final Slow SLOW = new Slow();

        final TableField<SlowRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<SlowRecord, String> NOTE = createField(DSL.name("note"), SQLDataType.CLOB, this, "");
        final TableField<SlowRecord, String[]> TAGS = createField(DSL.name("tags"), SQLDataType.CLOB.array(), this, "");
        final TableField<SlowRecord, byte[][]> BLOBS = createField(DSL.name("blobs"), SQLDataType.BLOB.array(), this, "");

        private Slow() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<SlowRecord> getRecordType() {
            return SlowRecord.class;
        }

        @Override
        public UniqueKey<SlowRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(NAME + "_pkey"), ID);
        }
    }

    public static final class SlowRecord extends UpdatableRecordImpl<SlowRecord> {
        public SlowRecord() {
            super(Slow.SLOW);
        }
    }

    /** The COPY path's temporary tables the session of {@code dsl} holds. */
    static List<String> copyTables(DSLContext dsl) {
        return dsl.fetch("select relname from pg_class where relnamespace = pg_my_temp_schema()"
                + " and relname like 'sqlservice\\_upsert\\_%' order by relname").getValues(0, String.class);
    }
}
