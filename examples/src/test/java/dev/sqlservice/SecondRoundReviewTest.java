package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.JSONB;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Second-round review of the fixes made after the join-helping, COPY and MariaDB reviews (main since 43a0d18):
 * each failing test is named after a defect; tests named {@code probe_…} check what was found sound. See
 * docs/reviews/second-round-2.md. {@code PostgresBackend.Statements.copyRows} is restored after every test.
 */
@ExampleDatabase
class SecondRoundReviewTest {

    private int copyRows;

    @BeforeEach
    void setUp(TestDatabase test) {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "the COPY and JSON paths are PostgreSQL's");
        copyRows = PostgresBackend.Statements.copyRows;
    }

    @AfterEach
    void tearDown(TestDatabase test, DSLContext dsl) {
        if (test.dialect().family() == SQLDialect.POSTGRES) {
            PostgresBackend.Statements.copyRows = copyRows;
            for (T t : List.of(T.NUM, T.DOM, T.JSON, T.ARR)) {
                dsl.execute("drop table if exists " + t.getName());
            }
            dsl.execute("drop domain if exists r2_dom");
        }
    }

    private static void viaJson() {
        PostgresBackend.Statements.copyRows = Integer.MAX_VALUE;
    }

    private static void viaCopy() {
        PostgresBackend.Statements.copyRows = 1;
    }

    /**
     * The session keeps its COPY table ({@code create temporary table if not exists pg_temp.sqlservice_upsert_<hash
     * of the shape's SQL>}); the shape's SQL names the table and columns, not their types. After the target column's
     * type changes (a migration while the application runs: {@code numeric(10,2)} to {@code numeric(12,4)}), the
     * pooled session's next COPY saveAll reuses the old table: the value is parsed into {@code numeric(10,2)} first
     * and stored rounded, with no error, and the refreshed record says so too. The JSON path and a new session
     * store 1.2345.
     */
    @Test
    void copy_saveAll__after_the_target_columns_type_changed_stores_values_rounded_to_the_old_type(TestDatabase test,
            DSLContext dsl) {
        dsl.execute("create table r2_num (id bigint primary key, v numeric(10,2))");
        viaCopy();
        try (Database one = test.builder().poolSize(1).build()) {
            one.blockingSession().saveAll(T.rows(T.NUM, 1, new BigDecimal("1.25")));
            dsl.execute("alter table r2_num alter column v type numeric(12,4)");
            List<T.Rec> saved = one.blockingSession().saveAll(T.rows(T.NUM, 2, new BigDecimal("1.2345")));
            BigDecimal stored = (BigDecimal) dsl.fetchValue("select v from r2_num where id = 2");
            assertThat(stored).as("stored by the pooled session's second COPY saveAll").isEqualByComparingTo("1.2345");
            assertThat((BigDecimal) saved.getFirst().get(T.NUM.V)).as("refreshed record")
                    .isEqualByComparingTo("1.2345");
        }
    }

    /**
     * The session's COPY table copies the columns' domains, so it depends on them: a migration that moves a
     * column off a domain and drops the domain fails with 2BP01 ("other objects depend on it", naming
     * {@code pg_temp_N.sqlservice_upsert_…}) for as long as any pooled session of any application that once
     * COPY-saved into the table is open; with {@code cascade} it would drop a column of that session's table.
     * Before the fix the table was dropped at the end of each call.
     */
    @Test
    void a_pooled_sessions_copy_table_blocks_dropping_a_domain_the_target_table_no_longer_uses(TestDatabase test,
            DSLContext dsl) {
        dsl.execute("create domain r2_dom as text");
        dsl.execute("create table r2_dom_t (id bigint primary key, v r2_dom)");
        viaCopy();
        try (Database one = test.builder().poolSize(1).build()) {
            one.blockingSession().saveAll(T.rows(T.DOM, 1, "a"));
            dsl.execute("alter table r2_dom_t alter column v type text");
            Throwable failure = catchThrowable(() -> dsl.execute("drop domain r2_dom"));
            assertThat(failure).as("drop domain while the pool is open").isNull();
        }
    }

    /**
     * The JSON path parses a value by its column's database type, read from the catalog once per Database and
     * table and never again. A text column changed to jsonb ({@code alter … type jsonb using v::jsonb}) keeps
     * its old kind in the cache: the Database's next saveAll of a {@code String} field stores a JSON string
     * scalar ({@code "{\"a\": 2}"}) where a new Database (and COPY) stores the object {@code {"a": 2}}: the defect
     * the fix removed comes back, silently, until the application restarts.
     */
    @org.junit.jupiter.api.Disabled("known, documented (README, saveAll): what saveAll reads from the catalog about a table"
            + " (generated columns, json/jsonb columns) is read once per Database, as the generated columns always were;"
            + " validating it on every call would cost a round trip per save. After changing a column to or from json"
            + " while the application runs, build a new Database")
    @Test
    void json_path__after_a_text_column_became_jsonb_a_database_stores_json_strings_from_its_stale_cache(
            Database db, TestDatabase test, DSLContext dsl) {
        dsl.execute("create table r2_json (id bigint primary key, v text)");
        viaJson();
        db.blockingSession().saveAll(T.rows(T.JSON, 1, "{\"a\": 1}"));
        dsl.execute("alter table r2_json alter column v type jsonb using v::jsonb");
        try (Database fresh = test.builder().build()) {
            fresh.blockingSession().saveAll(T.rows(T.JSON, 3, "{\"a\": 3}"));
        }
        db.blockingSession().saveAll(T.rows(T.JSON, 2, "{\"a\": 2}"));
        assertThat(dsl.fetchValue("select jsonb_typeof(v) from r2_json where id = 3"))
                .as("saved by a new Database").isEqualTo("object");
        assertThat(dsl.fetchValue("select jsonb_typeof(v) from r2_json where id = 2"))
                .as("saved by the Database that saved into the table before the migration").isEqualTo("object");
    }

    /**
     * Probe (passes): jsonb[] with NULL elements, JSON null, empty arrays, a NULL array, strings, nested objects:
     * the JSON path (forced) and COPY store the same text, and the refreshed records equal what a query reads.
     */
    @Test
    void probe_jsonb_arrays_with_nulls_and_empty_arrays_are_stored_alike_by_both_paths(Database db, DSLContext dsl) {
        dsl.execute("create table r2_arr (id bigint primary key, v jsonb[])");
        Object[][] values = {
            null,
            {},
            {null},
            {JSONB.valueOf("null"), null, JSONB.valueOf("{\"a\": [1, null]}")},
            {JSONB.valueOf("\"x\\\"y\""), JSONB.valueOf("1.50"), JSONB.valueOf("[]"), JSONB.valueOf("{}")},
        };
        for (boolean copy : new boolean[] {false, true}) {
            if (copy) {
                viaCopy();
            } else {
                viaJson();
            }
            List<T.Rec> rows = new ArrayList<>();
            for (int i = 0; i < values.length; i++) {
                rows.add(T.rows(T.ARR, (copy ? 100 : 0) + i, values[i] == null ? null
                        : java.util.Arrays.copyOf(values[i], values[i].length, JSONB[].class)).getFirst());
            }
            List<T.Rec> saved = db.blockingSession().saveAll(rows);
            for (T.Rec r : saved) {
                assertThat(r.get(T.ARR.V)).as("refreshed record %s, copy=%s", r.get(T.ARR.ID), copy)
                        .isEqualTo(dsl.fetchValue(DSL.select(T.ARR.V).from(T.ARR).where(T.ARR.ID.eq(r.get(T.ARR.ID)))));
            }
        }
        List<String> json = dsl.fetch("select coalesce(v::text, '<null>') from r2_arr where id < 100 order by id")
                .getValues(0, String.class);
        List<String> copied = dsl.fetch("select coalesce(v::text, '<null>') from r2_arr where id >= 100 order by id")
                .getValues(0, String.class);
        assertThat(json).hasSize(values.length);
        assertThat(json).isEqualTo(copied);
    }

    /** One table shape: {@code id bigint primary key, v …}, one record class per table. */
    static final class T extends TableImpl<T.Rec> {
        static final T NUM = new T("r2_num", SQLDataType.NUMERIC, Num.class);
        static final T DOM = new T("r2_dom_t", SQLDataType.CLOB, Dom.class);
        static final T JSON = new T("r2_json", SQLDataType.CLOB, Json.class);
        static final T ARR = new T("r2_arr", SQLDataType.JSONB.array(), Arr.class);

        final TableField<Rec, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<Rec, Object> V;
        private final Class<? extends Rec> type;

        @SuppressWarnings({"unchecked", "rawtypes"})
        private T(String name, DataType<?> v, Class<? extends Rec> type) {
            super(DSL.name(name));
            V = (TableField) createField(DSL.name("v"), (DataType) v, this, "");
            this.type = type;
        }

        static List<Rec> rows(T table, long id, Object v) {
            Rec r;
            try {
                r = table.type.getConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            r.set(table.ID, id);
            r.set(table.V, v);
            List<Rec> rows = new ArrayList<>();
            rows.add(r);
            return rows;
        }

        @Override
        @SuppressWarnings("unchecked")
        public Class<Rec> getRecordType() {
            return (Class<Rec>) (Class<?>) type;
        }

        @Override
        public UniqueKey<Rec> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(getName() + "_pkey"), ID);
        }

        abstract static class Rec extends UpdatableRecordImpl<Rec> {
            Rec(T table) {
                super(table);
            }
        }

        public static final class Num extends Rec {
            public Num() {
                super(NUM);
            }
        }

        public static final class Dom extends Rec {
            public Dom() {
                super(DOM);
            }
        }

        public static final class Json extends Rec {
            public Json() {
                super(JSON);
            }
        }

        public static final class Arr extends Rec {
            public Arr() {
                super(ARR);
            }
        }
    }
}
