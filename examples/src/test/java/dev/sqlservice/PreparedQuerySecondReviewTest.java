package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.PRICES;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.testing.TestDatabase;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.sql.Connection;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Second-round review of the PreparedQuery fix (markers around each parameter's text, verified against jOOQ's
 * rendering): typical jOOQ queries with constants, each prepared and run, compared with the same query run
 * unprepared (rows and the SQL the driver receives).
 */
@ExampleDatabase
class PreparedQuerySecondReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 1, 12, 30, 15, 123_456_000, ZoneOffset.UTC);

    private boolean postgres;

    @BeforeEach
    void rows(Database db, TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
        db.dsl().insertInto(PRICES, PRICES.AMOUNT, PRICES.LABEL).values(new BigDecimal("1.25"), "a")
                .values(new BigDecimal("1.75"), "b").values(new BigDecimal("2.00"), "c").execute();
    }

    /** Typical queries with constants only (every bind an unnamed constant). */
    private Map<String, Supplier<ResultQuery<? extends Record>>> typical() {
        Map<String, Supplier<ResultQuery<? extends Record>>> q = new LinkedHashMap<>();
        q.put("implicit join", () -> select(POSTS.users().NAME, POSTS.TITLE).from(POSTS).where(POSTS.ID.gt(0L))
                .and(POSTS.TITLE.ne("x")).orderBy(POSTS.ID));
        q.put("join on with binds", () -> select(USERS.NAME, POSTS.TITLE).from(USERS).join(POSTS)
                .on(POSTS.USER_ID.eq(USERS.ID).and(POSTS.TITLE.ne("zz"))).where(USERS.NAME.ne("x")).orderBy(POSTS.ID));
        q.put("left join + coalesce", () -> select(USERS.NAME, DSL.coalesce(POSTS.TITLE, "none")).from(USERS)
                .leftJoin(POSTS).on(POSTS.USER_ID.eq(USERS.ID)).orderBy(USERS.ID, POSTS.ID));
        q.put("in subquery", () -> selectFrom(USERS).where(USERS.ID.in(select(POSTS.USER_ID).from(POSTS)
                .where(POSTS.TITLE.ne("q")))).orderBy(USERS.ID));
        q.put("in list", () -> selectFrom(USERS).where(USERS.ID.in(1L, 3L)).orderBy(USERS.ID));
        q.put("limit offset", () -> selectFrom(USERS).orderBy(USERS.ID).limit(2).offset(1));
        q.put("case", () -> select(DSL.when(USERS.ID.eq(1L), "a").when(USERS.ID.eq(2L), "b").otherwise("c"))
                .from(USERS).orderBy(USERS.ID));
        q.put("window", () -> select(USERS.NAME, DSL.rowNumber().over(DSL.orderBy(USERS.ID)),
                DSL.lag(USERS.NAME, 1, "none").over(DSL.orderBy(USERS.ID))).from(USERS).orderBy(USERS.ID));
        q.put("group by having", () -> select(POSTS.USER_ID, DSL.count()).from(POSTS).groupBy(POSTS.USER_ID)
                .having(DSL.count().gt(1)).orderBy(POSTS.USER_ID));
        q.put("exists", () -> selectFrom(USERS).whereExists(DSL.selectOne().from(POSTS)
                .where(POSTS.USER_ID.eq(USERS.ID)).and(POSTS.TITLE.ne("w"))).orderBy(USERS.ID));
        q.put("derived table", () -> {
            var t = select(USERS.ID, USERS.NAME).from(USERS).where(USERS.ID.ge(2L)).asTable("t");
            return select(t.field(USERS.NAME)).from(t).where(t.field(USERS.ID).le(3L)).orderBy(t.field(USERS.ID));
        });
        q.put("union", () -> select(USERS.NAME).from(USERS).where(USERS.ID.eq(1L))
                .unionAll(select(USERS.NAME).from(USERS).where(USERS.ID.eq(3L))));
        q.put("like contains", () -> selectFrom(USERS).where(USERS.NAME.containsIgnoreCase("i")).orderBy(USERS.ID));
        q.put("startsWith", () -> selectFrom(USERS).where(USERS.EMAIL.startsWith("ann")).orderBy(USERS.ID));
        q.put("between", () -> selectFrom(USERS).where(USERS.ID.between(2L, 3L)).orderBy(USERS.ID));
        q.put("date compare", () -> selectFrom(USERS).where(USERS.CREATED_AT.gt(T0)).orderBy(USERS.ID));
        q.put("date arithmetic", () -> select(USERS.NAME).from(USERS)
                .where(DSL.localDateTimeAdd(DSL.cast(USERS.CREATED_AT, org.jooq.impl.SQLDataType.LOCALDATETIME), 1,
                        org.jooq.DatePart.DAY).gt(DSL.val(java.time.LocalDateTime.of(2026, 3, 2, 13, 0)))).orderBy(USERS.ID));
        q.put("arithmetic select", () -> select(DSL.val(1).plus(DSL.val(2)), USERS.ID.plus(10L)).from(USERS)
                .orderBy(USERS.ID));
        q.put("decimal compare", () -> selectFrom(PRICES).where(PRICES.AMOUNT.gt(new BigDecimal("1.5")))
                .orderBy(PRICES.AMOUNT));
        q.put("decimal in select", () -> select(PRICES.LABEL, DSL.val(new BigDecimal("1.5")).as("x")).from(PRICES)
                .orderBy(PRICES.AMOUNT));
        q.put("values table", () -> select().from(DSL.values(DSL.row(1, "a"), DSL.row(2, "b")).as("v", "n", "s")));
        q.put("json object", () -> select(DSL.jsonObject(DSL.key("n").value(USERS.NAME), DSL.key("k").value("c")))
                .from(USERS).orderBy(USERS.ID));
        q.put("json array agg", () -> select(DSL.jsonArrayAgg(USERS.NAME)).from(USERS).where(USERS.ID.lt(3L)));
        q.put("substring concat", () -> select(DSL.concat(DSL.substring(USERS.NAME, 1, 2), DSL.val("-"),
                USERS.NAME)).from(USERS).orderBy(USERS.ID));
        q.put("scalar subquery in select", () -> select(USERS.NAME, DSL.field(select(DSL.count()).from(POSTS)
                .where(POSTS.USER_ID.eq(USERS.ID)).and(POSTS.TITLE.ne("v")))).from(USERS).orderBy(USERS.ID));
        q.put("with", () -> {
            var cte = DSL.name("c").fields("id").as(select(USERS.ID).from(USERS).where(USERS.ID.gt(1L)));
            return DSL.with(cte).select(DSL.field(DSL.name("c", "id"))).from(cte).where(DSL.field(DSL.name("c", "id"),
                    Long.class).lt(3L));
        });
        q.put("row value in", () -> selectFrom(USERS).where(DSL.row(USERS.ID, USERS.NAME).in(DSL.row(1L, "Ann"),
                DSL.row(2L, "Bob"))).orderBy(USERS.ID));
        q.put("greatest", () -> select(DSL.greatest(USERS.ID, 2L)).from(USERS).orderBy(USERS.ID));
        q.put("string agg", () -> select(DSL.listAgg(USERS.NAME, ",").withinGroupOrderBy(USERS.ID)).from(USERS));
        q.put("nullif", () -> select(DSL.nullif(USERS.NAME, "Bob")).from(USERS).orderBy(USERS.ID));
        q.put("mod", () -> selectFrom(USERS).where(USERS.ID.mod(2L).eq(1L)).orderBy(USERS.ID));
        q.put("isDistinctFrom", () -> selectFrom(USERS).where(USERS.EMAIL.isDistinctFrom("ann@example.com"))
                .orderBy(USERS.ID));
        q.put("seek", () -> selectFrom(USERS).orderBy(USERS.ID).seek(1L).limit(5));
        q.put("enum", () -> selectFrom(POSTS).where(POSTS.STATUS.eq(PostStatus.draft)));
        q.put("array any (PG)", () -> selectFrom(USERS).where(USERS.ID.eq(DSL.any(1L, 3L))).orderBy(USERS.ID));
        return q;
    }

    @Test
    void typical_queries_with_constants__prepared_send_the_same_sql_and_get_the_same_rows(TestDatabase test) throws Exception {
        List<String> problems = new ArrayList<>();
        List<String> sent = Collections.synchronizedList(new ArrayList<>());
        try (var pool = TestPools.pool(test, 2);
                Database db = Database.builder().dataSource(recording(pool, sent)).dialect(test.dialect()).build()) {
            for (var e : typical().entrySet()) {
                String name = e.getKey();
                ResultQuery<? extends Record> query;
                try {
                    query = e.getValue().get();
                } catch (RuntimeException ex) {
                    continue; // not supported by jOOQ on this dialect
                }
                List<String> unpreparedSql;
                String unpreparedRows;
                try {
                    sent.clear();
                    unpreparedRows = db.blockingSession().all(e.getValue().get()).formatCSV();
                    unpreparedSql = List.copyOf(sent);
                } catch (RuntimeException ex) {
                    System.out.println("SKIP (unprepared fails) " + name + ": " + ex);
                    continue;
                }
                PreparedQuery<? extends Record> prepared;
                try {
                    prepared = db.prepare(query);
                } catch (RuntimeException ex) {
                    problems.add(name + ": refused: " + ex.getMessage());
                    continue;
                }
                try {
                    sent.clear();
                    String rows = db.blockingSession().all(prepared).formatCSV();
                    if (!List.copyOf(sent).equals(unpreparedSql)) {
                        problems.add(name + ": SQL differs\n  prepared:   " + sent + "\n  unprepared: " + unpreparedSql);
                    }
                    if (!rows.equals(unpreparedRows)) {
                        problems.add(name + ": rows differ\n  prepared:   " + rows + "\n  unprepared: " + unpreparedRows);
                    }
                } catch (RuntimeException ex) {
                    problems.add(name + ": prepared run fails: " + ex);
                }
            }
        }
        problems.forEach(p -> System.out.println("PROBLEM " + p));
        assertThat(problems).isEmpty();
    }

    /**
     * Typical queries with named parameters ({@code p} true) or the same values as constants ({@code p} false):
     * the prepared query, bound, must send the same SQL and read the same rows as the unprepared one.
     */
    private static Map<String, java.util.function.Function<Boolean, ResultQuery<? extends Record>>> named() {
        org.jooq.Param<Long> id = param("id", Long.class);
        org.jooq.Param<String> name = param("name", String.class);
        org.jooq.Param<Integer> n = param("n", Integer.class);
        Map<String, java.util.function.Function<Boolean, ResultQuery<? extends Record>>> q = new LinkedHashMap<>();
        q.put("implicit join, named in where and select", p -> select(POSTS.users().NAME,
                p ? DSL.concat(name, POSTS.TITLE) : DSL.concat(DSL.val("N"), POSTS.TITLE)).from(POSTS)
                .where(POSTS.users().ID.ge(p ? id : DSL.val(1L))).and(POSTS.users().NAME.ne(p ? name : DSL.val("N")))
                .orderBy(POSTS.ID).limit(p ? n : DSL.val(2)));
        q.put("to-many path exists", p -> selectFrom(USERS).whereExists(DSL.selectOne().from(USERS.posts())
                .where(USERS.posts().TITLE.ne(p ? name : DSL.val("N")))).orderBy(USERS.ID));
        q.put("multiset", p -> select(USERS.NAME, DSL.multiset(select(POSTS.TITLE).from(POSTS)
                .where(POSTS.USER_ID.eq(USERS.ID)).and(POSTS.ID.ge(p ? id : DSL.val(1L))).orderBy(POSTS.ID)))
                .from(USERS).where(USERS.NAME.ne(p ? name : DSL.val("N"))).orderBy(USERS.ID));
        q.put("window frame", p -> select(USERS.NAME, DSL.sum(USERS.ID).over(DSL.orderBy(USERS.ID)
                .rowsBetweenPreceding(1).andCurrentRow())).from(USERS).where(USERS.ID.ge(p ? id : DSL.val(1L)))
                .orderBy(USERS.ID));
        q.put("case with named", p -> select(DSL.when(USERS.ID.eq(p ? id : DSL.val(1L)), p ? name : DSL.val("N"))
                .otherwise(USERS.NAME)).from(USERS).orderBy(USERS.ID));
        q.put("named in select list", p -> select(p ? id.as("x") : DSL.val(1L).as("x"), USERS.NAME).from(USERS)
                .orderBy(USERS.ID));
        q.put("named in in-list", p -> selectFrom(USERS).where(USERS.ID.in(p ? id : DSL.val(1L), DSL.val(3L)))
                .orderBy(USERS.ID));
        q.put("named in derived table and outer", p -> {
            var t = select(USERS.ID, USERS.NAME).from(USERS).where(USERS.ID.ge(p ? id : DSL.val(1L))).asTable("t");
            return select(t.field(USERS.NAME)).from(t).where(t.field(USERS.NAME).ne(p ? name : DSL.val("N")))
                    .orderBy(t.field(USERS.ID)).limit(p ? n : DSL.val(2));
        });
        q.put("named in json", p -> select(DSL.jsonObject(DSL.key("n").value(p ? name : DSL.val("N")),
                DSL.key("u").value(USERS.NAME))).from(USERS).where(USERS.ID.le(p ? id : DSL.val(1L))));
        q.put("named in union branches", p -> select(USERS.NAME).from(USERS).where(USERS.ID.eq(p ? id : DSL.val(1L)))
                .union(select(USERS.NAME).from(USERS).where(USERS.NAME.eq(p ? name : DSL.val("N")))).orderBy(1));
        q.put("named like", p -> selectFrom(USERS).where(USERS.NAME.like(p ? DSL.concat(name, DSL.val("%"))
                : DSL.concat(DSL.val("N"), DSL.val("%")))).orderBy(USERS.ID));
        q.put("named contains", p -> selectFrom(USERS).where(USERS.NAME.contains(p ? name : DSL.val("N")))
                .orderBy(USERS.ID));
        q.put("named offset seek", p -> selectFrom(USERS).orderBy(USERS.ID).seek(p ? id : DSL.val(1L))
                .limit(p ? n : DSL.val(2)));
        q.put("named timestamp arithmetic", p -> select(USERS.NAME).from(USERS).where(
                DSL.localDateTimeAdd(DSL.cast(USERS.CREATED_AT, org.jooq.impl.SQLDataType.LOCALDATETIME),
                        p ? n : DSL.val(2), org.jooq.DatePart.HOUR)
                        .gt(DSL.val(java.time.LocalDateTime.of(2026, 3, 1, 14, 0)))).orderBy(USERS.ID));
        q.put("named in group by having", p -> select(POSTS.USER_ID, DSL.count()).from(POSTS)
                .where(POSTS.TITLE.ne(p ? name : DSL.val("N"))).groupBy(POSTS.USER_ID)
                .having(DSL.count().ge(p ? n : DSL.val(2))).orderBy(POSTS.USER_ID));
        // contexts where jOOQ may render a bind differently from a lone value (casts, NEVER/ALWAYS cast modes)
        q.put("values rows with named", p -> select().from(DSL.values(DSL.row(p ? n : DSL.val(2), p ? name : DSL.val("N")),
                DSL.row(DSL.val(3), p ? name : DSL.val("N"))).as("v", "a", "b")));
        q.put("union select-list named", p -> select(p ? name.as("s") : DSL.val("N").as("s"))
                .unionAll(select(USERS.NAME).from(USERS)).orderBy(1));
        q.put("cast of named", p -> select(DSL.cast(p ? n : DSL.val(2), org.jooq.impl.SQLDataType.VARCHAR(10)),
                DSL.cast(p ? name : DSL.val("N"), org.jooq.impl.SQLDataType.VARCHAR(10))).from(USERS).orderBy(USERS.ID));
        q.put("condition as field", p -> select(DSL.field(USERS.ID.eq(p ? id : DSL.val(1L)))).from(USERS)
                .orderBy(USERS.ID));
        q.put("nvl2 iif", p -> select(DSL.nvl2(USERS.EMAIL, p ? name : DSL.val("N"), DSL.val("none")),
                DSL.iif(USERS.ID.gt(p ? id : DSL.val(1L)), DSL.val("big"), p ? name : DSL.val("N"))).from(USERS)
                .orderBy(USERS.ID));
        q.put("lpad round", p -> select(DSL.lpad(USERS.NAME, p ? n : DSL.val(2), "*"),
                DSL.round(PRICES.AMOUNT, p ? n : DSL.val(2))).from(USERS).crossJoin(PRICES)
                .orderBy(USERS.ID, PRICES.AMOUNT));
        q.put("between named", p -> selectFrom(USERS).where(USERS.ID.between(p ? id : DSL.val(1L), DSL.val(2L)))
                .orderBy(USERS.ID));
        q.put("plain sql template named", p -> select(DSL.field("{0} || '?'", String.class, p ? name : DSL.val("N")))
                .from(USERS).orderBy(USERS.ID));
        q.put("null constant", p -> select(DSL.coalesce(DSL.val((String) null, String.class), p ? name : DSL.val("N")))
                .from(USERS).orderBy(USERS.ID));
        q.put("repeat named param", p -> selectFrom(USERS).where(USERS.ID.eq(p ? id : DSL.val(1L))
                .or(USERS.ID.eq((p ? id : DSL.val(1L)).plus(1L)))).orderBy(USERS.ID));
        q.put("arithmetic on named", p -> select(USERS.ID.plus(p ? id : DSL.val(1L)).mul(p ? n : DSL.val(2)),
                (p ? n : DSL.val(2)).div(DSL.val(3))).from(USERS).orderBy(USERS.ID));
        q.put("uuid named", p -> selectFrom(dev.sqlservice.example.schema.Tables.DEVICES)
                .where(dev.sqlservice.example.schema.Tables.DEVICES.ID.ne(p ? param("u", java.util.UUID.class)
                        : DSL.val(java.util.UUID.fromString("00000000-0000-0000-0000-000000000001")))));
        return q;
    }

    @Test
    void typical_queries_with_named_parameters__prepared_send_the_same_sql_and_get_the_same_rows(TestDatabase test)
            throws Exception {
        Map<String, Object> values = Map.of("id", 1L, "name", "N", "n", 2, "u",
                java.util.UUID.fromString("00000000-0000-0000-0000-000000000001"));
        List<String> problems = new ArrayList<>();
        List<String> sent = Collections.synchronizedList(new ArrayList<>());
        try (var pool = TestPools.pool(test, 2);
                Database db = Database.builder().dataSource(recording(pool, sent)).dialect(test.dialect()).build()) {
            for (var e : named().entrySet()) {
                String label = e.getKey();
                List<String> unpreparedSql;
                String unpreparedRows;
                try {
                    sent.clear();
                    unpreparedRows = db.blockingSession().all(e.getValue().apply(false)).formatCSV();
                    unpreparedSql = List.copyOf(sent);
                } catch (RuntimeException ex) {
                    System.out.println("SKIP (unprepared fails) " + label + ": " + ex);
                    continue;
                }
                PreparedQuery<? extends Record> prepared;
                try {
                    prepared = db.prepare(e.getValue().apply(true));
                } catch (RuntimeException ex) {
                    problems.add(label + ": refused: " + ex.getMessage());
                    continue;
                }
                PreparedQuery<? extends Record> bound = prepared;
                for (String key : prepared.parameterNames()) {
                    bound = bound.bind(key, values.get(key));
                }
                try {
                    sent.clear();
                    String rows = db.blockingSession().all(bound).formatCSV();
                    if (!List.copyOf(sent).equals(unpreparedSql)) {
                        problems.add(label + ": SQL differs\n  prepared:   " + sent + "\n  unprepared: " + unpreparedSql);
                    }
                    if (!rows.equals(unpreparedRows)) {
                        problems.add(label + ": rows differ\n  prepared:   " + rows + "\n  unprepared: " + unpreparedRows);
                    }
                } catch (RuntimeException ex) {
                    problems.add(label + ": prepared run fails: " + ex);
                }
            }
        }
        problems.forEach(p -> System.out.println("PROBLEM " + p));
        assertThat(problems).isEmpty();
    }

    /**
     * The named-parameter queries again under documented jOOQ settings a user may set on the Database:
     * formatted SQL (line breaks chosen by length, which the markers change), casts on every bind, IN-list padding.
     */
    @Test
    void typical_queries_under_common_settings__prepared_send_the_same_sql_and_get_the_same_rows(TestDatabase test)
            throws Exception {
        Map<String, Object> values = Map.of("id", 1L, "name", "N", "n", 2, "u",
                java.util.UUID.fromString("00000000-0000-0000-0000-000000000001"));
        List<String> problems = new ArrayList<>();
        Map<String, org.jooq.conf.Settings> settings = new LinkedHashMap<>();
        settings.put("renderFormatted", new org.jooq.conf.Settings().withRenderFormatted(true));
        settings.put("paramCastMode ALWAYS", new org.jooq.conf.Settings().withParamCastMode(org.jooq.conf.ParamCastMode.ALWAYS));
        settings.put("inListPadding", new org.jooq.conf.Settings().withInListPadding(true));
        for (var setting : settings.entrySet()) {
            List<String> sent = Collections.synchronizedList(new ArrayList<>());
            try (var pool = TestPools.pool(test, 2);
                    Database db = Database.builder().dataSource(recording(pool, sent)).dialect(test.dialect())
                            .settings(setting.getValue()).build()) {
                for (var e : named().entrySet()) {
                    String label = setting.getKey() + " / " + e.getKey();
                    List<String> unpreparedSql;
                    String unpreparedRows;
                    try {
                        sent.clear();
                        unpreparedRows = db.blockingSession().all(e.getValue().apply(false)).formatCSV();
                        unpreparedSql = List.copyOf(sent);
                    } catch (RuntimeException ex) {
                        continue;
                    }
                    PreparedQuery<? extends Record> prepared;
                    try {
                        prepared = db.prepare(e.getValue().apply(true));
                    } catch (RuntimeException ex) {
                        problems.add(label + ": refused: " + ex.getMessage());
                        continue;
                    }
                    PreparedQuery<? extends Record> bound = prepared;
                    for (String key : prepared.parameterNames()) {
                        bound = bound.bind(key, values.get(key));
                    }
                    try {
                        sent.clear();
                        String rows = db.blockingSession().all(bound).formatCSV();
                        if (!List.copyOf(sent).equals(unpreparedSql)) {
                            problems.add(label + ": SQL differs\n  prepared:   " + sent + "\n  unprepared: " + unpreparedSql);
                        }
                        if (!rows.equals(unpreparedRows)) {
                            problems.add(label + ": rows differ\n  prepared:   " + rows + "\n  unprepared: " + unpreparedRows);
                        }
                    } catch (RuntimeException ex) {
                        problems.add(label + ": prepared run fails: " + ex);
                    }
                }
            }
        }
        problems.forEach(p -> System.out.println("PROBLEM " + p));
        assertThat(problems).isEmpty();
    }

    /**
     * PreparedQuery: "Unnamed values of the query are constants, bound as they were at prepare". The fix copies
     * arrays, lists and sets; a {@code java.sql.Timestamp} (what jOOQ generates without javaTimeTypes) is mutable
     * too and is still held by reference, so the caller reusing it changes every later run.
     */
    @Test
    void a_timestamp_constant_is_bound_as_it_was_at_prepare(Database db) {
        java.sql.Timestamp at = java.sql.Timestamp.valueOf("2026-03-01 12:00:00");
        PreparedQuery<org.jooq.Record1<java.sql.Timestamp>> prepared = db.prepare(select(DSL.val(at).as("t")));
        at.setTime(java.sql.Timestamp.valueOf("1999-12-31 23:59:59").getTime()); // the caller reuses its object

        assertThat(db.blockingSession().one(prepared).value1()).isEqualTo(java.sql.Timestamp.valueOf("2026-03-01 12:00:00"));
    }

    /**
     * A coerced named parameter (jOOQ wraps it in a converted value, a Param inside a Param): the prepared run
     * behaves as the unprepared query with that value.
     */
    @Test
    void a_coerced_named_parameter_runs_as_unprepared(Database db) {
        org.jooq.Param<String> key = param("key", String.class);
        String unprepared;
        try {
            unprepared = db.blockingSession().all(selectFrom(USERS).where(USERS.ID.eq(DSL.val("2").coerce(Long.class)))
                    .and(USERS.NAME.ne("x"))).formatCSV();
        } catch (RuntimeException e) {
            unprepared = "fails: " + e.getCause().getClass().getName();
        }
        String prepared;
        try {
            prepared = db.blockingSession().all(db.prepare(selectFrom(USERS).where(USERS.ID.eq(key.coerce(Long.class)))
                    .and(USERS.NAME.ne("x"))).bind("key", "2")).formatCSV();
        } catch (RuntimeException e) {
            prepared = "fails: " + e.getCause().getClass().getName();
        }
        assertThat(prepared).isEqualTo(unprepared);
    }

    /**
     * The fix sets jOOQ's renderGroupConcatMaxLenSessionVariable to false for every MariaDB/MySQL Database
     * ("the server's group_concat_max_len applies"). That limit is 1 MB on MariaDB (1024 bytes on MySQL), and the
     * server cuts a longer group_concat with a warning only: before the fix the query failed loudly (jOOQ's
     * multi-statement); now the value is silently truncated, prepared or not.
     */
    @Test
    void group_concat_over_the_server_limit_is_not_silently_truncated(Database db) {
        org.junit.jupiter.api.Assumptions.assumeTrue(!postgres, "group_concat: MariaDB/MySQL");
        var query = select(DSL.groupConcat(DSL.repeat(USERS.NAME, 200_000)).orderBy(USERS.ID).separator(",")).from(USERS);
        Integer length = null;
        try {
            length = db.blockingSession().one(query).value1().length();
        } catch (RuntimeException loud) {
            // a failure is an honest answer; a shorter value is not
        }
        if (length != null) {
            assertThat(length).as("length of 3 x 600000 characters and 2 separators").isEqualTo(1_800_002);
        }
    }

    /** The same server limit on MariaDB's JSON_ARRAYAGG (jOOQ's jsonArrayAgg, the multiset emulation's basis). */
    @Test
    void json_array_agg_over_the_server_limit_is_not_silently_truncated(Database db) {
        org.junit.jupiter.api.Assumptions.assumeTrue(!postgres, "group_concat_max_len: MariaDB/MySQL");
        var query = select(DSL.jsonArrayAgg(DSL.repeat(USERS.NAME, 200_000)).orderBy(USERS.ID)).from(USERS);
        org.jooq.JSON json = null;
        try {
            json = db.blockingSession().one(query).value1();
        } catch (RuntimeException loud) {
            // a failure is an honest answer; a shorter value is not
        }
        if (json != null) {
            assertThat(json.data().replace(" ", "").length()).as("3 strings of 600000 characters, quoted, in [ , ]")
                    .isEqualTo(3 * 600_002 + 2 + 2);
        }
    }

    /**
     * The verification compares jOOQ's rendering with the marked rendering at prepare, but a run renders each
     * value again, as {@code DSL.val(value, type)} outside its context. jOOQ renders a bind by context (no cast
     * in LIMIT, none inside a CAST): with {@code Settings.paramCastMode(ALWAYS)} on MariaDB a run sends other SQL
     * than {@code sql()} says: {@code cast(cast(? as decimal) as decimal(10, 2))} (MariaDB's bare decimal is
     * decimal(10,0): 1.55 becomes 2.00), and {@code fetch next cast(? as signed) rows only}, a syntax error.
     */
    @Test
    void param_cast_mode_always__a_cast_parameter_keeps_its_scale(TestDatabase test) {
        try (Database db = test.builder().settings(new org.jooq.conf.Settings()
                .withParamCastMode(org.jooq.conf.ParamCastMode.ALWAYS)).build()) {
            org.jooq.Param<BigDecimal> amount = param("amount", BigDecimal.class);
            BigDecimal unprepared = db.blockingSession().one(select(DSL.cast(DSL.val(new BigDecimal("1.55")),
                    org.jooq.impl.SQLDataType.DECIMAL(10, 2)))).value1();
            PreparedQuery<org.jooq.Record1<BigDecimal>> prepared;
            try {
                prepared = db.prepare(select(DSL.cast(amount, org.jooq.impl.SQLDataType.DECIMAL(10, 2))));
            } catch (IllegalArgumentException refused) {
                // The lead's fix: a query whose binds jOOQ renders by their place is refused at prepare, loudly.
                // Either that or the unprepared value; never another value.
                assertThat(refused).hasMessageContaining("run it unprepared");
                return;
            }

            assertThat(db.blockingSession().one(prepared.bind(amount, new BigDecimal("1.55"))).value1())
                    .as("prepared, sql() = %s; unprepared gives %s", prepared.sql(), unprepared)
                    .isEqualByComparingTo(unprepared);
        }
    }

    @Test
    void param_cast_mode_always__a_limit_parameter_runs(TestDatabase test) {
        try (Database db = test.builder().settings(new org.jooq.conf.Settings()
                .withParamCastMode(org.jooq.conf.ParamCastMode.ALWAYS)).build()) {
            org.jooq.Param<Integer> n = param("n", Integer.class);
            assertThat(db.blockingSession().all(selectFrom(USERS).orderBy(USERS.ID).limit(2))).hasSize(2);
            PreparedQuery<? extends Record> prepared;
            try {
                prepared = db.prepare(selectFrom(USERS).orderBy(USERS.ID).limit(n));
            } catch (IllegalArgumentException refused) {
                assertThat(refused).hasMessageContaining("run it unprepared"); // refused at prepare, not at a run
                return;
            }

            assertThat(db.blockingSession().all(prepared.bind("n", 2))).as("sql() = %s", prepared.sql()).hasSize(2);
        }
    }

    /**
     * Contexts where jOOQ may render a bind by its surroundings (casts, functions): the prepared query (named
     * parameters, values bound later) against the same query run unprepared with the same named parameters
     * holding the values.
     */
    private Map<String, java.util.function.Function<Boolean, ResultQuery<? extends Record>>> castContexts() {
        org.jooq.Param<BigDecimal> amount = param("amount", BigDecimal.class);
        org.jooq.Param<String> text = param("text", String.class);
        org.jooq.Param<Integer> n = param("n", Integer.class);
        org.jooq.Param<java.time.LocalDate> day = param("day", java.time.LocalDate.class);
        org.jooq.Param<PostStatus> status = param("status", POSTS.STATUS);
        BigDecimal a = new BigDecimal("1.55");
        java.time.LocalDate d = java.time.LocalDate.of(2026, 3, 1);
        Map<String, java.util.function.Function<Boolean, ResultQuery<? extends Record>>> q = new LinkedHashMap<>();
        q.put("cast decimal to scale", p -> select(DSL.cast((p ? amount : param("amount", a)), org.jooq.impl.SQLDataType.DECIMAL(10, 2))));
        q.put("cast text to int", p -> select(DSL.cast((p ? text : param("text", "2")), org.jooq.impl.SQLDataType.INTEGER)));
        q.put("cast text to date", p -> select(DSL.cast((p ? text : param("text", "2")), org.jooq.impl.SQLDataType.VARCHAR(3))));
        q.put("coalesce named", p -> select(DSL.coalesce((p ? n : param("n", 2)), DSL.val(0))));
        q.put("round trunc named", p -> select(DSL.round((p ? amount : param("amount", a)), 1), DSL.trunc((p ? amount : param("amount", a)), 1)));
        q.put("date named in select", p -> select((p ? day : param("day", d)).as("d")));
        q.put("date arithmetic named", p -> select(DSL.localDateAdd((p ? day : param("day", d)), 3)));
        q.put("extract from named", p -> select(DSL.extract((p ? day : param("day", d)), org.jooq.DatePart.YEAR)));
        q.put("enum named", p -> selectFrom(POSTS).where(POSTS.STATUS.eq((p ? status : param("status", PostStatus.draft))))
                .orderBy(POSTS.ID));
        q.put("position named", p -> select(DSL.position(USERS.NAME, (p ? text : param("text", "2")))).from(USERS).orderBy(USERS.ID));
        q.put("row comparison named", p -> selectFrom(USERS).where(DSL.row(USERS.ID, USERS.NAME)
                .gt(DSL.row(DSL.val(1L), (p ? text : param("text", "2"))))).orderBy(USERS.ID));
        q.put("decimal arithmetic named", p -> select(PRICES.AMOUNT.mul((p ? amount : param("amount", a))),
                PRICES.AMOUNT.div((p ? amount : param("amount", a)))).from(PRICES).orderBy(PRICES.AMOUNT));
        q.put("decimal compare named", p -> selectFrom(PRICES).where(PRICES.AMOUNT.gt((p ? amount : param("amount", a))))
                .orderBy(PRICES.AMOUNT));
        return q;
    }

    @Test
    void bind_contexts_with_default_settings__prepared_send_the_same_sql_and_get_the_same_rows(TestDatabase test)
            throws Exception {
        Map<String, Object> values = Map.of("amount", new BigDecimal("1.55"), "text", "2", "n", 2,
                "day", java.time.LocalDate.of(2026, 3, 1), "status", PostStatus.draft);
        List<String> problems = new ArrayList<>();
        List<String> sent = Collections.synchronizedList(new ArrayList<>());
        try (var pool = TestPools.pool(test, 2);
                Database db = Database.builder().dataSource(recording(pool, sent)).dialect(test.dialect()).build()) {
            for (var e : castContexts().entrySet()) {
                String label = e.getKey();
                List<String> unpreparedSql;
                String unpreparedRows;
                try {
                    sent.clear();
                    unpreparedRows = db.blockingSession().all(e.getValue().apply(false)).formatCSV();
                    unpreparedSql = List.copyOf(sent);
                } catch (RuntimeException ex) {
                    System.out.println("SKIP (unprepared fails) " + label + ": " + ex);
                    continue;
                }
                PreparedQuery<? extends Record> prepared;
                try {
                    prepared = db.prepare(e.getValue().apply(true));
                } catch (RuntimeException ex) {
                    problems.add(label + ": refused: " + ex.getMessage());
                    continue;
                }
                PreparedQuery<? extends Record> bound = prepared;
                for (String key : prepared.parameterNames()) {
                    bound = bound.bind(key, values.get(key));
                }
                try {
                    sent.clear();
                    String rows = db.blockingSession().all(bound).formatCSV();
                    if (!List.copyOf(sent).equals(unpreparedSql)) {
                        problems.add(label + ": SQL differs (sql() = " + prepared.sql() + ")\n  prepared:   " + sent + "\n  unprepared: " + unpreparedSql);
                    }
                    if (!rows.equals(unpreparedRows)) {
                        problems.add(label + ": rows differ\n  prepared:   " + rows + "\n  unprepared: " + unpreparedRows);
                    }
                } catch (RuntimeException ex) {
                    problems.add(label + ": prepared run fails: " + ex);
                }
            }
        }
        problems.forEach(p -> System.out.println("PROBLEM " + p));
        assertThat(problems).isEmpty();
    }

    @Test
    void bind_contexts_with_null_values__prepared_send_the_same_sql_and_get_the_same_rows(TestDatabase test)
            throws Exception {
        Map<String, Object> values = new java.util.HashMap<>(); // every value null
        List<String> problems = new ArrayList<>();
        List<String> sent = Collections.synchronizedList(new ArrayList<>());
        try (var pool = TestPools.pool(test, 2);
                Database db = Database.builder().dataSource(recording(pool, sent)).dialect(test.dialect()).build()) {
            for (var e : nullContexts().entrySet()) {
                String label = e.getKey();
                List<String> unpreparedSql;
                String unpreparedRows;
                try {
                    sent.clear();
                    unpreparedRows = db.blockingSession().all(e.getValue().apply(false)).formatCSV();
                    unpreparedSql = List.copyOf(sent);
                } catch (RuntimeException ex) {
                    System.out.println("SKIP (unprepared fails) " + label + ": " + ex);
                    continue;
                }
                PreparedQuery<? extends Record> prepared;
                try {
                    prepared = db.prepare(e.getValue().apply(true));
                } catch (RuntimeException ex) {
                    problems.add(label + ": refused: " + ex.getMessage());
                    continue;
                }
                PreparedQuery<? extends Record> bound = prepared;
                for (String key : prepared.parameterNames()) {
                    bound = bound.bind(key, values.get(key));
                }
                try {
                    sent.clear();
                    String rows = db.blockingSession().all(bound).formatCSV();
                    if (!List.copyOf(sent).equals(unpreparedSql)) {
                        problems.add(label + ": SQL differs (sql() = " + prepared.sql() + ")\n  prepared:   " + sent + "\n  unprepared: " + unpreparedSql);
                    }
                    if (!rows.equals(unpreparedRows)) {
                        problems.add(label + ": rows differ\n  prepared:   " + rows + "\n  unprepared: " + unpreparedRows);
                    }
                } catch (RuntimeException ex) {
                    problems.add(label + ": prepared run fails: " + ex);
                }
            }
        }
        problems.forEach(p -> System.out.println("PROBLEM " + p));
        assertThat(problems).isEmpty();
    }

    /** {@link #castContexts()} with every value null (unprepared: the same query, its named parameters without values, which jOOQ binds as null). */
    private Map<String, java.util.function.Function<Boolean, ResultQuery<? extends Record>>> nullContexts() {
        org.jooq.Param<BigDecimal> amount = param("amount", BigDecimal.class);
        org.jooq.Param<String> text = param("text", String.class);
        org.jooq.Param<Integer> n = param("n", Integer.class);
        org.jooq.Param<java.time.LocalDate> day = param("day", java.time.LocalDate.class);
        Map<String, java.util.function.Function<Boolean, ResultQuery<? extends Record>>> q = new LinkedHashMap<>();
        q.put("null in select", p -> select(text.as("t"), n.as("n")));
        q.put("coalesce null", p -> select(DSL.coalesce(n, DSL.val(0))));
        q.put("null compare", p -> selectFrom(USERS).where(USERS.EMAIL.isNotDistinctFrom(text))
                .orderBy(USERS.ID));
        q.put("null decimal cast", p -> select(DSL.cast(amount, org.jooq.impl.SQLDataType.DECIMAL(10, 2))));
        q.put("null date", p -> select(DSL.localDateAdd(day, 3)));
        q.put("null in values", p -> select().from(DSL.values(DSL.row(n, DSL.val("a"))).as("v", "a", "b")));
        return q;
    }

    static DataSource recording(DataSource delegate, List<String> sent) {
        InvocationHandler connections = (proxy, method, args) -> {
            Object result = invoke(delegate, method, args);
            if (result instanceof Connection connection) {
                return Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                        (p, m, a) -> {
                            if (m.getName().startsWith("prepare") && a != null && a.length > 0 && a[0] instanceof String sql) {
                                sent.add(sql);
                            }
                            return invoke(connection, m, a);
                        });
            }
            return result;
        };
        return (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class},
                connections);
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
